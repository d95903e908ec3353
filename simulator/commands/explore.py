"""``clientsim explore FILE --runs N --seed S [--vary KNOB=SPEC ...] [--jobs J] [--shrink] [--report OUT.json]``:
the options, the progress lines, the outcome table and the report file around the engine
:class:`clientsim.simulator.explore.Exploration`. Exit codes: 0 every run passed, 1 some failed; bad file or knob
(2) and a target that did not start (3) are raised as :class:`clientsim.simulator.errors.ClientsimError`; 130
interrupted (Ctrl+C). ``--jobs J`` runs over ``min(J, cores)`` worker processes
(:mod:`clientsim.simulator.explore_pool`).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Optional

from .. import virtual_time
from ..coverage import LAG_TOLERANCE_MS, Coverage, describe, extras
from ..errors import BadInputError, TargetError
from ..exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from ..explore import Exploration, RunResult, json_report, outcomes, replay_lines, table
from ..explore_pool import processes_for
from ..outputs import check_outputs, write_atomic
from ..terminal import is_terminal
from ..virtual_time import TimeMode
from .play import add_force_flag, add_trust_flag


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``clientsim explore``."""
    p = sub.add_parser('explore', help='play a scenario many times with seeded draws; count the outcomes')
    p.add_argument('file', metavar='FILE', help='a scenario YAML file (its vary: block sets default knobs)')
    p.add_argument('--runs', type=int, default=50, help='how many runs (default 50)')
    p.add_argument('--seed', type=int, default=0, help='run i draws from seed S+i (default 0)')
    p.add_argument('--vary', action='append', default=[], metavar='KNOB=SPEC',
                   help='download_ms=0..100, handshake_ms=0,10,30, order=shuffle, bob.download_ms=0..100')
    p.add_argument('--jobs', type=int, default=1,
                   help='runs at once, each on its own embedded server, over min(J, cores) processes')
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
    add_trust_flag(p)
    add_force_flag(p)
    p.add_argument('--time', choices=virtual_time.TIME_MODES, default='virtual',
                   help='virtual (default on the embedded server: every sleep is instant, see '
                        'simulator.virtual_time) or real time; a target: file always runs in real time')


def run(args: argparse.Namespace) -> int:
    """``clientsim explore``; see :func:`explore_file`. An untrusted ``target.command`` is refused first
    (simulator.trust)."""
    from ..scenario import load_scenario
    from ..trust import require_trusted
    require_trusted([load_scenario(args.file)], args.trust)
    check_outputs({'--report': args.report}, [args.file], args.force)
    return explore_file(args.file, runs=args.runs, seed=args.seed, vary=args.vary, jobs=args.jobs,
                        shrink=args.shrink, report=args.report, variant=args.variant, strategy=args.strategy,
                        depth=args.depth, until_covered=args.until_covered, lag_tolerance_ms=args.lag_tolerance_ms,
                        time_mode=args.time)


def explore_file(file: str, *, runs: int = 50, seed: int = 0, vary: list[str] | tuple[str, ...] = (), jobs: int = 1,
                 shrink: bool = False, report: Optional[str] = None, variant: str = 'shipped',
                 strategy: str = 'random', depth: int = 2, until_covered: bool = False,
                 lag_tolerance_ms: float = LAG_TOLERANCE_MS, time_mode: TimeMode = 'virtual') -> int:
    """Explore ``file`` and print progress, the outcome table and the summary; 0 when every run passed, else 1.
    Raises :class:`BadInputError` (bad file, knob, option or report path) and :class:`TargetError` (the target
    app did not start)."""
    if runs < 1 or jobs < 1:
        raise BadInputError('--runs and --jobs must be >= 1')
    exploration = Exploration(file, vary, variant, strategy, max(1, depth), lag_tolerance_ms)
    knob_text = ' '.join(k.describe() for k in exploration.knobs) or 'nothing (every run the same)'
    processes = processes_for(jobs, runs) if exploration.base.target is None else 1
    where = f' in {processes} processes' if processes > 1 else ''
    print(f'exploring {file}: {runs} runs from seed {seed}, {jobs} at once{where}; varying {knob_text}')
    started = time.perf_counter()
    coverage = Coverage()

    def progress(result: RunResult, done: int) -> None:
        coverage.add(result.pairs)
        if until_covered and coverage.complete():
            from ..pct import bound, runs_for_confidence
            need = (runs_for_confidence(bound(result.width, result.size, exploration.depth))
                    if exploration.strategy == 'pct' else 0)
            exploration.stop_requested = done >= need
        if done == runs or done % max(1, runs // 10) == 0:
            print(f'  {done}/{runs} runs, {time.perf_counter() - started:.1f} s', flush=True)
    mode = exploration.time_mode(time_mode)
    try:
        results = virtual_time.run(exploration.run(runs, seed, jobs, progress, processes), mode)
    except TargetError as e:
        raise TargetError(f'the target could not be started: {e}') from None
    except KeyboardInterrupt:  # the worker processes finished their chunk and are gone (simulator.explore_pool)
        print('interrupted', file=sys.stderr)
        return EXIT_INTERRUPTED
    rows = outcomes(results)
    print(table(rows, len(results), colour=is_terminal(sys.stdout)))
    print('\n'.join(replay_lines(rows, exploration)))
    print('\n'.join(describe(extras(results, exploration.lag_tolerance_ms, exploration.strategy,
                                    exploration.depth))))
    failing = [r for r in results if not r.passed]
    elapsed = time.perf_counter() - started
    print(f'{len(results)} runs in {elapsed:.1f} s ({len(results) / elapsed:.1f} runs/s); '
          f'failing: {len(failing)}/{len(results)} ({len(failing) / len(results):.1%})')
    minimal = None
    if failing and shrink:
        from ..shrink import shrink_to_file
        first = failing[0]
        run = exploration.scenario_for(first.seed)
        minimal = virtual_time.run(shrink_to_file(exploration.path, run, first.seed, first.failed[0], log=print), mode)
    if report:
        try:
            data = json_report(results, seed, exploration.knobs, minimal, exploration)
            write_atomic(report, json.dumps(data, indent=2))
        except OSError as e:
            raise BadInputError(f'{report}: cannot write: {e.strerror or e}') from None
        print(f'report: {report}')
    return EXIT_FAILED if failing else EXIT_OK
