"""The engine of ``clientsim serve`` (the command: :mod:`clientsim.simulator.commands.serve`): the embedded server,
headless, until Ctrl+C (SIGINT) or SIGTERM.

``clientsim serve [--policy FILE.yaml] [--set FIELD=VALUE ...] [--host 127.0.0.1] [--port P]`` prints
``clientsim serve: http://host:port`` once it listens and, on exit, a summary: clients created and alive,
server errors by type.

``--policy`` reads a YAML mapping of :class:`clientsim.server.policy.ServerPolicy` fields, or any scenario file (play or
load) with a ``policy:`` block. ``--set`` values are YAML (``--set disconnect_guard=true``).

It also serves an **error feed** for load tests (:func:`install_error_feed`): the socket.io namespace
``/clientsim`` answers ``claim_errors {prefix}`` with the server errors whose window name starts with
``prefix`` (or that no window could be named for), each handed out once, so every Locust worker reports the
errors of its own windows as failures. ``pending_work {prefix}`` answers ``{sockets, deletes}``: the connected
sockets of those windows and the pending delayed deletes, so a worker's final claim can wait until the server is
done with the windows it closed.
"""
from __future__ import annotations

import asyncio
import ctypes
import gc
import signal
from collections import Counter, OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import yaml
from pydantic import ValidationError

from clientsim.server.app import EmbeddedServer
from clientsim.server.connections import ConnectionLimits
from clientsim.server.policy import ServerPolicy
from clientsim.simulator.timeline import Timeline, TimelineEvent

from .errors import BadInputError
from .event_kinds import EventKind

ERROR_FEED_NAMESPACE = '/clientsim'
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


def install_error_feed(server: EmbeddedServer) -> list[dict[str, Any]]:
    """Serve ``claim_errors`` on the ``/clientsim`` namespace of a *started* server; returns the list of errors
    not yet claimed (``{type, message, where, window}``), which the feed empties as workers claim them."""
    pending: list[dict[str, Any]] = []
    sid_windows: OrderedDict[str, Optional[str]] = OrderedDict()

    def on_event(event: TimelineEvent) -> None:
        if event.kind == EventKind.SOCKET_CONNECTED_SERVER and event.sid:
            sid_windows[event.sid] = event.window
            if len(sid_windows) > _MAX_SIDS:
                sid_windows.popitem(last=False)
        elif event.kind == EventKind.SERVER_ERROR:
            pending.append({'type': event.detail.get('type'), 'message': event.detail.get('message'),
                            'where': event.detail.get('where'), 'window': sid_windows.get(event.sid or '')})
    server.timeline.subscribe(on_event)

    async def claim_errors(sid: str, data: Any = None) -> list[dict[str, Any]]:
        prefix = str((data or {}).get('prefix') or '') if isinstance(data, dict) else ''
        mine = [e for e in pending if e['window'] is None or str(e['window']).startswith(prefix)]
        pending[:] = [e for e in pending if e not in mine]
        return mine
    async def pending_work(sid: str, data: Any = None) -> dict[str, int]:
        """What may still produce errors: connected sockets of windows named ``prefix…`` and delayed deletes."""
        prefix = str((data or {}).get('prefix') or '') if isinstance(data, dict) else ''
        handlers = server.handlers
        sockets = sum(1 for s in handlers.sids if str(handlers.sid_windows.get(s) or '').startswith(prefix))
        # the delayed deletes (server/client.py names them 'delete CLIENT_ID DOCUMENT_ID'), also of pruned clients
        deletes = sum(1 for t in server.tasks if t.get_name().startswith('delete ') and not t.done())
        return {'sockets': sockets, 'deletes': deletes}
    server.sio.on('claim_errors', claim_errors, namespace=ERROR_FEED_NAMESPACE)
    server.sio.on('pending_work', pending_work, namespace=ERROR_FEED_NAMESPACE)
    return pending


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
                limits: Optional[ConnectionLimits] = None) -> dict[str, Any]:
    """Run the server until ``stop`` is set (or SIGINT/SIGTERM); ``on_listening(url)`` is called once it listens
    (``clientsim serve`` prints the URL). Returns the summary
    ``{'url', 'clients_created', 'clients_alive', 'errors': {type: count}, 'shed': {kind: count}}`` (``shed``:
    ``connection_refused``, ``connect_timeout``, ``handshake_timeout``). Raises OSError if the port is taken.
    ``allowed_hosts``: Host/Origin names accepted besides loopback (``EmbeddedServer(allowed_hosts=...)``).
    ``limits``: the connection bounds (:class:`clientsim.server.connections.ConnectionLimits`; default: its
    defaults, keep-alive 5 s, connect 45 s, cap from the open-files limit)."""
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
    try:
        install_error_feed(server)
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
            'shed': dict(shed)}


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
    shed = ', '.join(f'{k} {v}' for k, v in sorted(summary.get('shed', {}).items()))
    return (f"clientsim serve stopped: clients created {summary['clients_created']}, alive at exit "
            f"{summary['clients_alive']}; server errors: {errors}" + (f'; connections shed: {shed}' if shed else ''))
