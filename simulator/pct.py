"""``clientsim explore --strategy pct --depth d``: PCT-style priorities and change points on windows' deliveries.

PCT (Burckhardt et al., ASPLOS 2010) runs the highest-priority thread and lowers a thread's priority at d - 1
random change points; a bug of depth d is found with probability at least ``1 / (n * k**(d - 1))`` per run.
PCTCP (Ozkan et al., OOPSLA 2018) does the same on the chains of a message-passing partial order, with the bound
``1 / (w**2 * n**(d - 1))`` for width w (chains) and size n (events). Here the chains are the windows and the
deliveries are their drawn latencies (``page_get_ms``, ``handshake_ms``, ``download_ms``): each run draws the
knob values as random search does (:func:`clientsim.simulator.vary.draw`, same seed), then hands them out in the
PCT order: windows get random priorities, at each step the highest-priority window delivers next, and at each of
the d - 1 change points (random steps) the window about to deliver drops below every other. The smallest value
goes to the first window in that order, so the spread of delays stays the knob's, while the order follows PCT.
No Qt import here; a leaf but for :mod:`clientsim.simulator.vary`.
"""
from __future__ import annotations

import math
import random

from .vary import LATENCY_KNOBS, Draw, Knob, draw

CONFIDENCE = 0.95


def pct_order(windows: list[str], depth: int, rng: random.Random) -> list[str]:
    """The delivery order of ``windows`` for one run: random priorities, ``depth - 1`` change points."""
    n = len(windows)
    priority = {w: p for w, p in zip(windows, rng.sample(range(depth, depth + n), n), strict=True)}
    change_points = set(rng.sample(range(1, n + 1), min(depth - 1, n))) if n else set()
    remaining, order, step, low = list(windows), [], 0, depth - 1
    while remaining:
        step += 1
        best = max(remaining, key=lambda w: priority[w])
        if step in change_points:  # the window about to deliver is preempted: below everyone else
            change_points.discard(step)
            priority[best] = low
            low -= 1
            best = max(remaining, key=lambda w: priority[w])
        order.append(best)
        remaining.remove(best)
    return order


def pct_draw(knobs: list[Knob], windows: list[str], seed: int, depth: int) -> Draw:
    """The draws of run ``seed`` under PCT (see the module docstring). Raises VaryError as :func:`draw`."""
    result = draw(knobs, windows, seed)
    rng = random.Random(f'pct:{seed}')
    order = pct_order(list(windows), depth, rng)
    for name in LATENCY_KNOBS:
        holders = [w for w in order if name in result.latency.get(w, {})]
        values = sorted(result.latency[w][name] for w in holders)
        for w, value in zip(holders, values, strict=True):
            result.latency[w][name] = value
    return result


def bound(width: int, size: int, depth: int) -> float:
    """PCTCP's per-run lower bound ``1 / (width**2 * size**(depth - 1))`` of finding a depth-``depth`` ordering
    (0..1; 1.0 when there is nothing to order)."""
    if width < 2 or size < 1:
        return 1.0
    return 1.0 / (width ** 2 * size ** (depth - 1))


def runs_for_confidence(p: float, confidence: float = CONFIDENCE) -> int:
    """Runs needed to find it at least once with ``confidence``: ``ceil(ln(1 - c) / ln(1 - p))``."""
    if p >= 1.0:
        return 1
    return math.ceil(math.log(1 - confidence) / math.log(1 - p))
