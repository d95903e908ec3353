"""``clientsim matrix FILE [--nicegui V1,V2] [--report OUT]`` and ``clientsim bisect FILE [--good V] [--bad V] ...``:
the commands around :mod:`clientsim.simulator.matrix` and :mod:`clientsim.simulator.release_bisect` (both play a
target scenario on real NiceGUI releases in cached venvs)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..exit_codes import EXIT_FAILED, EXIT_OK
from ..outputs import check_outputs
from ..scenario import load_scenario
from ..terminal import is_terminal
from ..trust import require_trusted
from .play import add_force_flag, add_trust_flag, check_report_path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``clientsim matrix`` and ``clientsim bisect``."""
    matrix = sub.add_parser('matrix', help='play a target scenario against several NiceGUI releases (cached venvs)')
    matrix.add_argument('file', metavar='FILE', help='a target scenario ({python} in its command)')
    matrix.add_argument('--nicegui', metavar='V1,V2', help="versions (default: the file's nicegui: bug_in/fixed_in)")
    matrix.add_argument('--report', metavar='OUT', help='write the reports (.json or .html)')
    add_trust_flag(matrix)
    add_force_flag(matrix)
    bisect = sub.add_parser('bisect', help='find the NiceGUI release that changed a target scenario\'s outcome '
                            '(flake-aware)', description='Play a target scenario on real NiceGUI releases between '
                            '--good and --bad and name the first release whose outcome is the one --bad shows, with '
                            "its posterior probability, or say can't tell (Beta-Bernoulli model, see "
                            'clientsim.simulator.bisect_model).')
    bisect.add_argument('file', metavar='FILE', help='a target scenario ({python} in its command)')
    add_trust_flag(bisect)
    add_force_flag(bisect)
    bisect.add_argument('--good', metavar='V', help="the older bound (default: the file's nicegui: versions)")
    bisect.add_argument('--bad', metavar='V', help='the newer bound')
    bisect.add_argument('--runs', type=int, default=3, help='runs per release (more where they disagree; default 3)')
    bisect.add_argument('--confidence', type=float, default=0.95, help='posterior needed for a verdict (0.95)')
    bisect.add_argument('--on', metavar='NAME', help='bisect on one expectation (e.g. server_errors.KeyError)')
    bisect.add_argument('--report', metavar='OUT', help='write the result (.json or .html)')


def run_matrix(args: argparse.Namespace) -> int:
    """``clientsim matrix``: 0 when every version behaved as the file says, else 1. Raises
    :class:`clientsim.simulator.errors.BadInputError` (bad file, versions or report path) and
    :class:`clientsim.simulator.venvs.VenvError` (a release that cannot be installed)."""
    from ..errors import BadInputError
    from ..matrix import as_expected, matrix_table, play_matrix, versions_of
    from ..report import write_report
    scenario = load_scenario(args.file)
    require_trusted([scenario], args.trust)
    check_outputs({'--report': args.report}, [args.file], args.force)
    versions = versions_of(scenario, args.file, args.nicegui)
    check_report_path(args.report)
    reports = play_matrix(scenario, versions, on_version=lambda v: print(
        f'nicegui {v}: playing {Path(args.file).name} ...', flush=True))
    print(f'\n{scenario.name}\n{matrix_table(scenario, reports, colour=is_terminal(sys.stdout))}')
    if args.report:
        try:
            write_report(reports, args.report)
        except (OSError, ValueError) as e:
            raise BadInputError(str(e)) from None
        print(f'report: {args.report}')
    return EXIT_OK if all(as_expected(scenario, r) for r in reports) else EXIT_FAILED


def run_bisect(args: argparse.Namespace) -> int:
    """``clientsim bisect``: prints a line per run, the release table and the verdict; 0 when a culprit is found,
    1 can't tell. Raises :class:`clientsim.simulator.errors.ClientsimError` (2 bad input, 3 a bound that cannot be
    installed)."""
    from ..release_bisect import bisect_file, write_bisect_report
    check_report_path(args.report)
    require_trusted([load_scenario(args.file)], args.trust)
    check_outputs({'--report': args.report}, [args.file], args.force)
    result = bisect_file(args.file, args.good, args.bad, runs=args.runs, confidence=args.confidence, on=args.on,
                         progress=lambda line, _tally: print(line, flush=True))
    print(f'\n{result.table(colour=is_terminal(sys.stdout))}')
    if result.yanked:
        print(f"yanked (not played): {', '.join(result.yanked)}")
    print(result.verdict())
    if args.report:
        write_bisect_report(result, args.report)
        print(f'report: {args.report}')
    return EXIT_OK if result.culprit else EXIT_FAILED
