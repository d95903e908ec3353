"""``clientsim load FILE [--users N] [--spawn-rate R] [--run-time T] [--workers W] [--host URL] [--set F=V ...]
[--feed-token TOKEN] [--csv PREFIX] [--html OUT.html]`` and ``clientsim locustfile``: options and printing around
:func:`clientsim.simulator.load.runner.run_load`. Exit code 0 when every Locust process exited 0, else 1."""
from __future__ import annotations

import argparse

from ..exit_codes import EXIT_FAILED, EXIT_OK
from .play import add_trust_flag


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``clientsim load`` and ``clientsim locustfile``."""
    p = sub.add_parser('load', help='load test: Locust master + local workers, every user a clientsim window')
    p.add_argument('file', metavar='FILE', help='load scenario (a path or a name in assets/scenarios/load/)')
    p.add_argument('--users', type=int, help='peak number of users (windows)')
    p.add_argument('--spawn-rate', type=float, help='users started per second')
    p.add_argument('--run-time', help='e.g. 15s, 1m30s')
    p.add_argument('--workers', type=int, default=1, help='local Locust workers (0: one process, no master)')
    p.add_argument('--host', help='target URL (default: start `clientsim serve` with the scenario policy, or a '
                        'recording\'s own app: its target.command)')
    p.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE',
                   help='override a policy field of the server this command starts')
    p.add_argument('--feed-token', metavar='TOKEN',
                   help='the error feed token of a `clientsim serve` given with --host (it prints it at start; '
                        'default: $CLIENTSIM_FEED_TOKEN); without --host a fresh token is made')
    p.add_argument('--csv', metavar='PREFIX', help="Locust's CSV files (PREFIX_stats.csv, ...)")
    p.add_argument('--html', metavar='OUT.html', help="Locust's HTML report")
    add_trust_flag(p)
    sub.add_parser('locustfile', help='print the path of the locustfile clientsim ships')


def run(args: argparse.Namespace) -> int:
    """``clientsim load``: prints the plan, the server's summary and each process's exit code."""
    from ..load.runner import run_load  # no Locust import: it runs in the child processes
    codes = run_load(args.file, users=args.users, spawn_rate=args.spawn_rate, run_time=args.run_time,
                     workers=args.workers, host=args.host, sets=args.set, csv=args.csv, html=args.html,
                     feed_token=args.feed_token, trust=args.trust, log=lambda line: print(line, flush=True))
    print('clientsim load: exit codes: ' + ', '.join(f'{n} {c}' for n, c in codes.items()), flush=True)
    return EXIT_OK if all(c == 0 for c in codes.values()) else EXIT_FAILED


def run_locustfile(_args: argparse.Namespace) -> int:
    """``clientsim locustfile``: print the shipped locustfile's path."""
    from ..load import LOCUSTFILE
    print(LOCUSTFILE)
    return EXIT_OK
