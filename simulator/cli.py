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
* ``clientsim record URL|--target CMD`` — record a browser session as a scenario (:mod:`clientsim.simulator.record`);
* ``clientsim serve`` — the embedded server headless (:mod:`clientsim.simulator.serve`);
* ``clientsim load FILE`` / ``clientsim locustfile`` — load tests with Locust (:mod:`clientsim.simulator.load.runner`).

``--headless`` and ``matrix`` import no Qt at all; without Qt installed (no ``gui`` extra) the GUI commands print
how to install it and exit 2.

This module builds the parser from the commands layer (:mod:`clientsim.simulator.commands`: each subcommand's
options, printing and engine calls) and is the one place that turns a
:class:`clientsim.simulator.errors.ClientsimError` into ``error: ...`` on stderr and its ``exit_code``.
"""
from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

from .commands import explore as explore_command
from .commands import load as load_command
from .commands import matrix as matrix_command
from .commands import play as play_command
from .commands import serve as serve_command
from .commands import trust as trust_command
from .errors import ClientsimError
from .exit_codes import EXIT_BAD_INPUT, EXIT_CODES, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TARGET
from .fdlimit import startup_budget
from .scenario import library_dir

__all__ = ['EXIT_BAD_INPUT', 'EXIT_FAILED', 'EXIT_OK', 'EXIT_TARGET', 'LOG_LEVELS', 'configure_logging', 'main']

LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL')


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
    play_command.add_parser(sub, _epilog())  # play, gui, demo
    matrix_command.add_parser(sub)  # matrix, bisect
    serve_command.add_parser(sub)
    explore_command.add_parser(sub)
    load_command.add_parser(sub)  # load, locustfile
    from .conform.command import add_parser as add_conform_parser
    add_conform_parser(sub)  # clientsim conform
    from .record.command import add_parser as add_record_parser
    add_record_parser(sub)  # clientsim record
    trust_command.add_parser(sub)
    return parser


#: subcommand → the function that runs it (argparse Namespace → exit code 0 or 1; errors raised)
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    'play': play_command.run,
    'demo': lambda args: play_command.run_demo(args.screenshot),
    'gui': lambda args: play_command.run_gui(args.play),
    'explore': explore_command.run,
    'matrix': matrix_command.run_matrix,
    'bisect': matrix_command.run_bisect,
    'serve': serve_command.run,
    'load': load_command.run,
    'locustfile': load_command.run_locustfile,
    'conform': lambda args: _conform(args),
    'record': lambda args: _record(args),
    'trust': trust_command.run,
}


def _conform(args: argparse.Namespace) -> int:
    from .conform.command import cmd_conform  # Selenium and the conformance suite only when asked for
    return cmd_conform(args)


def _record(args: argparse.Namespace) -> int:
    from .record.command import cmd_record  # the proxy and Selenium only when asked for
    return cmd_record(args)


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
    """Entry point of the ``clientsim`` console script; returns the exit code: the command's (0 or 1), or the
    ``exit_code`` of the :class:`ClientsimError` it raised (2 bad input, 3 a target that cannot start), after
    printing ``error: <message>`` on stderr."""
    args = _parser().parse_args(argv)
    configure_logging('DEBUG' if args.verbose else args.log_level)
    budget = startup_budget()  # the soft open-files limit raised to the hard one (simulator.fdlimit)
    logging.getLogger('clientsim').info(budget.message())
    command = COMMANDS.get(args.command or 'gui')
    if args.command is None:
        args.play = None
    try:
        return command(args) if command is not None else EXIT_BAD_INPUT
    except ClientsimError as e:
        print(f'error: {e}', file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:  # Ctrl+C: no traceback; outputs are written atomically, so none is half written
        _quiet_exit()
        print('interrupted', file=sys.stderr)
        return EXIT_INTERRUPTED


def _quiet_exit() -> None:
    """After Ctrl+C the process ends: an event loop or coroutine the interrupt cut off half-way (between two
    scenarios, say) is collected now, without its "Exception ignored" / "never awaited" noise."""
    import gc
    import warnings
    sys.unraisablehook = lambda _unraisable: None
    warnings.simplefilter('ignore', RuntimeWarning)
    gc.collect()


if __name__ == '__main__':
    sys.exit(main())
