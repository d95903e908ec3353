"""When a single-use route goes: NiceGUI 2.11.0's thread-pool removal as a delay distribution.

NiceGUI 2.11.0 ``app/app.py`` ``add_static_file(single_use=True)`` serves the file from a sync handler
(``def read_item``) that removes the route; Starlette runs sync handlers on its thread pool (anyio
``to_thread``), so the route goes when a pool thread wakes up, and every GET the router matched before that
still gets 200. Measured on real 2.11.0 (36 seeded download-race configurations x 10 runs, three sessions):
several 200s for GETs 1-20 ms apart; all three of a 3-way tie got 200 in 53-84 % of ties; a GET 5-80 ms after
the first was sometimes served too (28 of 190 runs without a tie); the share moves with machine load.

The model (policy fields, all sweepable by ``clientsim explore --vary``):

* the **wake-up time** ``W`` of the pool thread after the first GET is matched: with probability
  ``removal_busy_share`` the pool is busy and ``W`` is uniform in [:data:`BUSY_LOW_MS`, :data:`BUSY_HIGH_MS`] ms;
  else with probability :data:`AT_ONCE_SHARE` the thread runs before any other GET is matched (``W = 0``); else
  ``W`` is exponential with mean ``removal_wake_ms`` (0: at once). A quiet server has a small mean and no busy
  share; a busy one a larger mean and share.
* tied GETs (sent at the same instant) are matched one after the other, ``route_match_ms`` apart; the k-th of a
  tie (k = 0, 1, ...) gets 200 when ``k * route_match_ms < W``.

Under virtual time (:mod:`clientsim.simulator.virtual_time`) who is k-th in a tie is not left to the socket
race: the GETs of one instant are collected, sorted by window name and shuffled by the route's seeded
generator (:func:`tie_order`), so a seed replays the outcome. Defaults from ``benchmarks/calibrate_removal.py``.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

BUSY_LOW_MS = 5.0
"""Shortest wake-up of a busy thread pool, ms (the 5-80 ms late 200s measured on 2.11.0)."""
BUSY_HIGH_MS = 80.0
"""Longest wake-up of a busy thread pool, ms."""
AT_ONCE_SHARE = 0.25
"""Share of idle wake-ups that remove the route before a tied GET is matched (2.11.0: one 200 in 11-47 % of ties)."""
DEFAULT_WAKE_MS = 3.0
"""Default mean wake-up time of an idle pool thread, ms (calibrated, see ``benchmarks/calibrate_removal.py``)."""
DEFAULT_BUSY_SHARE = 0.08
"""Default share of removals that wait for a busy pool (calibrated: 28 of 190 non-tie runs served a late GET)."""
DEFAULT_MATCH_MS = 0.3
"""Default time between matching two tied GETs, ms (request parsing and routing of one GET)."""


@dataclass(frozen=True)
class RemovalModel:
    """``wake_ms`` (mean idle wake-up, ms), ``busy_share`` (0..1) and ``match_ms`` (tie spacing, ms)."""
    wake_ms: float = DEFAULT_WAKE_MS
    busy_share: float = DEFAULT_BUSY_SHARE
    match_ms: float = DEFAULT_MATCH_MS

    def draw_wake_ms(self, rng: random.Random) -> float:
        """One wake-up time ``W`` in ms (see the module docstring); draws three times from ``rng`` (a fixed
        count, so the draws after it do not depend on the branch)."""
        busy, at_once, u = rng.random(), rng.random(), rng.random()
        if busy < self.busy_share:
            return BUSY_LOW_MS + u * (BUSY_HIGH_MS - BUSY_LOW_MS)
        if at_once < AT_ONCE_SHARE or self.wake_ms <= 0:
            return 0.0
        return -self.wake_ms * _log1m(u)


def _log1m(u: float) -> float:
    import math
    return math.log1p(-min(u, 1 - 1e-12))


def tie_order(names: list[str], rng: random.Random) -> list[str]:
    """The order in which the GETs of one instant are matched: ``names`` sorted, then shuffled by ``rng``."""
    order = sorted(names)
    rng.shuffle(order)
    return order
