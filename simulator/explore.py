"""The race explorer: play a scenario many times with seeded draws and count the distinct outcomes.

``clientsim explore FILE --runs N --seed S [--vary KNOB=SPEC ...] [--jobs J] [--shrink] [--report OUT.json]``:
run ``i`` (0-based) draws its knobs (:mod:`clientsim.simulator.vary`: the file's ``vary:`` block, then ``--vary``) from
seed ``S + i`` and plays with the server's draws seeded by it too (``ScenarioPlayer(seed=S + i)``), so
``clientsim play FILE --seed S+i`` replays it. Each run gets an outcome :func:`signature` (per window the
download events and the GET statuses, server errors by type, whether the expectations held); the table gives
each distinct outcome's count, share with a 95 % Wilson interval, PASS/FAIL and its first seeds.

``--jobs J`` plays J runs at once in one asyncio loop, each with its own embedded server. Against a real app
(``target:``) the app is started once and reused, and runs are sequential unless the ``vary:`` block sets
``max_jobs``. Exit codes: 0 every run passed, 1 some failed, 2 bad file or knob, 3 the target did not start.
No Qt import here.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import yaml

from . import virtual_time
from .console import PlayConsole
from .coverage import LAG_TOLERANCE_MS, Coverage, describe, extras, orderings, width_and_size
from .exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_TARGET
from .pct import pct_draw
from .player import ScenarioPlayer
from .run_report import RunReport
from .scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from .target import ExternalTarget
from .vary import Draw, Knob, VaryError, apply, draw, merge, parse_cli
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
        self.base: Scenario = _with_variant(load_scenario(path), variant)
        self.raw: dict[str, Any] = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
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
        """The raw YAML mapping of run ``seed``: the file with its draws written in, as the explored variant alone
        (no ``fix:`` block; for ``fixed`` its policy fields and expectations are folded in), so that a shrunk
        ``.min.yaml`` plays exactly what was explored."""
        return _as_variant(apply(self.raw, self.draw(seed)), self.variant)

    def scenario_for(self, seed: int) -> Scenario:
        """The scenario of run ``seed`` (validated; its ``path`` is the file's)."""
        scenario = parse_scenario(yaml.safe_dump(self.raw_for(seed), sort_keys=False), self.path,
                                  known_pages=_known_pages(self.base))
        scenario = scenario.model_copy(update={'variant': self.variant})  # raw_for folded the variant in
        if self.target is not None:
            scenario.target = _ReusedTarget(self.target)  # type: ignore[assignment]  # one app for every run
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
        started once here and stopped at the end; RuntimeError/OSError when it does not come up). Calls
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


def _known_pages(scenario: Scenario) -> Optional[set[str]]:
    if scenario.target is not None:
        return None
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


def table(rows: list[dict[str, Any]], total: int) -> str:
    """The outcome table as text (count, share, 95 % interval, result, first seeds, outcome)."""
    lines = [f"{'count':>5}  {'share':>6}  {'95% interval':<13}  {'result':<6}  {'first seeds':<18}  outcome"]
    for row in rows:
        low, high = row['interval']
        seeds = ','.join(map(str, row['seeds'][:4])) + (',…' if len(row['seeds']) > 4 else '')
        lines.append(f"{row['count']:>5}  {row['share']:>6.1%}  {f'{low:.0%}–{high:.0%}':<13}  "
                     f"{'PASS' if row['passed'] else 'FAIL':<6}  {seeds:<18}  {row['signature'].rsplit(' | ', 1)[0]}")
    return '\n'.join(lines)


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


# ---- the command line ---------------------------------------------------------------------------------------------
def add_parser(sub: Any) -> None:
    """Add ``clientsim explore`` to the ``clientsim`` subparsers."""
    p = sub.add_parser('explore', help='play a scenario many times with seeded draws; count the outcomes')
    p.add_argument('file', metavar='FILE', help='a scenario YAML file (its vary: block sets default knobs)')
    p.add_argument('--runs', type=int, default=50, help='how many runs (default 50)')
    p.add_argument('--seed', type=int, default=0, help='run i draws from seed S+i (default 0)')
    p.add_argument('--vary', action='append', default=[], metavar='KNOB=SPEC',
                   help='download_ms=0..100, handshake_ms=0,10,30, order=shuffle, bob.download_ms=0..100')
    p.add_argument('--jobs', type=int, default=1, help='runs at once, each on its own embedded server')
    p.add_argument('--shrink', action='store_true', help='reduce the first failing run to FILE.min.yaml')
    p.add_argument('--report', metavar='OUT.json', help='write the JSON report')
    p.add_argument('--variant', choices=('shipped', 'fixed'), default='shipped',
                   help="which variant of a file with a fix: block to explore (default: shipped)")
    p.add_argument('--strategy', choices=('random', 'pct'), default='random',
                   help='random latencies (default) or pct: PCT priorities and change points on the deliveries')
    p.add_argument('--depth', type=int, default=2, help='pct: the bug depth d (d - 1 change points; default 2)')
    p.add_argument('--until-covered', action='store_true',
                   help='stop (at most --runs) once every racing pair was seen in both orders and, with pct, the '
                        'runs for 95 %% confidence of its bound are done')
    p.add_argument('--lag-tolerance-ms', type=float, default=LAG_TOLERANCE_MS,
                   help=f'a run whose latency lag exceeds this is distorted (default {LAG_TOLERANCE_MS:g} ms)')
    p.add_argument('--time', choices=virtual_time.TIME_MODES, default='virtual',
                   help='virtual (default on the embedded server: every sleep is instant, see '
                        'simulator.virtual_time) or real time; a target: file always runs in real time')


def cmd_explore(args: argparse.Namespace) -> int:
    """``clientsim explore``; returns the exit code (see the module docstring)."""
    if args.runs < 1 or args.jobs < 1:
        print('error: --runs and --jobs must be >= 1', file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        exploration = Exploration(args.file, args.vary, getattr(args, 'variant', 'shipped'),
                                  getattr(args, 'strategy', 'random'), max(1, getattr(args, 'depth', 2)),
                                  getattr(args, 'lag_tolerance_ms', LAG_TOLERANCE_MS))
    except (ScenarioError, VaryError) as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    knob_text = ' '.join(k.describe() for k in exploration.knobs) or 'nothing (every run the same)'
    print(f'exploring {args.file}: {args.runs} runs from seed {args.seed}, {args.jobs} at once; varying {knob_text}')
    started = time.perf_counter()
    coverage, until = Coverage(), getattr(args, 'until_covered', False)

    def progress(result: RunResult, done: int) -> None:
        coverage.add(result.pairs)
        if until and coverage.complete():
            from .pct import bound, runs_for_confidence
            need = (runs_for_confidence(bound(result.width, result.size, exploration.depth))
                    if exploration.strategy == 'pct' else 0)
            exploration.stop_requested = done >= need
        if done == args.runs or done % max(1, args.runs // 10) == 0:
            print(f'  {done}/{args.runs} runs, {time.perf_counter() - started:.1f} s', flush=True)
    try:
        results = virtual_time.run(exploration.run(args.runs, args.seed, args.jobs, progress),
                                   exploration.time_mode(getattr(args, 'time', 'virtual')))
    except (RuntimeError, OSError) as e:
        if exploration.base.target is None:
            raise
        print(f'error: the target could not be started: {str(e).splitlines()[0]}', file=sys.stderr)
        return EXIT_TARGET
    rows = outcomes(results)
    print(table(rows, len(results)))
    extra = extras(results, exploration.lag_tolerance_ms, exploration.strategy, exploration.depth)
    print('\n'.join(describe(extra)))
    failing = [r for r in results if not r.passed]
    elapsed = time.perf_counter() - started
    print(f'{len(results)} runs in {elapsed:.1f} s ({len(results) / elapsed:.1f} runs/s); '
          f'failing: {len(failing)}/{len(results)} ({len(failing) / len(results):.1%})')
    minimal = None
    if failing and args.shrink:
        from .shrink import shrink_to_file
        run = failing[0]
        minimal = virtual_time.run(shrink_to_file(exploration.path, exploration.raw_for(run.seed), run.seed,
                                                  run.failed[0], log=print),
                                   exploration.time_mode(getattr(args, 'time', 'virtual')))
    if args.report:
        try:
            data = json_report(results, args.seed, exploration.knobs, minimal, exploration)
            Path(args.report).write_text(json.dumps(data, indent=2), encoding='utf-8')
        except OSError as e:
            print(f'error: {e}', file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f'report: {args.report}')
    return EXIT_FAILED if failing else EXIT_OK


# ---- clientsim play --seed S --jobs J -----------------------------------------------------------------------------
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


def _as_variant(raw: dict[str, Any], variant: str) -> dict[str, Any]:
    """A scenario mapping without its ``fix:`` block: as it is (``shipped``), or with the block's policy fields,
    expectations and description in place of the file's (``fixed``; see :mod:`clientsim.simulator.variants`)."""
    raw = dict(raw)
    fix = raw.pop('fix', None)
    if variant == 'fixed' and isinstance(fix, dict):
        raw['policy'] = {**(raw.get('policy') or {}), **(fix.get('policy') or {})}
        raw['expect'] = fix.get('expect') or {}
        if fix.get('description'):
            raw['description'] = fix['description']
    return raw


def _with_variant(scenario: Scenario, variant: str) -> Scenario:
    """``scenario``'s variant named ``variant`` (``shipped`` or ``fixed``; see :meth:`Scenario.variants`)."""
    return dict(scenario.variants()).get(variant, scenario)


def play_seeded(scenarios: list[Scenario], args: argparse.Namespace,
                console: Optional[PlayConsole] = None) -> Optional[list[RunReport]]:
    """``clientsim play --headless`` with its ``--seed`` / ``--jobs`` options: :func:`play_many`; None (after
    printing the error) for a bad knob or ``--jobs`` below 1."""
    jobs, seed = getattr(args, 'jobs', 1) or 1, getattr(args, 'seed', None)
    if jobs < 1:
        print('error: --jobs must be >= 1', file=sys.stderr)
        return None
    try:
        return play_many(scenarios, seed, jobs, console, time_mode=getattr(args, 'time', 'virtual'))
    except VaryError as e:
        print(f'error: {e}', file=sys.stderr)
        return None
