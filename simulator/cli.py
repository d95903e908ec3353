"""The ``clientsim`` command (argparse).

* ``clientsim`` — open the GUI (with no display: play the download race offscreen and save a screenshot);
* ``clientsim play FILE... [--variant shipped|fixed|both] [--headless] [--report out.json|out.html]
  [--events out.jsonl] [--screenshot out.png]`` — plays each file's variants (shipped, and fixed when the file has a
  ``fix:`` block, :mod:`clientsim.simulator.variants`), printing each row as it finishes
  (:mod:`clientsim.simulator.console`); exit 0
  when every expectation holds, 1 when one fails (printing which), 2 for a bad file, 3 for a target app that
  cannot start (its command, exit code and the tail of its output);
* ``clientsim demo [--screenshot PATH]`` — the offscreen demo;
* ``clientsim matrix FILE [--nicegui V1,V2] [--report OUT]`` — a target scenario on several NiceGUI releases
  (:mod:`clientsim.simulator.matrix`).
* ``clientsim serve`` — the embedded server headless (:mod:`clientsim.simulator.serve`);
* ``clientsim record URL|--target CMD`` — record a browser session as a scenario (:mod:`clientsim.simulator.record`);
* ``clientsim load FILE`` / ``clientsim locustfile`` — load tests with Locust (:mod:`clientsim.simulator.load.runner`).

``--headless`` and ``matrix`` import no Qt at all; without Qt installed (no ``gui`` extra) the GUI commands print
how to install it and exit 2.
"""
from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

from .console import PlayConsole
from .errors import BadInputError
from .exit_codes import EXIT_BAD_INPUT, EXIT_CODES, EXIT_FAILED, EXIT_OK, EXIT_TARGET
from .fdlimit import startup_budget, too_many_windows
from .report import failures_text, write_events, write_report
from .run_report import RunReport
from .scenario import Scenario, ScenarioError, library_dir, load_scenario
from .variants import VARIANT_CHOICES, select_variants

LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')
DEMO_SCENARIO = 'download_race_auto_index.yaml'


def _epilog() -> str:
    codes = '\n'.join(f'  {code}  {text}' for code, text in sorted(EXIT_CODES.items()))
    return f'exit codes:\n{codes}\n\nscenario library: {library_dir()}'


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='clientsim', description='A desktop lab for multi-client web UI bugs.',
                                     epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('-v', '--verbose', action='store_true', help='log server errors and debug output '
                                                                     '(same as --log-level DEBUG)')
    parser.add_argument('--log-level', choices=LOG_LEVELS, default='WARNING', type=str.upper,
                        help="level of clientsim's and its libraries' logging (python-engineio, python-socketio, "
                             'aiohttp); INFO: one summary line of server errors per run; below DEBUG no library '
                             'tracebacks')
    sub = parser.add_subparsers(dest='command')
    play = sub.add_parser('play', help='play scenario files and check their expectations', epilog=_epilog(),
                          formatter_class=argparse.RawDescriptionHelpFormatter,
                          description='Play scenario files and check their expectations. A file with a fix: block '
                                      'has two variants, shipped and fixed; both play by default.')
    play.add_argument('files', nargs='+', metavar='FILE', help='scenario YAML files (a bare name not found here: the '
                      'library\'s file of that name)')
    play.add_argument('--variant', choices=VARIANT_CHOICES, default='both',
                      help='which variant of each file to play (default: both; a file without fix: has only shipped)')
    play.add_argument('--headless', action='store_true', help='no GUI and no Qt import')
    play.add_argument('--report', metavar='OUT', help='write a report (.json or .html)')
    play.add_argument('--events', metavar='OUT.jsonl', help='write every timeline event as JSON lines')
    play.add_argument('--screenshot', metavar='OUT.png', help='GUI mode (offscreen without a display): save '
                                                              'one image of all windows at the end')
    play.add_argument('--seed', type=int, help='seed the vary: draws and the server (replays explore run S)')
    play.add_argument('--jobs', type=int, default=1, help='headless: play J files at once, each on its own server')
    play.add_argument('--time', choices=('virtual', 'real'), default='virtual',
                      help='headless on the embedded server: virtual time (sleeps are instant, default) or real '
                           'time; real targets and the GUI always play in real time')
    play.add_argument('--windows', type=int, metavar='N', help='play a one-window scenario (a recorded session) in N '
                      'windows at once, w01..wNN (clientsim.simulator.record.replay)')
    gui = sub.add_parser('gui', help='open the GUI (the default)')
    gui.add_argument('--play', metavar='FILE', help='play this scenario once the GUI is up')
    matrix = sub.add_parser('matrix', help='play a target scenario against several NiceGUI releases (cached venvs)')
    matrix.add_argument('file', metavar='FILE', help='a target scenario ({python} in its command)')
    matrix.add_argument('--nicegui', metavar='V1,V2', help="versions (default: the file's nicegui: bug_in/fixed_in)")
    matrix.add_argument('--report', metavar='OUT', help='write the reports (.json or .html)')
    bisect = sub.add_parser('bisect', help='find the NiceGUI release that changed a target scenario\'s outcome '
                            '(flake-aware)', description='Play a target scenario on real NiceGUI releases between '
                            '--good and --bad and name the first release whose outcome is the one --bad shows, with '
                            "its posterior probability, or say can't tell (Beta-Bernoulli model, see "
                            'clientsim.simulator.bisect_model).')
    bisect.add_argument('file', metavar='FILE', help='a target scenario ({python} in its command)')
    bisect.add_argument('--good', metavar='V', help="the older bound (default: the file's nicegui: versions)")
    bisect.add_argument('--bad', metavar='V', help='the newer bound')
    bisect.add_argument('--runs', type=int, default=3, help='runs per release (more where they disagree; default 3)')
    bisect.add_argument('--confidence', type=float, default=0.95, help='posterior needed for a verdict (0.95)')
    bisect.add_argument('--on', metavar='NAME', help='bisect on one expectation (e.g. server_errors.KeyError)')
    bisect.add_argument('--report', metavar='OUT', help='write the result (.json or .html)')
    demo = sub.add_parser('demo', help='play the download race offscreen and save a screenshot')
    demo.add_argument('--screenshot', metavar='OUT.png', default='clientsim-demo.png')
    from .load.runner import add_parsers as add_load_parsers
    from .serve import add_parser as add_serve_parser
    add_serve_parser(sub)  # clientsim serve
    from .explore import add_parser as add_explore_parser
    add_explore_parser(sub)  # clientsim explore
    from .conform.command import add_parser as add_conform_parser
    add_conform_parser(sub)  # clientsim conform
    add_load_parsers(sub)  # clientsim load, clientsim locustfile
    from .record.command import add_parser as add_record_parser
    add_record_parser(sub)  # clientsim record
    return parser


def has_display() -> bool:
    """Whether a Qt window can be shown: a DISPLAY/WAYLAND_DISPLAY, or an explicit QT_QPA_PLATFORM."""
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY') or os.environ.get('QT_QPA_PLATFORM')
                or sys.platform in ('win32', 'darwin'))


NO_QT_MESSAGE = ("error: clientsim's GUI needs Qt, which is not installed ({error}).\n"
                 "Install the gui extra: pip install 'clientsim[gui]' (from a checkout: pip install -e '.[gui]'),\n"
                 "or play without a GUI: clientsim play --headless FILE.yaml")


def _gui_module() -> Any:
    """:mod:`clientsim.simulator.gui.app`, or None after printing :data:`NO_QT_MESSAGE` when Qt (the ``gui`` extra) is
    missing."""
    try:
        from .gui import app
    except ImportError as e:
        print(NO_QT_MESSAGE.format(error=e), file=sys.stderr)
        return None
    return app


def _in_library(file: str) -> str:
    """``file`` itself when it exists; else the library's file of that name (``clientsim play double_delete.yaml``
    plays the installed library's copy); else ``file`` unchanged, so the loader's error names what was asked."""
    if Path(file).exists() or Path(file).name != file:
        return file
    shipped = library_dir() / file
    return str(shipped) if shipped.is_file() else file


def _load_all(files: list[str]) -> Optional[list[Scenario]]:
    scenarios, bad = [], False
    for file in files:
        with warnings.catch_warnings(record=True) as caught:  # ScenarioWarning (simulator.scenario_yaml)
            warnings.simplefilter('always')
            try:
                scenarios.append(load_scenario(_in_library(file)))
            except ScenarioError as e:
                print(f'error: {e}', file=sys.stderr)
                bad = True
        for warning in caught:
            print(f'warning: {file}: {warning.message}', file=sys.stderr)
    return None if bad else scenarios


def _finish(reports: list[RunReport], args: argparse.Namespace) -> int:
    for r in reports:
        if not r.passed:
            print(f"\n{Path(r.file or '').name} ({r.variant}): {r.scenario}\n{failures_text(r)}")
    try:
        if args.report:
            write_report(reports, args.report)
            print(f'report: {args.report}')
        if getattr(args, 'events', None):
            write_events(reports, args.events)
            print(f'events: {args.events}')
    except (OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK if all(r.passed for r in reports) else EXIT_FAILED


def cmd_play(args: argparse.Namespace) -> int:
    """``clientsim play``; returns the exit code."""
    loaded = _load_all(args.files)
    if loaded is None:
        return EXIT_BAD_INPUT
    if getattr(args, 'windows', None) is not None:
        from .record.replay import multiply
        try:
            loaded = [multiply(s, args.windows) for s in loaded]
        except BadInputError as e:
            print(f'error: {e}', file=sys.stderr)
            return EXIT_BAD_INPUT
    if args.report and Path(args.report).suffix not in ('.json', '.html'):
        print(f'error: --report must end in .json or .html, got {args.report}', file=sys.stderr)
        return EXIT_BAD_INPUT
    scenarios, without_fix = select_variants(loaded, getattr(args, 'variant', 'both'))
    for s in without_fix:
        print(f'note: {s.path}: no fix: block, no fixed variant to play', file=sys.stderr)
    if not scenarios:
        print('error: nothing to play (--variant fixed and no file has a fix: block)', file=sys.stderr)
        return EXIT_BAD_INPUT
    for scenario in scenarios:  # warn before a run that would fail with "Too many open files"
        warning = too_many_windows(len(scenario.windows), startup_budget())
        if warning:
            print(f'warning: {scenario.path or scenario.name}: {warning}', file=sys.stderr)
    from .target import TargetStartError
    console = PlayConsole(scenarios)
    console.start()
    try:
        return _play(scenarios, args, console)
    except TargetStartError as e:
        console.close()
        print(f'error: {e}', file=sys.stderr)
        return EXIT_TARGET


def _play(scenarios: list[Scenario], args: argparse.Namespace, console: PlayConsole) -> int:
    if args.headless and not args.screenshot:
        from .explore import play_seeded
        try:
            reports = play_seeded(scenarios, args, console)  # --seed / --jobs (simulator.explore)
        finally:
            console.close()
        if reports is None:
            return EXIT_BAD_INPUT
    else:
        if not has_display():
            os.environ['QT_QPA_PLATFORM'] = 'offscreen'
        gui = _gui_module()
        if gui is None:
            return EXIT_BAD_INPUT
        # rows as they finish when the GUI accepts an on_report callback, else all at the end
        streams = 'on_report' in inspect.signature(gui.play_in_gui).parameters
        reports = gui.play_in_gui(scenarios, screenshot=args.screenshot,
                                  **({'on_report': console.finished} if streams else {}))
        for report in ([] if streams else reports):
            console.finished(report)
        if args.screenshot:
            print(f'screenshot: {args.screenshot}')
    return _finish(reports, args)


def cmd_bisect(args: argparse.Namespace) -> int:
    """``clientsim bisect``: prints a line per run, the release table and the verdict; returns the exit code
    (0 a culprit found, 1 can't tell, 2 bad input, 3 a bound cannot be installed)."""
    from .errors import ClientsimError
    from .release_bisect import bisect_file, write_bisect_report
    if args.report and Path(args.report).suffix not in ('.json', '.html'):
        print(f'error: --report must end in .json or .html, got {args.report}', file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        result = bisect_file(args.file, args.good, args.bad, runs=args.runs, confidence=args.confidence, on=args.on,
                             progress=lambda line, _tally: print(line, flush=True))
    except ClientsimError as e:
        print(f'error: {e}', file=sys.stderr)
        return e.exit_code
    print(f'\n{result.table()}')
    if result.yanked:
        print(f"yanked (not played): {', '.join(result.yanked)}")
    print(result.verdict())
    if args.report:
        write_bisect_report(result, args.report)
        print(f'report: {args.report}')
    return EXIT_OK if result.culprit else EXIT_FAILED


def cmd_demo(screenshot: str) -> int:
    """Play the download race offscreen and save a screenshot; returns the exit code."""
    os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')
    print(f'clientsim demo: no display, playing {DEMO_SCENARIO} offscreen')
    args = argparse.Namespace(files=[str(library_dir() / DEMO_SCENARIO)], headless=False, report=None, events=None,
                              screenshot=screenshot, variant='shipped')
    return cmd_play(args)


def configure_logging(level: str) -> None:
    """Route clientsim's and its libraries' logging to stderr at ``level`` (one of :data:`LOG_LEVELS`).

    python-engineio and python-socketio add their own stderr handler when the root logger has none; with this
    root handler in place they log through it, at ``level``. Below DEBUG, tracebacks of library loggers are
    dropped (undecodable packets and bad requests are recorded on the timeline instead)."""
    logging.basicConfig(level=getattr(logging, level), format='%(levelname)s %(name)s: %(message)s', force=True)
    for name in ('engineio', 'socketio', 'aiohttp'):
        library = logging.getLogger(name)
        library.setLevel(max(getattr(logging, level), logging.ERROR) if level != 'DEBUG' else logging.DEBUG)
        if level != 'DEBUG':
            library.addFilter(_drop_traceback)


def _drop_traceback(record: logging.LogRecord) -> bool:
    """A logging filter: keep the record's message, drop its traceback."""
    record.exc_info, record.exc_text = None, None
    return True


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``clientsim`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    configure_logging('DEBUG' if args.verbose else args.log_level)
    budget = startup_budget()  # the soft open-files limit raised to the hard one (simulator.fdlimit)
    logging.getLogger('clientsim').info(budget.message())
    if args.command == 'play':
        return cmd_play(args)
    if args.command == 'explore':
        from .explore import cmd_explore
        return cmd_explore(args)
    if args.command == 'matrix':
        from .matrix import cmd_matrix
        return cmd_matrix(args.file, args.nicegui, args.report)
    if args.command == 'bisect':
        return cmd_bisect(args)
    if args.command == 'record':
        from .record.command import cmd_record
        return cmd_record(args)
    if args.command == 'demo':
        return cmd_demo(args.screenshot)
    if args.command == 'conform':
        from .conform.command import cmd_conform
        return cmd_conform(args)
    if args.command == 'serve':
        from .serve import cmd_serve
        return cmd_serve(args)
    if args.command == 'load':
        from .load.runner import run_load
        return run_load(args)
    if args.command == 'locustfile':
        from .load import LOCUSTFILE
        print(LOCUSTFILE)
        return EXIT_OK
    if not has_display():
        return cmd_demo('clientsim-demo.png')
    play = getattr(args, 'play', None)
    if play is not None and _load_all([play]) is None:  # the same message and exit code as ``play``
        return EXIT_BAD_INPUT
    gui = _gui_module()
    return EXIT_BAD_INPUT if gui is None else gui.run_gui(play=play)


if __name__ == '__main__':
    sys.exit(main())
