"""``clientsim serve [--policy FILE.yaml] [--set FIELD=VALUE ...] [--host 127.0.0.1] [--port P]``: prints
``clientsim serve: http://host:port`` once the server listens (``clientsim load`` reads that line) and the summary
at exit (:mod:`clientsim.simulator.serve` is the engine)."""
from __future__ import annotations

import argparse
import asyncio

from ..errors import BadInputError
from ..exit_codes import EXIT_OK
from ..serve import read_policy, serve, summary_text


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``clientsim serve``."""
    p = sub.add_parser('serve', help='run the embedded server headless until Ctrl+C')
    p.add_argument('--policy', metavar='FILE.yaml', help='ServerPolicy fields, or a scenario with a policy: block')
    p.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE', help='override a policy field')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=0, help='0: a free port')


def run(args: argparse.Namespace) -> int:
    """``clientsim serve``: 0 after Ctrl+C / SIGTERM. Raises :class:`BadInputError` for a bad policy
    (:class:`clientsim.simulator.serve.PolicyError`) or a port that cannot be bound."""
    policy = read_policy(args.policy, args.set)
    try:
        summary = asyncio.run(serve(policy, args.host, args.port,
                                    on_listening=lambda url: print(f'clientsim serve: {url}', flush=True)))
    except OSError as e:
        raise BadInputError(f'cannot listen on {args.host}:{args.port}: {e.strerror or e}') from None
    print(summary_text(summary), flush=True)
    return EXIT_OK
