"""``clientsim serve [--policy FILE.yaml] [--set FIELD=VALUE ...] [--host 127.0.0.1] [--port P]``: prints
``clientsim serve: http://host:port`` once the server listens (``clientsim load`` reads that line) and the summary
at exit (:mod:`clientsim.simulator.serve` is the engine)."""
from __future__ import annotations

import argparse
import asyncio

from ..errors import BadInputError
from ..exit_codes import EXIT_OK
from ..log_limit import rate_limit
from ..serve import accepted_hosts_text, read_policy, serve, summary_text


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``clientsim serve``."""
    p = sub.add_parser('serve', help='run the embedded server headless until Ctrl+C')
    p.add_argument('--policy', metavar='FILE.yaml', help='ServerPolicy fields, or a scenario with a policy: block')
    p.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE', help='override a policy field')
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=0, help='0: a free port')
    p.add_argument('--allowed-hosts', default='', metavar='NAME,IP',
                   help='Host/Origin names accepted besides loopback, comma-separated (for serve on a LAN with '
                        '--host 0.0.0.0: the name or address the other machines use)')


def run(args: argparse.Namespace) -> int:
    """``clientsim serve``: 0 after Ctrl+C / SIGTERM. Raises :class:`BadInputError` for a bad policy
    (:class:`clientsim.simulator.serve.PolicyError`) or a port that cannot be bound."""
    policy = read_policy(args.policy, args.set)
    allowed = [h.strip() for h in args.allowed_hosts.split(',') if h.strip()]
    rate_limit()  # at the open-files limit asyncio logs every failed accept(): one line a second, with a count

    def listening(url: str) -> None:
        print(f'clientsim serve: {url}', flush=True)
        print(f'clientsim serve: accepts Host/Origin: {accepted_hosts_text(args.host, allowed)}', flush=True)
    try:
        summary = asyncio.run(serve(policy, args.host, args.port, on_listening=listening, allowed_hosts=allowed))
    except OSError as e:
        raise BadInputError(f'cannot listen on {args.host}:{args.port}: {e.strerror or e}') from None
    print(summary_text(summary), flush=True)
    return EXIT_OK
