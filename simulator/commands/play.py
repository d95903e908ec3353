"""``clientsim play``, ``clientsim demo`` and ``clientsim gui``: play scenario files headless or in the GUI and
print the result table (:class:`clientsim.simulator.console.PlayConsole`), the failures and the report paths.

Headless with neither ``--seed`` nor ``--jobs`` each variant plays through
:func:`clientsim.simulator.player.play_headless`; ``--seed`` / ``--jobs`` use
:func:`clientsim.simulator.explore.play_many` (seeded draws, J at once).
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Optional

from ..console import PlayConsole
from ..errors import BadInputError
from ..exit_codes import EXIT_FAILED, EXIT_OK
from ..fdlimit import startup_budget, too_many_windows
from ..outputs import check_outputs
from ..report import failures_text, write_events, write_report
from ..run_report import RunReport
from ..scenario import Scenario, ScenarioError, library_dir, load_scenario
from ..trust import require_trusted
from ..variants import VARIANT_CHOICES, select_variants
from ..virtual_time import TIME_MODES, TimeMode

DEMO_SCENARIO = 'download_race_auto_index.yaml'

NO_QT_MESSAGE = ("clientsim's GUI needs Qt, which is not installed ({error}).\n"
                 "Install the gui extra: pip install 'clientsim[gui]' (from a checkout: pip install -e '.[gui]'),\n"
                 "or play without a GUI: clientsim play --headless FILE.yaml")


def add_parser(sub: argparse._SubParsersAction, epilog: str) -> None:
    """Register ``clientsim play``, ``clientsim gui`` and ``clientsim demo``."""
    play = sub.add_parser('play', help='play scenario files and check their expectations', epilog=epilog,
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
    add_force_flag(play)
    play.add_argument('--screenshot', metavar='OUT.png', help='GUI mode (offscreen without a display): save '
                                                              'one image of all windows at the end')
    play.add_argument('--seed', type=int, help='seed the vary: draws and the server (replays explore run S)')
    play.add_argument('--jobs', type=int, default=1, help='headless: play J files at once, each on its own server')
    play.add_argument('--strategy', choices=('random', 'pct'), default='random',
                      help="with --seed: explore's --strategy (pct replays a run of explore --strategy pct)")
    play.add_argument('--depth', type=int, default=2, help="with --seed and --strategy pct: explore's --depth")
    play.add_argument('--vary', action='append', default=[], metavar='KNOB=SPEC',
                      help="with --seed: explore's --vary knobs (the same ones replay its run S)")
    play.add_argument('--time', choices=TIME_MODES, default='virtual',
                      help='headless on the embedded server: virtual time (sleeps are instant, default) or real '
                           'time; real targets and the GUI always play in real time')
    add_trust_flag(play)
    play.add_argument('--windows', type=int, metavar='N', help='play a one-window scenario (a recorded session) in N '
                      'windows at once, w01..wNN (clientsim.simulator.record.replay)')
    gui = sub.add_parser('gui', help='open the GUI (the default)')
    gui.add_argument('--play', metavar='FILE', help='play this scenario once the GUI is up')
    demo = sub.add_parser('demo', help='play the download race offscreen and save a screenshot')
    demo.add_argument('--screenshot', metavar='OUT.png', default='clientsim-demo.png')


def has_display() -> bool:
    """Whether a Qt window can be shown: a DISPLAY/WAYLAND_DISPLAY, or an explicit QT_QPA_PLATFORM."""
    return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY') or os.environ.get('QT_QPA_PLATFORM')
                or sys.platform in ('win32', 'darwin'))


def gui_module() -> Any:
    """:mod:`clientsim.simulator.gui.app`. Raises :class:`BadInputError` saying how to install Qt (the ``gui``
    extra) when it is missing."""
    try:
        from ..gui import app
    except ImportError as e:
        raise BadInputError(NO_QT_MESSAGE.format(error=e)) from None
    return app


def in_library(file: str) -> str:
    """``file`` itself when it exists; else the library's file of that name (``clientsim play double_delete.yaml``
    plays the installed library's copy); else ``file`` unchanged, so the loader's error names what was asked."""
    if Path(file).exists() or Path(file).name != file:
        return file
    shipped = library_dir() / file
    return str(shipped) if shipped.is_file() else file


def add_force_flag(parser: argparse.ArgumentParser) -> None:
    """``--force``: replace existing output files (simulator.outputs)."""
    parser.add_argument('--force', action='store_true', help='replace existing output files (never an input file)')


def add_trust_flag(parser: argparse.ArgumentParser) -> None:
    """``--trust``: run a scenario's ``target.command`` although its file is not trusted (simulator.trust)."""
    parser.add_argument('--trust', action='store_true', help="run a file's target.command although the file is not "
                        'in the library and not trusted (this run only; `clientsim trust FILE` remembers it)')


def load_all(files: list[str]) -> list[Scenario]:
    """Every file's scenario, printing its warnings. Raises :class:`BadInputError` naming every bad file (one
    ``file:line: location: message`` line each)."""
    scenarios, bad = [], []
    for file in files:
        with warnings.catch_warnings(record=True) as caught:  # ScenarioWarning (simulator.scenario_yaml)
            warnings.simplefilter('always')
            try:
                scenarios.append(load_scenario(in_library(file)))
            except ScenarioError as e:
                bad.append(str(e))
        for warning in caught:
            print(f'warning: {file}: {warning.message}', file=sys.stderr)
    if bad:
        raise BadInputError('\nerror: '.join(bad))  # cli.main prints the first "error: "
    return scenarios


def check_report_path(path: Optional[str]) -> None:
    """Raises :class:`BadInputError` unless ``path`` is None or ends in .json or .html."""
    if path and Path(path).suffix not in ('.json', '.html'):
        raise BadInputError(f'--report must end in .json or .html, got {path}')


def finish(reports: list[RunReport], report: Optional[str], events: Optional[str] = None) -> int:
    """Print each failing report's failures, write ``report`` / ``events``; 0 when every report passed, else 1.
    Raises :class:`BadInputError` when a file cannot be written."""
    for r in reports:
        if not r.passed:
            print(f"\n{Path(r.file or '').name} ({r.variant}): {r.scenario}\n{failures_text(r)}")
    try:
        if report:
            write_report(reports, report)
            print(f'report: {report}')
        if events:
            write_events(reports, events)
            print(f'events: {events}')
    except (OSError, ValueError) as e:
        raise BadInputError(str(e)) from None
    return EXIT_OK if all(r.passed for r in reports) else EXIT_FAILED


def play_files(files: list[str], *, variant: str = 'both', headless: bool = False, report: Optional[str] = None,
               events: Optional[str] = None, screenshot: Optional[str] = None, seed: Optional[int] = None,
               jobs: int = 1, time_mode: TimeMode = 'virtual', windows: Optional[int] = None,
               strategy: str = 'random', depth: int = 2, vary: list[str] | tuple[str, ...] = (),
               trust: bool = False, force: bool = False) -> int:
    """``clientsim play``: 0 when every expectation holds, 1 when one fails. With ``seed``, ``strategy``,
    ``depth`` and ``vary`` are explore's (so the same ones replay its run ``seed``). Raises :class:`BadInputError` (bad
    file, option or report path) and :class:`clientsim.simulator.errors.TargetError` (a target app that cannot
    start). A file with an untrusted ``target.command`` raises :class:`~..trust.UntrustedScenarioError` (exit 2)
    unless ``trust`` (``--trust``). An output over an input, the same output twice, or an existing output without
    ``force`` raises :class:`BadInputError` before anything runs (simulator.outputs)."""
    check_report_path(report)
    if jobs < 1:
        raise BadInputError('--jobs must be >= 1')
    loaded = load_all(files)
    require_trusted(loaded, trust)  # before anything runs (simulator.trust)
    check_outputs({'--report': report, '--events': events, '--screenshot': screenshot},
                  [s.path for s in loaded if s.path], force)
    if windows is not None:  # a recorded one-window session, replayed in N windows (raises BadInputError)
        from ..record.replay import multiply
        loaded = [multiply(s, windows) for s in loaded]
    scenarios, without_fix = select_variants(loaded, variant)
    for s in without_fix:
        print(f'note: {s.path}: no fix: block, no fixed variant to play', file=sys.stderr)
    if not scenarios:
        raise BadInputError('nothing to play (--variant fixed and no file has a fix: block)')
    for scenario in scenarios:  # warn before a run that would fail with "Too many open files"
        warning = too_many_windows(len(scenario.windows), startup_budget())
        if warning:
            print(f'warning: {scenario.path or scenario.name}: {warning}', file=sys.stderr)
    console = PlayConsole(scenarios)
    console.start()
    try:
        if headless and not screenshot:
            reports = _play_headless(scenarios, console, seed, jobs, time_mode, (strategy, max(1, depth), vary))
        else:
            reports = _play_in_gui(scenarios, console, screenshot)
    except KeyboardInterrupt:  # Ctrl+C: the scenarios finished so far are written, then cli.main says interrupted
        console.close()
        if console.reports and (report or events):
            finish(console.reports, report, events)
        raise
    finally:
        console.close()
    return finish(reports, report, events)


def _play_headless(scenarios: list[Scenario], console: PlayConsole, seed: Optional[int], jobs: int,
                   time_mode: TimeMode, seeded: tuple[str, int, Any] = ('random', 2, ())) -> list[RunReport]:
    if seed is None and jobs == 1:
        from ..player import play_headless
        reports = []
        for scenario in scenarios:
            console.playing(scenario)
            reports.append(play_headless(scenario, time_mode, on_step=console.on_step))
            console.finished(reports[-1])
        return reports
    from ..explore import play_many  # seeded draws (replays explore runs), J at once
    strategy, depth, vary = seeded  # explore's --strategy, --depth, --vary (replay a pct or --vary run)
    return play_many(scenarios, seed, jobs, console, time_mode=time_mode, strategy=strategy, depth=depth,
                     cli_vary=vary)


def _play_in_gui(scenarios: list[Scenario], console: PlayConsole, screenshot: Optional[str]) -> list[RunReport]:
    if not has_display():
        os.environ['QT_QPA_PLATFORM'] = 'offscreen'
    reports = gui_module().play_in_gui(scenarios, screenshot=screenshot, on_report=console.finished)
    if screenshot:
        print(f'screenshot: {screenshot}')
    return reports


def run(args: argparse.Namespace) -> int:
    """``clientsim play``; see :func:`play_files`."""
    return play_files(args.files, variant=args.variant, headless=args.headless, report=args.report,
                      events=args.events, screenshot=args.screenshot, seed=args.seed, jobs=args.jobs,
                      time_mode=args.time, windows=args.windows, strategy=args.strategy, depth=args.depth,
                      vary=args.vary, trust=args.trust, force=args.force)


def run_demo(screenshot: str) -> int:
    """``clientsim demo`` (and ``clientsim`` without a display): the download race offscreen and a screenshot."""
    os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')
    print(f'clientsim demo: no display, playing {DEMO_SCENARIO} offscreen')
    return play_files([str(library_dir() / DEMO_SCENARIO)], variant='shipped', screenshot=screenshot)


def run_gui(play: Optional[str]) -> int:
    """``clientsim`` / ``clientsim gui``: the GUI, or the demo when there is no display."""
    if not has_display():
        return run_demo('clientsim-demo.png')
    if play is not None:
        load_all([play])  # a bad file: the same message and exit code as ``play``
    return gui_module().run_gui(play=play)
