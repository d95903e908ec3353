"""The flake-aware model behind ``clientsim bisect``: which release first shows the new outcome, and how sure.

Releases ``r_0 .. r_n`` (oldest first; ``r_0`` is ``--good``, ``r_n`` is ``--bad``) are each played some times; a
run either shows the *new* outcome (the one ``--bad`` shows) or not. The model: there is one culprit index
``c`` in ``1..n`` (the first release with the new behaviour); every run of a release before ``c`` shows the new
outcome with an unknown probability ``p_old``, every run from ``c`` on with ``p_new``. Both get a Jeffreys prior
Beta(½, ½) (it favours rates near 0 and 1, as most regressions are, yet allows a race that shows 30 % of the
time); ``c`` is uniform a priori. Integrating the rates out (Beta-Bernoulli, as git-bayesect does for commits):

    P(c | data) ∝ B(½ + F_old(c), ½ + N_old(c) − F_old(c)) · B(½ + F_new(c), ½ + N_new(c) − F_new(c))

where ``F``/``N`` count the new-outcome runs and all runs of the tested releases before / from ``c``.

A verdict needs the posterior of one ``c`` at or above the asked confidence, and the bounds must really differ:
``P(p_new > p_old)`` from the two bounds' own counts must also reach the confidence; otherwise the answer is
"can't tell" with the runs it would take, never a guess.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

PRIOR = 0.5
"""The Beta prior's two parameters (Jeffreys)."""


@dataclass
class Tally:
    """Runs of one release: ``runs`` played, ``new`` of them showed the new outcome, ``skipped`` says why a release
    was not played (yanked, failed to install)."""

    version: str
    runs: int = 0
    new: int = 0
    skipped: Optional[str] = None
    outcomes: list[str] = field(default_factory=list)

    @property
    def clear(self) -> bool:
        """Every run agreed (all new or none new), and at least one ran."""
        return self.runs > 0 and self.new in (0, self.runs)


def _log_beta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def posterior(tallies: list[Tally]) -> list[float]:
    """P(c = i | runs) for i = 0..n (index 0 is always 0: the ``--good`` release is not the culprit). Skipped
    releases count as untested. Returns a list as long as ``tallies`` that sums to 1."""
    n = len(tallies)
    if n < 2:
        raise ValueError('bisect needs at least two releases')
    logs = [-math.inf]
    for c in range(1, n):
        old = [t for t in tallies[:c] if t.skipped is None]
        new = [t for t in tallies[c:] if t.skipped is None]
        f_old, n_old = sum(t.new for t in old), sum(t.runs for t in old)
        f_new, n_new = sum(t.new for t in new), sum(t.runs for t in new)
        logs.append(_log_beta(PRIOR + f_old, PRIOR + n_old - f_old) + _log_beta(PRIOR + f_new, PRIOR + n_new - f_new))
    top = max(logs)
    weights = [0.0 if v == -math.inf else math.exp(v - top) for v in logs]
    total = sum(weights)
    return [w / total for w in weights]


def bounds_differ(good: Tally, bad: Tally, samples: int = 4000) -> float:
    """P(p_new at ``bad`` > p_new at ``good``) from the two bounds' counts alone (Beta posteriors, numerical
    integration over a grid of ``samples`` points). 0.5 when they look alike."""
    a1, b1 = PRIOR + good.new, PRIOR + good.runs - good.new
    a2, b2 = PRIOR + bad.new, PRIOR + bad.runs - bad.new
    grid = [(i + 0.5) / samples for i in range(samples)]
    log_norm1, log_norm2 = _log_beta(a1, b1), _log_beta(a2, b2)
    pdf1 = [math.exp((a1 - 1) * math.log(x) + (b1 - 1) * math.log(1 - x) - log_norm1) / samples for x in grid]
    pdf2 = [math.exp((a2 - 1) * math.log(x) + (b2 - 1) * math.log(1 - x) - log_norm2) / samples for x in grid]
    cdf1, total = [], 0.0
    for p in pdf1:
        total += p
        cdf1.append(total)
    return min(1.0, sum(p2 * c1 for p2, c1 in zip(pdf2, cdf1, strict=True)))


def next_release(tallies: list[Tally], max_runs: int, confidence: float) -> Optional[int]:
    """Which release to play next (an index), or None when no run can sharpen the answer.

    Probabilistic bisection: among untested releases, the one whose result splits the posterior mass of ``c``
    closest to half (playing release ``i`` tells ``c <= i`` from ``c > i``), as long as the smaller side holds more
    than ``1 - confidence`` of it. Otherwise more runs: on the most likely culprit or the release before it, or on
    a release whose runs disagree, up to ``max_runs`` each."""
    post = posterior(tallies)
    floor = (1 - confidence) / 2
    best_split, pick = 0.0, None
    for i, t in enumerate(tallies):
        if t.runs or t.skipped is not None:
            continue
        left = sum(post[1:i + 1])  # P(c <= i): release i shows the new outcome
        split = min(left, 1 - left)
        if split > floor and split > best_split:
            best_split, pick = split, i
    if pick is not None:
        return pick
    best = max(range(len(post)), key=post.__getitem__)
    spare = [i for i in (best - 1, best) if 0 <= i < len(tallies) and tallies[i].skipped is None
             and 0 < tallies[i].runs < max_runs]
    if not spare:
        spare = [i for i, t in enumerate(tallies) if t.skipped is None and 0 < t.runs < max_runs and not t.clear]
    if not spare:
        return None
    return min(spare, key=lambda i: (tallies[i].clear, tallies[i].runs))
