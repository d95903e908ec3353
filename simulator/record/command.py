"""``clientsim record URL|--target CMD [--out FILE.yaml] [--browser chromium|none] [--compress-think-ms N]``.

Starts the recording proxy (:mod:`.proxy`) in front of a running app (URL) or of an app it starts (``--target``,
as a scenario's ``target.command``), opens headless Chromium on it (headed with ``--headed`` when a display exists)
or prints the proxy URL for the user's own browser (``--browser none``), and writes the raw recording (JSON lines)
and the generated scenario (:mod:`.generate`) when the tab closes or on Ctrl+C. Exit codes: 0 written, 1 nothing
recorded, 2 bad input (an existing file without ``--force`` …), 3 the app cannot start, 130 interrupted (Ctrl+C;
the recording is kept). No Qt import here.
"""
from __future__ import annotations

import argparse
import asyncio
import shlex
import signal
import sys
from typing import Any

from ..errors import ClientsimError
from ..exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from .session import RecordSession, describe_entry


def add_parser(sub: Any) -> None:
    """Register ``clientsim record`` on the ``clientsim`` subparsers ``sub``."""
    record = sub.add_parser('record', help='record a browser session through a proxy and write a scenario',
                            description='Record a real browser session against a NiceGUI app through a reverse proxy '
                                        'on 127.0.0.1 and write it as an editable scenario (and the raw recording as '
                                        'JSON lines next to it). Replay it with: clientsim play FILE --windows 50')
    record.add_argument('url', nargs='?', metavar='URL', help='a running app, e.g. http://127.0.0.1:8080/')
    record.add_argument('--target', metavar='CMD', help="start the app with this command ('{port}': a free port), "
                        "e.g. --target 'python app.py {port}'")
    record.add_argument('--target-url', default='http://127.0.0.1:{port}', help='the app URL for --target')
    record.add_argument('--page', help='the path opened first (default: the URL\'s path or /)')
    record.add_argument('--out', default='recording.yaml', metavar='FILE.yaml',
                        help='the scenario to write (the raw recording goes to FILE.jsonl); default recording.yaml')
    record.add_argument('--force', action='store_true', help='overwrite existing files')
    record.add_argument('--browser', choices=('chromium', 'none'), default='chromium',
                        help='chromium: open Chromium on the proxy (needs the apt packages chromium chromium-driver); '
                             'none: print the proxy URL for your own browser')
    record.add_argument('--headed', action='store_true', help="show Chromium's window (when a display exists)")
    record.add_argument('--compress-think-ms', type=float, metavar='N',
                        help='cap each recorded think time (wait step) at N ms')
    record.add_argument('--end-after-s', type=float, default=5.0,
                        help='--browser none: end once no socket is open and nothing happened for S seconds '
                        '(60 s at least while a page has not connected its socket yet)')
    record.add_argument('--port', type=int, default=0, help='the proxy port (default: a free one)')


def _live(entry: dict[str, Any]) -> None:
    """One line per page and per person's action as they are recorded (:func:`.session.describe_entry`)."""
    line = describe_entry(entry)
    if line is not None:
        print(f'  {line}', flush=True)


async def _record(args: argparse.Namespace) -> int:
    session = RecordSession(args.out, url=args.url, target_command=shlex.split(args.target) if args.target else None,
                            target_url=args.target_url, page=args.page, browser=args.browser, headed=args.headed,
                            compress_think_ms=args.compress_think_ms, force=args.force,
                            end_after_s=args.end_after_s, port=args.port)
    loop = asyncio.get_running_loop()
    interrupted = []

    def on_signal() -> None:
        interrupted.append(True)
        session.stop_event.set()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        session.recording.on_entry.append(_live)
        start_url = await session.start()
        if args.browser == 'none':
            print(f'recording: open {start_url} in your browser; close the tab (or press Ctrl+C) when done',
                  flush=True)
        else:
            print(f'recording: Chromium opened {start_url}; close its window (or press Ctrl+C) when done',
                  flush=True)
        await session.wait_until_done()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        scenario, raw = await session.finish()
    frames = sum(e['kind'] in ('ws_send', 'ws_recv') for e in session.recording.entries)
    print(f'recorded {len(session.recording.entries)} entries ({frames} socket.io frames): {raw}')
    if scenario is None:
        print('error: no NiceGUI page was recorded, so no scenario was written', file=sys.stderr)
    else:
        if args.target:  # its target.command is the one given here: trusted (simulator.trust)
            from ..trust import trust
            trust(scenario)
        print(f'scenario: {scenario}\nreplay it: clientsim play {scenario} --windows 50')
    if interrupted:
        print('interrupted', file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK if scenario is not None else EXIT_FAILED


def cmd_record(args: argparse.Namespace) -> int:
    """``clientsim record``; returns the exit code (see the module docstring)."""
    if bool(args.url) == bool(args.target):
        print('error: give the URL of a running app or --target COMMAND (one of them)', file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return asyncio.run(_record(args))
    except ClientsimError as e:
        print(f'error: {e}', file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:  # Ctrl+C before the signal handler was set
        print('interrupted', file=sys.stderr)
        return EXIT_INTERRUPTED
