"""``clientsim serve [--policy FILE.yaml] [--set FIELD=VALUE ...] [--host 127.0.0.1] [--port P]``: prints
``clientsim serve: http://host:port`` once the server listens (``clientsim load`` reads that line) and the summary
at exit (:mod:`clientsim.simulator.serve` is the engine)."""
from __future__ import annotations

import argparse
import asyncio
import os

from clientsim.server.connections import ConnectionLimits, default_max_connections

from ..errors import BadInputError
from ..exit_codes import EXIT_OK
from ..log_limit import rate_limit
from ..serve import FEED_TOKEN_ENV, accepted_hosts_text, new_feed_token, read_policy, serve, summary_text


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
    p.add_argument('--keepalive-timeout', type=_positive, default=5.0, metavar='S',
                   help="close an HTTP connection idle (or still sending its request headers) this long; "
                        "default 5 s, uvicorn's")
    p.add_argument('--connect-timeout', type=_positive, default=45.0, metavar='S',
                   help="close a socket that has not joined a namespace or finished its handshake this long after "
                        "it opened; default 45 s, the Socket.IO server's connectTimeout")
    p.add_argument('--feed-token', default=os.environ.get(FEED_TOKEN_ENV, ''), metavar='TOKEN',
                   help=f'the secret the error feed (/clientsim) requires of load workers; default: '
                        f'${FEED_TOKEN_ENV}, else a random one, printed at start')
    p.add_argument('--max-connections', type=_at_least_one, default=None, metavar='N',
                   help='answer 503 to connections beyond N open ones; default: the open-files limit less a '
                        f'quarter, at most 256 (here {default_max_connections()})')


def _at_least_one(text: str) -> int:
    """An argparse type: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a whole number') from None
    if value < 1:
        raise argparse.ArgumentTypeError(f'{text!r}: must be at least 1')
    return value


def _positive(text: str) -> float:
    """An argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a number of seconds') from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f'{text!r}: must be more than 0 s')
    return value


def run(args: argparse.Namespace) -> int:
    """``clientsim serve``: 0 after Ctrl+C / SIGTERM. Raises :class:`BadInputError` for a bad policy
    (:class:`clientsim.simulator.serve.PolicyError`) or a port that cannot be bound."""
    policy = read_policy(args.policy, args.set)
    allowed = [h.strip() for h in args.allowed_hosts.split(',') if h.strip()]
    token = args.feed_token or new_feed_token()
    limits = ConnectionLimits(keepalive_timeout_s=args.keepalive_timeout, connect_timeout_s=args.connect_timeout,
                              max_connections=args.max_connections)
    rate_limit()  # at the open-files limit asyncio logs every failed accept(): one line a second, with a count

    def listening(url: str) -> None:
        print(f'clientsim serve: {url}', flush=True)
        print(f'clientsim serve: accepts Host/Origin: {accepted_hosts_text(args.host, allowed)}', flush=True)
        print(f'clientsim serve: closes idle connections after {limits.keepalive_timeout_s:g} s and sockets without '
              f'a handshake after {limits.connect_timeout_s:g} s; at most {limits.cap} connections', flush=True)
        if not args.feed_token:  # a token the user did not choose: they need it for `clientsim load --host`
            print(f'clientsim serve: error feed token {token} (clientsim load --feed-token, or ${FEED_TOKEN_ENV})',
                  flush=True)
    try:
        summary = asyncio.run(serve(policy, args.host, args.port, on_listening=listening, allowed_hosts=allowed,
                                    limits=limits, feed_token=token))
    except OSError as e:
        raise BadInputError(f'cannot listen on {args.host}:{args.port}: {e.strerror or e}') from None
    print(summary_text(summary), flush=True)
    return EXIT_OK
