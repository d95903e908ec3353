"""The race explorer: play a scenario many times with seeded draws and count the distinct outcomes.

The engine of ``clientsim explore FILE --runs N --seed S [--vary KNOB=SPEC ...] [--jobs J] [--shrink]
[--report OUT.json]`` (the command, its options and printing: :mod:`clientsim.simulator.commands.explore`):
run ``i`` (0-based) draws its knobs (:mod:`clientsim.simulator.vary`: the file's ``vary:`` block, then ``--vary``) from
seed ``S + i`` and plays with the server's draws seeded by it too (``ScenarioPlayer(seed=S + i)``), so
``clientsim play FILE --seed S+i`` replays it. Each run gets an outcome :func:`signature` (per window the
download events and the GET statuses, server errors by type, whether the expectations held); the table gives
each distinct outcome's count, share with a 95 % Wilson interval, PASS/FAIL and its first seeds.

``--jobs J`` plays J runs at once in one asyncio loop, each with its own embedded server. Against a real app
(``target:``) the app is started once and reused, and runs are sequential unless the ``vary:`` block sets
``max_jobs``. Raises :class:`clientsim.simulator.scenario.ScenarioError` / :class:`clientsim.simulator.vary.VaryError`
for a bad file or knob and :class:`clientsim.simulator.target.TargetStartError` when the target does not start.
No Qt import here.
"""
from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from . import virtual_time
from .console import PlayConsole
from .coverage import LAG_TOLERANCE_MS, extras, orderings, width_and_size
from .pct import pct_draw
from .player import ScenarioPlayer
from .run_report import RunReport
from .scenario import Scenario, load_scenario
from .target import ExternalTarget
from .terminal import render, verdict
from .terminal import table as terminal_table
from .vary import Draw, Knob, apply_model, draw, merge, parse_cli
from .virtual_time import TimeMode


def wilson(count: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval ``(low, high)`` of the share ``count / total`` (both 0..1; (0, 0) for no runs)."""
    if total <= 0:
        return 0.0, 0.0
    p = count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def signature(report: RunReport) -> str:
    """A run's outcome as text: per window ``name events×[statuses]``, then server errors by type, then PASS or
    FAIL, e.g. ``alice 1×[200] bob 1×[404] | KeyError×2 | FAIL``."""
    windows = ' '.join(f"{w.name} {w.download_events}×[{','.join(map(str, w.statuses))}]"
                       for w in report.windows)
    errors = report.error_counts()
    error_text = ' '.join(f'{t}×{n}' for t, n in sorted(errors.items())) or 'no errors'
    return f"{windows} | {error_text} | {'PASS' if report.passed else 'FAIL'}"


@dataclass
class RunResult:
    """One run: its ``seed``, ``draw``, outcome ``signature``, ``passed`` and the names of failed expectations."""
    seed: int
    draw: Draw
    signature: str
    passed: bool
    failed: list[str] = field(default_factory=list)
    #: simulator.coverage: worst latency lag (ms), distorted (lag over the tolerance), ordered racing pairs,
    #: the run's "sometimes" rows and its measured width/size (PCT bound)
    lag_ms: float = 0.0
    distorted: bool = False
    pairs: set = field(default_factory=set)
    sometimes: list = field(default_factory=list)
    width: int = 0
    size: int = 0


class Exploration:
    """A scenario file ready to be explored: ``Exploration(path, cli_vary=(), variant='shipped')``; ``variant``
    ``fixed`` explores the file's ``fix:`` variant (:meth:`Scenario.variants`; a file without one has only
    ``shipped``).

    Raises :class:`ScenarioError` for a bad file and :class:`VaryError` for a bad knob (``--vary`` text or one
    naming an unknown window). ``knobs`` are the merged knobs; :meth:`scenario_for` builds the scenario of one
    seed; :meth:`run` plays many. ``target`` is the started app when the file has ``target:`` (see :meth:`run`).
    """

    def __init__(self, path: str | Path, cli_vary: list[str] | tuple[str, ...] = (),
                 variant: str = 'shipped', strategy: str = 'random', depth: int = 2,
                 lag_tolerance_ms: float = LAG_TOLERANCE_MS) -> None:
        self.strategy, self.depth, self.lag_tolerance_ms = strategy, depth, lag_tolerance_ms
        self.path = str(path)
        self.variant = variant
        #: the file as loaded (its shipped variant, with its fix: block), validated against the embedded pages
        self.shipped: Scenario = load_scenario(path, known_pages=_embedded_pages())
        self.base: Scenario = _with_variant(self.shipped, variant)
        file_knobs = self.base.vary.knobs() if self.base.vary else []
        self.knobs: list[Knob] = merge(file_knobs, parse_cli(list(cli_vary)))
        self.window_names = [w.name for w in self.base.windows]
        draw(self.knobs, self.window_names, 0)  # VaryError for a knob naming an unknown window
        self.max_jobs = self.base.vary.max_jobs if self.base.vary else 1
        self.target: Optional[ExternalTarget] = None
        self.stop_requested = False

    def time_mode(self, wanted: TimeMode = 'virtual') -> TimeMode:
        """The time mode runs play in: ``wanted`` on the embedded server, always ``'real'`` against a target."""
        return 'real' if self.base.target is not None else wanted

    def draw(self, seed: int) -> Draw:
        """The draws of run ``seed`` (random search, or PCT order with ``strategy='pct'``: simulator.pct)."""
        if self.strategy == 'pct':
            return pct_draw(self.knobs, self.window_names, seed, self.depth)
        return draw(self.knobs, self.window_names, seed)

    def raw_for(self, seed: int) -> dict[str, Any]:
        """The YAML mapping of run ``seed`` (:meth:`scenario_for` dumped with :meth:`Scenario.to_mapping`): the
        explored variant alone, its draws written in, no ``fix:`` block, so that a ``.min.yaml`` written from it
        plays exactly what was explored."""
        return self.scenario_for(seed).to_mapping()

    def scenario_for(self, seed: int) -> Scenario:
        """The scenario of run ``seed``, built as models: the draws written into the file's shipped scenario
        (:func:`clientsim.simulator.vary.apply_model`), then its variant taken (:meth:`Scenario.variants`, the one
        ``fix:`` merge, so a fixed run keeps the fix's policy over drawn fields); its ``path`` is the file's."""
        scenario = _with_variant(apply_model(self.shipped, self.draw(seed)), self.variant)
        if self.target is not None:
            scenario = scenario.model_copy(update={'target': _ReusedTarget(self.target)})  # one app for every run
        return scenario

    async def play(self, seed: int) -> tuple[RunResult, RunReport]:
        """Play run ``seed``; returns its result and the player's report."""
        report = await ScenarioPlayer(self.scenario_for(seed), seed=seed).run()
        failed = [c.name for c in report.failed]
        lag = report.max_lag_ms
        events = report.event_dicts()
        width, size = width_and_size(events)
        return RunResult(seed, self.draw(seed), signature(report), report.passed, failed, lag,
                         lag > self.lag_tolerance_ms, orderings(events), report.sometimes,
                         width, size), report

    async def run(self, runs: int, seed: int, jobs: int = 1,
                  on_result: Callable[[RunResult, int], None] | None = None) -> list[RunResult]:
        """Play runs ``seed .. seed + runs - 1``, ``jobs`` at once (at most ``max_jobs`` against a target, which is
        started once here and stopped at the end; :class:`clientsim.simulator.target.TargetStartError` when it does
        not come up). Calls
        ``on_result(result, done)`` after each run; stops early when :attr:`stop_requested` is set. Results are in
        seed order."""
        if self.base.target is not None:
            jobs = min(jobs, self.max_jobs)
            self.target = ExternalTarget(self.base.target, Path(self.path).resolve().parent)
            await self.target.start()
        results: dict[int, RunResult] = {}
        seeds = iter(range(seed, seed + runs))

        async def worker() -> None:
            for s in seeds:
                if self.stop_requested:
                    return
                results[s] = (await self.play(s))[0]
                if on_result is not None:
                    on_result(results[s], len(results))
        try:
            await asyncio.gather(*(worker() for _ in range(max(1, min(jobs, runs)))))
        finally:
            if self.target is not None:
                await self.target.stop()
                self.target = None
        return [results[s] for s in sorted(results)]


class _ReusedTarget(ExternalTarget):
    """One run's view of a target app started once: start/stop do nothing, ``output`` is what the app wrote
    since the run began (so tracebacks are counted per run)."""

    def __init__(self, shared: ExternalTarget) -> None:  # noqa: D107 - shares the started app's state
        self.__dict__.update(shared.__dict__)
        self._offset = len(shared._chunks)

    @property
    def output(self) -> str:
        return b''.join(self._chunks[self._offset:]).decode('utf-8', errors='replace')

    async def start(self) -> str:
        assert self.url is not None
        return self.url

    async def stop(self) -> None:
        return None


def _embedded_pages() -> set[str]:
    """The embedded server's pages (a ``target:`` file's pages are not checked: parse_scenario ignores them)."""
    from clientsim.server.pages import DEFAULT_PAGES
    return {p.route for p in DEFAULT_PAGES}


def outcomes(results: list[RunResult]) -> list[dict[str, Any]]:
    """The distinct outcomes of the runs that are not distorted, most frequent first: ``{signature, count, share,
    interval: [low, high], passed, seeds}`` (share and interval 0..1; ``seeds`` all seeds of that outcome, in
    order)."""
    results = [r for r in results if not r.distorted]  # distorted runs did not play their draws: apart
    total = len(results)
    groups: dict[str, list[RunResult]] = {}
    for r in results:
        groups.setdefault(r.signature, []).append(r)
    rows = []
    for sig, members in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[1][0].seed)):
        low, high = wilson(len(members), total)
        rows.append({'signature': sig, 'count': len(members), 'share': round(len(members) / total, 4),
                     'interval': [round(low, 4), round(high, 4)], 'passed': members[0].passed,
                     'seeds': [m.seed for m in members]})
    return rows


def table(rows: list[dict[str, Any]], total: int, colour: bool = False) -> str:
    """The outcome table (count, share, 95 % interval, result, first seeds, outcome), rendered with rich
    (:mod:`clientsim.simulator.terminal`; PASS/FAIL coloured with ``colour``)."""
    cells = []
    for row in rows:
        low, high = row['interval']
        seeds = ','.join(map(str, row['seeds'][:4])) + (',…' if len(row['seeds']) > 4 else '')
        cells.append([str(row['count']), f"{row['share']:.1%}", f'{low:.0%}–{high:.0%}', verdict(row['passed']),
                      seeds, row['signature'].rsplit(' | ', 1)[0]])
    return render(terminal_table(['count', 'share', '95% interval', 'result', 'first seeds', 'outcome'], cells,
                                 right=(0, 1)), colour)


def json_report(results: list[RunResult], seed: int, knobs: list[Knob], minimal: Optional[str],
                exploration: Optional['Exploration'] = None) -> dict[str, Any]:
    """The JSON report: ``runs``, ``seed``, ``vary`` (knob texts), ``outcomes`` (see :func:`outcomes`; distorted
    runs left out), ``failing_runs`` (count), ``failing_seeds``, ``minimal_scenario`` (a path or None) and the
    fields of :func:`clientsim.simulator.coverage.extras` (``distorted_runs``, ``distorted_seeds``,
    ``lag_tolerance_ms``, ``max_lag_ms``, ``coverage``, ``sometimes``, ``strategy``)."""
    e = exploration
    return {'runs': len(results), 'seed': seed, 'vary': [k.describe() for k in knobs],
            'outcomes': outcomes(results), 'failing_runs': sum(not r.passed for r in results),
            'failing_seeds': [r.seed for r in results if not r.passed], 'minimal_scenario': minimal,
            **extras(results, e.lag_tolerance_ms if e else LAG_TOLERANCE_MS, e.strategy if e else 'random',
                     e.depth if e else 2)}


# ---- play --seed S --jobs J --------------------------------------------------------------------------------------
def play_many(scenarios: list[Scenario], seed: Optional[int] = None, jobs: int = 1,
              console: Optional[PlayConsole] = None, time_mode: TimeMode = 'virtual') -> list[RunReport]:
    """Play ``scenarios`` headless, ``jobs`` at once (each on its own embedded server; a target scenario runs on
    its own, after the others), and return their reports in order. With ``seed`` each file's ``vary:`` draws and
    the server's draws come from it: ``clientsim play FILE --seed S+i`` replays run i of ``explore --seed S``
    (for the same variant: a ``fixed`` scenario stays fixed). ``console``
    (:class:`clientsim.simulator.console.PlayConsole`)
    prints each row as its run finishes. ``time_mode`` ``'virtual'`` (default) plays on virtual time
    (:mod:`clientsim.simulator.virtual_time`) unless a scenario has a target (then all play in real
    time). Raises :class:`VaryError` for a ``vary:`` knob naming an unknown
    window."""
    if seed is not None:
        scenarios = [Exploration(s.path, variant=s.variant).scenario_for(seed) if s.path and s.vary else s
                     for s in scenarios]

    async def run_all() -> list[RunReport]:
        limit = asyncio.Semaphore(max(1, jobs))
        reports: dict[int, RunReport] = {}

        async def one(i: int, scenario: Scenario) -> None:
            async with limit:
                if console is not None:
                    console.playing(scenario)
                reports[i] = await ScenarioPlayer(scenario, seed=seed,
                                                  on_step=console.on_step if console and jobs == 1 else None).run()
                if console is not None:
                    console.finished(reports[i])
        embedded = [(i, s) for i, s in enumerate(scenarios) if s.target is None]
        await asyncio.gather(*(one(i, s) for i, s in embedded))
        for i, s in enumerate(scenarios):
            if s.target is not None:
                await one(i, s)
        return [reports[i] for i in range(len(scenarios))]
    mode: TimeMode = time_mode if all(s.target is None for s in scenarios) else 'real'
    return virtual_time.run(run_all(), mode)


def _with_variant(scenario: Scenario, variant: str) -> Scenario:
    """``scenario``'s variant named ``variant`` (``shipped`` or ``fixed``; see :meth:`Scenario.variants`)."""
    return dict(scenario.variants()).get(variant, scenario)
