"""The engine of ``clientsim serve`` (the command: :mod:`clientsim.simulator.commands.serve`): the embedded server,
headless, until Ctrl+C (SIGINT) or SIGTERM.

``clientsim serve [--policy FILE.yaml] [--set FIELD=VALUE ...] [--host 127.0.0.1] [--port P]`` prints
``clientsim serve: http://host:port`` once it listens and, on exit, a summary: clients created and alive,
server errors by type.

``--policy`` reads a YAML mapping of :class:`clientsim.server.policy.ServerPolicy` fields, or any scenario file (play or
load) with a ``policy:`` block. ``--set`` values are YAML (``--set disconnect_guard=true``).

It also serves an **error feed** for load tests (:class:`ErrorFeed`): the socket.io namespace ``/clientsim``,
joined only with the run's token (``auth={'token': ...}``; ``clientsim load`` hands it to serve and its workers in
``CLIENTSIM_FEED_TOKEN``), answers ``claim_errors {prefix}`` with the server errors whose window name starts with
``prefix`` (or that no window could be named for), kept until the claimant sends ``ack_errors {ids}``, so every
Locust worker reports each error of its own windows once as a failure. ``pending_work {prefix}`` answers
``{sockets, deletes}``: the connected sockets of those windows and the pending delayed deletes, so a worker's
final claim can wait until the server is done with the windows it closed.
"""
from __future__ import annotations

import asyncio
import ctypes
import gc
import hmac
import itertools
import secrets
import signal
import time
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import socketio
import yaml
from pydantic import ValidationError

from clientsim.server.app import EmbeddedServer
from clientsim.server.connections import ConnectionLimits
from clientsim.server.policy import ServerPolicy
from clientsim.simulator.timeline import SERVER, Timeline, TimelineEvent

from .errors import BadInputError
from .event_kinds import EventKind

ERROR_FEED_NAMESPACE = '/clientsim'
#: the environment variable that carries the error feed's token to serve and to the load engines
FEED_TOKEN_ENV = 'CLIENTSIM_FEED_TOKEN'
LEASE_S = 30.0  # seconds a claimed, unacknowledged error stays with its claimant (ErrorFeed)
_SHED_KINDS = (EventKind.CONNECTION_REFUSED, EventKind.CONNECT_TIMEOUT, EventKind.HANDSHAKE_TIMEOUT)
_RELEASE_AFTER = 200  # connections closed since the last pass before freed memory is given back (see _trim)
_MAX_SIDS = 100_000  # sid → window names kept for attributing errors (oldest forgotten first)


class PolicyError(BadInputError, ValueError):
    """A bad ``--policy`` file or ``--set`` value; the message names the file or field."""


def read_policy(file: Optional[str], sets: list[str]) -> ServerPolicy:
    """The ServerPolicy from a YAML file (fields, or a scenario's ``policy:`` block) and ``FIELD=VALUE`` overrides.
    Raises :class:`PolicyError`."""
    fields: dict[str, Any] = {}
    if file:
        try:
            data = yaml.safe_load(Path(file).read_text(encoding='utf-8')) or {}
        except OSError as e:
            raise PolicyError(f'{file}: cannot read: {e.strerror or e}') from None
        except yaml.YAMLError as e:
            raise PolicyError(f'{file}: not valid YAML: {e}') from None
        if isinstance(data, dict) and ('policy' in data or 'steps' in data or 'load' in data):
            data = data.get('policy') or {}
        if not isinstance(data, dict):
            raise PolicyError(f'{file}: a policy is a mapping of ServerPolicy fields')
        fields.update(data)
    for item in sets:
        name, sep, value = item.partition('=')
        if not sep or not name:
            raise PolicyError(f'--set {item!r}: expected FIELD=VALUE')
        fields[name.strip()] = yaml.safe_load(value) if value else ''
    try:
        return ServerPolicy(**fields)
    except ValidationError as e:
        err = e.errors()[0]
        where = file or '--set'
        raise PolicyError(f"{where}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None


def _prefix(data: Any) -> str:
    """The window-name prefix of a feed request (``{'prefix': ...}``); '' for anything else."""
    return str(data.get('prefix') or '') if isinstance(data, dict) else ''


class ErrorFeed:
    """The error feed of a *started* server (``ErrorFeed(server, token).install()``; see the module): the
    ``/clientsim`` namespace, which only a connection whose ``auth`` is ``{'token': token}`` may join (any other
    is refused and recorded as ``feed_refused``), so a foreign socket cannot take a worker's errors.

    Errors are kept until acknowledged: ``claim_errors {prefix}`` answers the unclaimed errors of windows named
    ``prefix…`` (and those no window could be named for), each ``{id, type, message, where, window}``, and
    leases them to the claiming socket; it also answers what that socket already holds, so an answer lost to a
    cancelled or timed-out call comes back with its next claim. ``ack_errors {ids}`` forgets them. A lease
    returns its errors to the feed when its socket leaves, or after :data:`LEASE_S` seconds, so an error is lost
    only if no worker claims it again; a worker drops ids it already reported. ``pending`` holds what is
    neither claimed nor acknowledged, ``leased`` sid → {id: error}."""

    def __init__(self, server: EmbeddedServer, token: str) -> None:
        if not token:
            raise ValueError('the error feed needs a token')
        self.server, self.token = server, token
        self.pending: dict[int, dict[str, Any]] = {}
        self.leased: dict[str, dict[int, dict[str, Any]]] = {}
        self._lease_start: dict[str, float] = {}
        self._ids = itertools.count(1)
        self.claims = 0  # claim_errors calls answered
        self._sid_windows: OrderedDict[str, Optional[str]] = OrderedDict()

    def install(self) -> 'ErrorFeed':
        """Subscribe to the server's timeline and register the namespace's handlers; returns self."""
        self.server.timeline.subscribe(self._on_event)
        sio = self.server.sio
        for event, handler in (('connect', self._on_connect), ('disconnect', self._on_disconnect),
                               ('claim_errors', self._claim), ('ack_errors', self._ack),
                               ('pending_work', self._pending_work)):
            sio.on(event, handler, namespace=ERROR_FEED_NAMESPACE)
        return self

    def _on_event(self, event: TimelineEvent) -> None:
        if event.kind == EventKind.SOCKET_CONNECTED_SERVER and event.sid:
            self._sid_windows[event.sid] = event.window
            if len(self._sid_windows) > _MAX_SIDS:
                self._sid_windows.popitem(last=False)
        elif event.kind == EventKind.SERVER_ERROR:
            error_id = next(self._ids)
            self.pending[error_id] = {'id': error_id, 'type': event.detail.get('type'),
                                      'message': event.detail.get('message'), 'where': event.detail.get('where'),
                                      'window': self._sid_windows.get(event.sid or '')}

    def unclaimed(self) -> int:
        """Errors no worker has acknowledged (pending or leased)."""
        return len(self.pending) + sum(len(lease) for lease in self.leased.values())

    async def _on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        token = auth.get('token') if isinstance(auth, dict) else None
        if not isinstance(token, str) or not hmac.compare_digest(token.encode(), self.token.encode()):
            self.server.timeline.record(SERVER, EventKind.FEED_REFUSED, sid=sid,
                                        reason='no token' if token is None else 'wrong token')
            raise socketio.exceptions.ConnectionRefusedError('error feed: missing or wrong token')

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._release(sid)

    def _release(self, sid: str) -> None:
        """Give the errors leased to ``sid`` back to the feed (in id order)."""
        returned = self.leased.pop(sid, {})
        self._lease_start.pop(sid, None)
        if returned:
            self.pending = dict(sorted({**self.pending, **returned}.items()))

    async def _claim(self, sid: str, data: Any = None) -> list[dict[str, Any]]:
        self.claims += 1
        now = time.monotonic()
        for holder, started in list(self._lease_start.items()):
            if now - started > LEASE_S:
                self._release(holder)
        prefix = _prefix(data)
        mine = {i: e for i, e in self.pending.items() if e['window'] is None or str(e['window']).startswith(prefix)}
        for error_id in mine:
            del self.pending[error_id]
        if mine:
            self.leased.setdefault(sid, {}).update(mine)
            self._lease_start.setdefault(sid, now)
        # the claimant's own lease too: an answer it never got (a cancelled or timed-out call) is not lost
        return sorted(self.leased.get(sid, {}).values(), key=lambda e: e['id'])

    async def _ack(self, sid: str, data: Any = None) -> int:
        ids = data.get('ids') if isinstance(data, dict) else None
        lease = self.leased.get(sid, {})
        done = 0
        for error_id in ids if isinstance(ids, list) else []:
            if isinstance(error_id, int) and lease.pop(error_id, None) is not None:
                done += 1
        if not lease:
            self.leased.pop(sid, None)
            self._lease_start.pop(sid, None)
        return done

    async def _pending_work(self, sid: str, data: Any = None) -> dict[str, int]:
        """What may still produce errors: connected sockets of windows named ``prefix…`` and delayed deletes."""
        prefix = _prefix(data)
        server = self.server
        handlers = server.handlers
        sockets = sum(1 for s in handlers.sids if str(handlers.sid_windows.get(s) or '').startswith(prefix))
        # the delayed deletes (server/client.py names them 'delete CLIENT_ID DOCUMENT_ID'), also of pruned clients
        deletes = sum(1 for t in server.tasks if t.get_name().startswith('delete ') and not t.done())
        return {'sockets': sockets, 'deletes': deletes}


async def _trim(timeline: Timeline, server: EmbeddedServer, interval_s: float = 2.0) -> None:
    """Forget recorded events now and then: a headless server under load would otherwise grow without bound
    (listeners, such as the error feed and the summary, have seen them). When at least :data:`_RELEASE_AFTER`
    connections closed since the last pass (shed idle ones, a load test's end), also give freed memory back to the
    system (:func:`_give_back_memory`). Measured here: 1,000 never-CONNECTing engine.io sockets raise serve's RSS
    from 62 to 91 MB; once they are shed it falls to 87 MB with this and stays at 92 MB without, and a second
    flood of 1,000 peaks at the same 91 MB (the allocator reuses what it keeps; nothing leaks)."""
    peak = 0
    while True:
        await asyncio.sleep(interval_s)
        del timeline.events[:]
        open_now = server.open_connections()
        peak = max(peak, open_now)
        if peak - open_now >= _RELEASE_AFTER:
            _give_back_memory()
            peak = open_now


def _give_back_memory() -> None:
    """``gc.collect()``, then glibc's ``malloc_trim(0)`` (returns free heap pages to the system; skipped where the
    C library has none, e.g. musl or macOS)."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _closed_listener_retry_is_quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler in ``serve``: after accept() fails at the open-files limit, asyncio re-arms
    it 1 s later (CPython 3.11 ``selector_events._accept_connection``, ``ACCEPT_RETRY_DELAY``) even when the server
    was closed since, and that callback raises ``ValueError: Invalid file descriptor: -1`` at exit. That one is
    dropped; everything else goes to the default handler."""
    error = context.get('exception')
    if isinstance(error, ValueError) and '_start_serving' in str(context.get('message', '')) \
            and 'Invalid file descriptor: -1' in str(error):
        return
    loop.default_exception_handler(context)


async def serve(policy: ServerPolicy, host: str = '127.0.0.1', port: int = 0,
                stop: Optional[asyncio.Event] = None,
                on_listening: Optional[Callable[[str], None]] = None,
                allowed_hosts: Iterable[str] = (),
                limits: Optional[ConnectionLimits] = None, feed_token: str = '') -> dict[str, Any]:
    """Run the server until ``stop`` is set (or SIGINT/SIGTERM); ``on_listening(url)`` is called once it listens
    (``clientsim serve`` prints the URL). Returns the summary
    ``{'url', 'clients_created', 'clients_alive', 'errors': {type: count}, 'shed': {kind: count}}`` (``shed``:
    ``connection_refused``, ``connect_timeout``, ``handshake_timeout``). Raises OSError if the port is taken.
    ``allowed_hosts``: Host/Origin names accepted besides loopback (``EmbeddedServer(allowed_hosts=...)``).
    ``limits``: the connection bounds (:class:`clientsim.server.connections.ConnectionLimits`; default: its
    defaults, keep-alive 5 s, connect 45 s, cap from the open-files limit). ``feed_token``: the secret the error
    feed requires (:class:`ErrorFeed`); empty: a random one (``clientsim serve`` prints it)."""
    feed_token = feed_token or new_feed_token()
    timeline = Timeline()
    server = EmbeddedServer(policy=policy, timeline=timeline, host=host, port=port, allowed_hosts=allowed_hosts,
                            limits=limits or ConnectionLimits())
    created, errors, shed = Counter[str](), Counter[str](), Counter[str]()

    def count(event: TimelineEvent) -> None:
        if event.kind == EventKind.CLIENT_CREATED:
            created['clients'] += 1
        elif event.kind in _SHED_KINDS:
            shed[event.kind] += 1
        elif event.kind == EventKind.SERVER_ERROR:
            errors[str(event.detail.get('type'))] += 1
    timeline.subscribe(count)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(_closed_listener_retry_is_quiet)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await server.start()
    trim = asyncio.ensure_future(_trim(timeline, server))
    feed: Optional[ErrorFeed] = None
    try:
        feed = ErrorFeed(server, feed_token).install()
        if on_listening is not None:
            on_listening(url)
        await stop.wait()
    finally:
        trim.cancel()
        await asyncio.gather(trim, return_exceptions=True)
        alive = len(server.registry.instances)
        await server.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return {'url': url, 'clients_created': created['clients'], 'clients_alive': alive, 'errors': dict(errors),
            'shed': dict(shed), 'unclaimed': feed.unclaimed() if feed is not None else 0,
            'feed_used': bool(feed and feed.claims)}


def new_feed_token() -> str:
    """A random error-feed token (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def accepted_hosts_text(host: str, allowed: Iterable[str]) -> str:
    """Which Host/Origin values serve accepts (printed at start): loopback, the bind host when it is a name or
    address, and ``allowed``; for a wildcard bind without ``allowed`` it says that LAN requests get 403."""
    names = ['loopback (127.0.0.0/8, localhost, ::1)']
    names += [h for h in [host, *allowed] if h not in ('', '0.0.0.0', '::', '127.0.0.1', 'localhost', '::1')]
    text = ', '.join(dict.fromkeys(names))
    if host in ('', '0.0.0.0', '::') and not list(allowed):
        text += ('; other machines get 403 until you name the host or address they use: '
                 '--allowed-hosts NAME,IP')
    return text


def summary_text(summary: dict[str, Any]) -> str:
    """The exit summary: clients, server errors by type."""
    errors = ', '.join(f'{k} {v}' for k, v in sorted(summary['errors'].items())) or 'none'
    if summary.get('unclaimed') and summary.get('feed_used'):
        errors += f" ({summary['unclaimed']} not acknowledged by a load worker)"
    shed = ', '.join(f'{k} {v}' for k, v in sorted(summary.get('shed', {}).items()))
    return (f"clientsim serve stopped: clients created {summary['clients_created']}, alive at exit "
            f"{summary['clients_alive']}; server errors: {errors}" + (f'; connections shed: {shed}' if shed else ''))
