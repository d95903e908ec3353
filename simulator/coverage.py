"""What an exploration covered: interleaving pairs (d = 2), distorted runs and "sometimes" properties.

* **Interleaving coverage.** The racing events of a run are, per kind in :data:`RACING`, the first event of each
  window (the download GETs as the server matched them, ``download_served``, else as the windows sent them,
  ``download_get_sent``; the handshakes the server handled). For two windows of one kind the run saw them in one
  order; a pair is *covered* once runs saw it in both orders (d = 2 coverage). Equal stamps give no order.
* **Distortion.** A run whose worst gap between a drawn and an achieved latency (``max_lag_ms`` of its report,
  :mod:`clientsim.simulator.browser.latency`) exceeds the tolerance did not play its draws: it is *distorted*.
* **Sometimes.** ``expect: sometimes: {bob: received}`` is met when at least one run held it.

No Qt import here; no project imports but the leaf :mod:`clientsim.simulator.browser.latency` (via reports).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Iterable

from .event_kinds import EventKind

RACING = {'download_get': (EventKind.DOWNLOAD_SERVED, EventKind.DOWNLOAD_GET_SENT),
          'handshake': (EventKind.HANDSHAKE_HANDLED,)}
"""Racing event kinds → the timeline kinds that stamp them, best first."""
LAG_TOLERANCE_MS = 5.0
"""Default lag tolerance, ms: a run whose worst latency lag is larger is distorted."""


def orderings(events: Iterable[dict[str, Any]]) -> set[tuple[str, str, str]]:
    """The ordered pairs ``(kind, first_window, second_window)`` a run's report ``events`` show (see module)."""
    events = list(events)
    found: set[tuple[str, str, str]] = set()
    for kind, stamps in RACING.items():
        for stamp in stamps:
            first: dict[str, float] = {}
            for e in events:
                window = e.get('window') or (e.get('source') if e.get('source') != 'server' else None)
                if e.get('kind') == stamp and window and window not in first:
                    first[window] = e['t_ms']
            if len(first) < 2:
                continue
            for a, b in combinations(sorted(first), 2):
                if first[a] != first[b]:
                    found.add((kind, a, b) if first[a] < first[b] else (kind, b, a))
            break
    return found


def width_and_size(events: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """A run's measured ``(width, size)`` for the PCT bound: windows with a racing event (chains) and racing
    events in all (download GETs sent plus handshakes handled)."""
    events = list(events)
    kinds = {EventKind.DOWNLOAD_GET_SENT, EventKind.HANDSHAKE_HANDLED}
    racing = [e for e in events if e.get('kind') in kinds]
    windows = {e.get('window') or e.get('source') for e in racing} - {None, 'server'}
    return len(windows), len(racing)


@dataclass
class Coverage:
    """Accumulates :func:`orderings` over runs. ``seen`` holds every ordered pair; :meth:`pairs` the unordered
    ones; :meth:`covered` those seen both ways."""
    seen: set[tuple[str, str, str]] = field(default_factory=set)

    def add(self, pairs: Iterable[tuple[str, str, str]]) -> None:
        """Add one run's ordered pairs."""
        self.seen.update(pairs)

    def pairs(self) -> set[tuple[str, str, str]]:
        """Unordered pairs ``(kind, a, b)`` with ``a < b`` seen in any order."""
        return {(k, *sorted((a, b))) for k, a, b in self.seen}  # type: ignore[misc]

    def covered(self) -> set[tuple[str, str, str]]:
        """Unordered pairs seen in both orders."""
        return {(k, a, b) for k, a, b in self.pairs() if (k, a, b) in self.seen and (k, b, a) in self.seen}

    def complete(self) -> bool:
        """Whether every pair seen so far was seen in both orders (False before any pair)."""
        pairs = self.pairs()
        return bool(pairs) and len(self.covered()) == len(pairs)

    def summary(self) -> dict[str, Any]:
        """``{pairs, covered, share, missing: ['kind a→b only', ...]}`` (share 0..1)."""
        pairs, covered = self.pairs(), self.covered()
        missing = sorted(f'{k} {a}/{b} only {a}→{b}' if (k, a, b) in self.seen else f'{k} {a}/{b} only {b}→{a}'
                         for k, a, b in pairs - covered)
        return {'pairs': len(pairs), 'covered': len(covered),
                'share': round(len(covered) / len(pairs), 4) if pairs else 0.0, 'missing': missing}


def sometimes_summary(per_run: Iterable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """``[{window, property, met, runs_held}]`` over the runs' ``sometimes`` rows (met: held at least once)."""
    held: dict[tuple[str, str], int] = {}
    for rows in per_run:
        for row in rows:
            key = (row['window'], row['property'])
            held[key] = held.get(key, 0) + int(bool(row['held']))
    return [{'window': w, 'property': p, 'met': n > 0, 'runs_held': n} for (w, p), n in held.items()]


def extras(results: list[Any], tolerance_ms: float, strategy: str = 'random', depth: int = 2) -> dict[str, Any]:
    """The JSON report's coverage fields over explore ``results`` (each with ``seed``, ``lag_ms``, ``distorted``,
    ``pairs``, ``sometimes``, ``width``, ``size``): ``lag_tolerance_ms``, ``distorted_runs``, ``distorted_seeds``,
    ``max_lag_ms``, ``coverage`` (:meth:`Coverage.summary`), ``sometimes`` (:func:`sometimes_summary`) and
    ``strategy`` (``{name, depth, width, size, bound, runs_for_95}``: the widest run's PCT bound)."""
    from .pct import bound, runs_for_confidence
    coverage = Coverage()
    for r in results:
        coverage.add(r.pairs)
    width = max((r.width for r in results), default=0)
    size = max((r.size for r in results), default=0)
    p = bound(width, size, depth)
    return {'lag_tolerance_ms': tolerance_ms, 'distorted_runs': sum(r.distorted for r in results),
            'distorted_seeds': [r.seed for r in results if r.distorted],
            'max_lag_ms': max((r.lag_ms for r in results), default=0.0),
            'coverage': coverage.summary(), 'sometimes': sometimes_summary(r.sometimes for r in results),
            'strategy': {'name': strategy, 'depth': depth, 'width': width, 'size': size,
                         'bound': p, 'runs_for_95': runs_for_confidence(p)}}


def describe(extra: dict[str, Any]) -> list[str]:
    """The lines ``clientsim explore`` prints under its table for :func:`extras`."""
    cov, strat = extra['coverage'], extra['strategy']
    lines = [f"coverage (d=2): {cov['covered']}/{cov['pairs']} cross-window pairs of racing events seen in both "
             f"orders ({cov['share']:.0%})" + (f"; missing: {', '.join(cov['missing'][:4])}" if cov['missing'] else '')]
    if strat['name'] == 'pct':
        lines.append(f"strategy pct --depth {strat['depth']}: width {strat['width']}, size {strat['size']} → per-run "
                     f"bound ≥ 1/(w²·n^(d-1)) = {strat['bound']:.4f}; {strat['runs_for_95']} runs for 95 % confidence")
    lines.append(f"distorted runs (latency lag > {extra['lag_tolerance_ms']:g} ms): {extra['distorted_runs']}"
                 f" (worst lag {extra['max_lag_ms']:.1f} ms); they are left out of the table above")
    for row in extra['sometimes']:
        lines.append(f"sometimes {row['window']}: {row['property']}: {'met' if row['met'] else 'NOT met'} "
                     f"({row['runs_held']} runs)")
    return lines
