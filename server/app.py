"""EmbeddedServer: aiohttp + python-socketio speaking NiceGUI 2.x's wire protocol on 127.0.0.1.

Modelled on NiceGUI 2.11.0 ``nicegui/app/app.py`` (the app's start/stop lifecycle) and ``nicegui/core.py``
(the one object that holds ``sio`` and the loop). This module owns the parts and wires them together; it holds
no protocol logic of its own:

* :class:`clientsim.server.handlers.SocketHandlers` — the socket.io and page-GET handlers (NiceGUI ``nicegui.py``);
* :class:`clientsim.server.client.ClientRegistry` — clients, delayed delete, prune; each client has an
  :class:`clientsim.server.outbox.Outbox`;
* :class:`clientsim.server.downloads.SingleUseRoutes`, :class:`clientsim.server.jobs.JobManager`,
  :class:`clientsim.server.binding.BindingRegistry`, :class:`clientsim.server.counter.ModelCounter`.

The parts see the server as a :class:`clientsim.server.context.ServerContext` (or the wider ``PageContext`` /
``HandlerContext``), never import this module, and start their background tasks on ``self.tasks``.
Safety: every HTTP request (pages, routes, the socket.io endpoint) must carry a loopback ``Host`` and, when it
has one, a loopback ``Origin`` (:func:`host_allowed`), else it gets 403 and a ``request_refused`` event — so a
web page the user visits cannot drive the server through DNS rebinding; ``allowed_hosts`` adds names. CORS
allows only those origins (python-engineio ``cors_allowed_origins`` as a callable), never ``'*'``.
``SOCKETIO_PATH`` is re-exported from :mod:`clientsim.server.wire` for ``from server.app import SOCKETIO_PATH``.
"""
from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import random
import traceback
import urllib.parse
from collections import Counter
from typing import Any, Callable, Iterable, Optional

import socketio
from aiohttp import web

from clientsim.simulator.tasks import TaskGroup, lean_engineio
from clientsim.simulator.timeline import SERVER, Timeline

from . import lean_socket
from .binding import BindingRegistry
from .client import Client, ClientRegistry
from .connections import CappedSite, ConnectionLimits, ConnectTimeouts
from .counter import ModelCounter
from .downloads import ROUTE_PREFIX, SingleUseRoutes
from .handlers import SocketHandlers
from .jobs import JobManager
from .pages import DEFAULT_PAGES, PageSpec, page_kind
from .pings import PingTimers, is_send_ping
from .policy import ServerPolicy
from .wire import SOCKETIO_PATH, WINDOW_QUERY

__all__ = ['EmbeddedServer', 'SOCKETIO_PATH', 'WINDOW_QUERY']

log = logging.getLogger('clientsim.server')

LOOPBACK_HOSTS = frozenset({'127.0.0.1', 'localhost', '::1'})
"""Host names the server accepts in ``Host`` and ``Origin`` without being told (see :func:`host_allowed`)."""


def host_allowed(value: Optional[str], allowed: Iterable[str] = ()) -> bool:
    """Whether a ``Host`` header (``name[:port]``, ``[::1]:port``) or an ``Origin`` (``scheme://name[:port]``)
    names a loopback host (:data:`LOOPBACK_HOSTS`, any ``127.x.y.z``) or one of ``allowed``. None or '' → False."""
    if not value:
        return False
    hostname, loopback = _host_of(value)
    return loopback or (hostname is not None and hostname in set(allowed))


@functools.lru_cache(maxsize=256)
def _host_of(value: str) -> tuple[Optional[str], bool]:
    """``(hostname or None, is loopback)`` of a Host/Origin value; cached, as every request of a run sends the
    same few values (one ``urlsplit`` per distinct value instead of two per window)."""
    try:
        hostname = urllib.parse.urlsplit(value if '://' in value else f'//{value}').hostname
    except ValueError:  # e.g. an unbalanced '[' in the header
        return None, False
    if not hostname:
        return None, False
    if hostname in LOOPBACK_HOSTS:
        return hostname, True
    try:
        return hostname, ipaddress.ip_address(hostname).is_loopback
    except ValueError:  # a name, not an address
        return hostname, False


class LeanAsyncServer(socketio.AsyncServer):
    """python-socketio 5.x ``AsyncServer`` on an engine.io server whose per-socket send queue and events are
    :class:`~clientsim.simulator.tasks.LeanQueue` / :class:`~clientsim.simulator.tasks.LeanEvent` (issue 24: ~3 KB
    less per connected socket and no ``Queue.get`` task per socket; the wire protocol is unchanged), and whose
    websockets have no reader or writer task asleep (:func:`clientsim.server.lean_socket.install`, ~2.6–2.8 KB
    less per socket)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.untasked_websockets = lean_socket.install(self.eio)  # False: python-engineio's own handler serves

    def _engineio_server_class(self) -> type:
        return lean_engineio(super()._engineio_server_class())


class EmbeddedServer:
    """The embedded NiceGUI-protocol server.

    ``EmbeddedServer(policy=ServerPolicy(...), timeline=Timeline())``; ``await start()`` returns the base URL
    (``http://127.0.0.1:<free port>``); ``await stop()`` closes every socket and route. Start and stop may be
    repeated. ``errors`` lists every recorded server error as a dict (``type``, ``message``, ``where``,
    ``traceback``, ``t_ns``). Must be started and stopped inside a running asyncio loop.

    ``allowed_hosts``: host names accepted in ``Host`` / ``Origin`` besides loopback (default none: only
    127.0.0.1, localhost and ::1; see :func:`host_allowed`).

    Hooks: ``delete_hooks`` (``hook(client)`` on every delete), ``handshake_hooks`` (``await hook(client, sid)``
    after a successful handshake), ``disconnect_hooks`` (``hook(client, sid)`` after ``handle_disconnect``).
    For the GUI: ``models_created`` / ``models_finalized`` (ints) and :meth:`models_alive` count the per-client
    models of the ``/counter`` page (a ``models`` timeline event is recorded on every change; the counting is
    ``models``, a :class:`ModelCounter`); ``bindings`` is the :class:`clientsim.server.binding.BindingRegistry`;
    ``jobs`` the :class:`clientsim.server.jobs.JobManager` of ``/convert``; ``tab_storage`` maps tab_id → dict (NiceGUI
    ``app.storage.tab``); ``tasks`` is the :class:`TaskGroup` every background task of the server runs in.
    ``seed`` (any hashable, None: from the OS) seeds ``rng``, the generator of every random draw of the
    server (when a single-use route is removed, :class:`clientsim.server.removal.RemovalModel`); ``rng.seed(x)``
    re-seeds it.
    """

    def __init__(self, policy: ServerPolicy | None = None, timeline: Timeline | None = None,
                 host: str = '127.0.0.1', port: int = 0, seed: Any = None,
                 allowed_hosts: Iterable[str] = (), limits: Optional[ConnectionLimits] = None) -> None:
        self._policy = policy or ServerPolicy()
        #: the bounds ``clientsim serve`` puts on connections (:mod:`clientsim.server.connections`); None: aiohttp's
        #: defaults and no cap, as the lab's own windows need none
        self.limits = limits
        self._connect_timeouts: Optional[ConnectTimeouts] = None
        #: every random draw of the server (single-use route removal) comes from here; ``seed`` fixes them
        self.rng = random.Random(seed)
        self.timeline = timeline or Timeline()
        self.host, self.port = host, port
        #: host names accepted in Host/Origin besides loopback (the bind host is added when it is a name)
        self.allowed_hosts: set[str] = set(allowed_hosts) | ({host} if host not in ('', '0.0.0.0', '::') else set())
        self.pages: dict[str, PageSpec] = {p.route: p for p in DEFAULT_PAGES}
        self.delete_hooks: list[Callable[[Client], None]] = []
        self.handshake_hooks: list[Callable[[Client, str], Any]] = []
        self.disconnect_hooks: list[Callable[[Client, str], None]] = []
        self.errors: list[dict[str, Any]] = []
        self.url: Optional[str] = None
        self.tasks = TaskGroup('server')
        self.tab_storage: dict[str, dict[str, Any]] = {}
        self.registry = ClientRegistry(self)
        self.downloads = SingleUseRoutes(self, self.rng)
        self.bindings = BindingRegistry(lambda: self.policy.bindable_registry)
        self.models = ModelCounter(self)
        self.jobs = JobManager(self, self.registry)
        self.handlers = SocketHandlers(self)
        self.delete_hooks.append(lambda client: self.bindings.remove_tag(client.id))
        self.delete_hooks.append(self.jobs.on_delete)
        self.delete_hooks.append(self.downloads.on_client_delete)
        self.handshake_hooks.append(self.jobs.on_handshake)
        self.disconnect_hooks.append(self.jobs.on_disconnect)
        self.sio: socketio.AsyncServer
        self._runner: Optional[web.AppRunner] = None
        self._prune_task: Optional[asyncio.Task] = None
        self._pings: Optional[PingTimers] = None  # made by start()
        self._shared_clients: dict[str, Client] = {}

    # ---- policy ---------------------------------------------------------------------------------------------
    @property
    def policy(self) -> ServerPolicy:
        """The live :class:`ServerPolicy`. Assigning a new one also applies its engine.io ping timings."""
        return self._policy

    @policy.setter
    def policy(self, policy: ServerPolicy) -> None:
        self._policy = policy
        self._apply_transport_policy()

    def _apply_transport_policy(self) -> None:
        """Set engine.io ``ping_interval`` / ``ping_timeout`` (s) from the policy; python-engineio reads them at
        every ping, so running sockets follow on their next ping."""
        sio = getattr(self, 'sio', None)
        if sio is not None:
            sio.eio.ping_interval = self._policy.ping_interval_s
            sio.eio.ping_timeout = self._policy.ping_timeout_s

    def set_policy(self, **fields: Any) -> ServerPolicy:
        """Change policy fields live (validated; raises pydantic.ValidationError). Returns the new policy."""
        self.policy = self.policy.model_copy(update={})
        for name, value in fields.items():
            setattr(self.policy, name, value)
        self._apply_transport_policy()
        self.timeline.record(SERVER, 'policy_changed', **fields)
        return self.policy

    # ---- per-client models (problem 4), counted by self.models -------------------------------------------
    @property
    def models_created(self) -> int:
        """Per-client models (``/counter``) created since start."""
        return self.models.created

    @property
    def models_finalized(self) -> int:
        """Per-client models garbage-collected since start (their ``weakref.finalize`` ran)."""
        return self.models.finalized

    def models_alive(self) -> int:
        """Per-client models (``/counter``) created and not yet garbage-collected."""
        return self.models.alive()

    def track_model(self, model: Any, client: Client) -> None:
        """Count ``model`` of ``client`` (see :meth:`clientsim.server.counter.ModelCounter.track`)."""
        self.models.track(model, client)

    # ---- lifecycle ------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    def open_connections(self) -> int:
        """HTTP connections open now (aiohttp's ``web.Server.connections``; a websocket is one); 0 when stopped."""
        server = self._runner.server if self._runner is not None else None
        return len(server.connections) if server is not None else 0

    @property
    def sids(self) -> set[str]:
        """The connected sids (kept by :class:`SocketHandlers`)."""
        return self.handlers.sids

    async def start(self) -> str:
        """Listen on ``host`` (a free port when ``port`` is 0) and return the base URL. Raises RuntimeError if
        already running, OSError if the port cannot be bound."""
        if self._runner is not None:
            raise RuntimeError('server already running')
        self.sio = LeanAsyncServer(async_mode='aiohttp', cors_allowed_origins=self._origin_allowed, logger=False,
                                  engineio_logger=False, ping_interval=self.policy.ping_interval_s,
                                  ping_timeout=self.policy.ping_timeout_s)
        self.models.loop = asyncio.get_running_loop()
        self._track_engineio_tasks()
        self._guard_undecodable_packets()
        self.models.reset()  # a (re)started server counts its own models and bindings only
        self.bindings.clear()
        self.jobs.reset()  # a (re)started server starts with no jobs, checkpoints or tab storage
        self.tab_storage.clear()
        self.handlers.register(self.sio)
        if self.limits is not None:
            self._connect_timeouts = ConnectTimeouts(
                self.sio, self.limits.connect_timeout_s, handshaked=lambda sid: sid in self.handlers.sid_clients,
                record=self._record_timeout, shed=self.handlers.shed.add,
                spawn=lambda coro: self.tasks.spawn(coro, name='connect timeout'))
            self._connect_timeouts.install()
        app = web.Application(middlewares=[self._check_host])
        self.sio.attach(app, socketio_path=SOCKETIO_PATH)
        app.router.add_get(ROUTE_PREFIX + '/{key}/{name}', self.downloads.handle)
        app.router.add_get('/{path:.*}', self.handlers.on_page_get)
        limits = self.limits
        keepalive = {'keepalive_timeout': limits.keepalive_timeout_s} if limits is not None else {}
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5, **keepalive)
        await runner.setup()
        site = (web.TCPSite(runner, self.host, self.port) if limits is None else
                CappedSite(runner, self.host, self.port, max_connections=limits.cap, on_refused=self._record_refusal))
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        self.url = f'http://{self.host}:{port}'
        self._shared_clients = {}
        for spec in self.pages.values():
            if spec.shared:
                self._shared_clients[spec.route] = self._create_client(spec)
        self._prune_task = self.tasks.spawn(self.registry.prune_loop(), name='prune')
        self.timeline.record(SERVER, 'server_started', url=self.url)
        return self.url

    async def stop(self) -> None:
        """Disconnect every socket, cancel and await every background task (prune, pending deletes, jobs,
        engine.io pings), drop routes and clients, close the port. Safe to call when not running."""
        if self._runner is None:
            return
        if self._connect_timeouts is not None:
            self._connect_timeouts.cancel_all()
            self._connect_timeouts = None
        if self._prune_task is not None:
            self._prune_task.cancel()
            await asyncio.gather(self._prune_task, return_exceptions=True)
            self._prune_task = None
        for sid in list(self.sids):
            try:
                await self.sio.disconnect(sid)
            except Exception:  # socket already gone
                pass
        await self.sio.shutdown()
        for client in list(self.registry.instances.values()):
            client.cancel_all_tasks()
        self.jobs.stop()
        if self._pings is not None:
            self._pings.cancel_all()
        await self.tasks.cancel_all()
        self.registry.instances.clear()
        self.downloads.close()
        runner, self._runner = self._runner, None
        self.handlers.sid_windows.clear()
        await runner.cleanup()
        self.handlers.clear()
        self.timeline.record(SERVER, 'server_stopped', url=self.url)
        if self.errors:  # one INFO line for the run (reports, tables and serve's summary show them); each at DEBUG
            by_type = Counter(e['type'] for e in self.errors)
            log.info('%d server error(s) on %s: %s (see the report / timeline)', len(self.errors), self.url,
                        ', '.join(f'{t}: {n}' for t, n in by_type.most_common()))

    # ---- safety: Host/Origin check, undecodable packets -------------------------------------------------------
    def _origin_allowed(self, origin: Optional[str], environ: Any = None) -> bool:
        """CORS for socket.io (python-engineio calls it with the request's Origin): loopback or allowed only."""
        return host_allowed(origin, self.allowed_hosts)

    @web.middleware
    async def _check_host(self, request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        """403 for a request whose Host, or Origin when present, is not loopback or in ``allowed_hosts``
        (DNS rebinding); records ``request_refused``."""
        host, origin = request.headers.get('Host'), request.headers.get('Origin')
        if not host_allowed(host, self.allowed_hosts) or (origin is not None
                                                           and not host_allowed(origin, self.allowed_hosts)):
            self.timeline.record(SERVER, 'request_refused', path=request.path[:200], host=str(host)[:200],
                                 origin=str(origin)[:200], status=403)
            return web.Response(status=403, text='403: only loopback Host and Origin are accepted',
                                content_type='text/plain')
        return await handler(request)

    def _guard_undecodable_packets(self) -> None:
        """Wrap python-socketio's engine.io ``message`` handler: a socket.io packet it cannot decode (bad JSON, an
        unknown packet type, an unexpected binary packet) is recorded as ``bad_message`` (``event`` is
        ``(undecodable)``) instead of python-engineio logging a traceback."""
        eio = self.sio.eio
        handle = eio.handlers['message']

        async def guarded(eio_sid: str, data: Any) -> Any:
            try:
                return await handle(eio_sid, data)
            except Exception as e:
                sid = self.sio.manager.sid_from_eio_sid(eio_sid, '/')
                self.handlers.bad_message(sid, '(undecodable)', data, f'{type(e).__name__}: {str(e)[:100]}')
        eio.handlers['message'] = guarded

    def _track_engineio_tasks(self) -> None:
        """Track every task engineio/socketio start (handlers) in ``self.tasks`` so :meth:`stop` can cancel what
        is left, and arm each socket's next PING as a timer of :class:`~clientsim.server.pings.PingTimers`, which
        :meth:`stop` cancels: engineio 4.x's own ``AsyncSocket._send_ping`` is a task per socket asleep for
        ``ping_interval`` (25 s), ~1 KB each (issue 24)."""
        eio = self.sio.eio
        start = eio.start_background_task
        self._pings = pings = PingTimers(eio, self.tasks.spawn)

        def tracked(target: Any, *args: Any, **kwargs: Any) -> Any:
            if is_send_ping(target, args, kwargs):  # a timer, not a task asleep per socket (clientsim.server.pings)
                return pings.schedule(target.__self__)
            return self.tasks.track(start(target, *args, **kwargs))
        eio.start_background_task = tracked  # type: ignore[method-assign]

    def _record_timeout(self, kind: str, eio_sid: str, sid: Optional[str]) -> None:
        """A socket closed by ``limits.connect_timeout_s`` (``connect_timeout`` / ``handshake_timeout``)."""
        self.timeline.record(SERVER, kind, window=self.handlers.window_of(sid) if sid else None, sid=sid,
                             eio_sid=eio_sid, timeout_s=self.limits.connect_timeout_s if self.limits else None)

    def _record_refusal(self, open_count: int, cap: int) -> None:
        """A connection over the cap (``limits.max_connections``), answered 503: an event, and a warning
        (``clientsim serve`` rate-limits its log to one line a second per kind)."""
        self.timeline.record(SERVER, 'connection_refused', open=open_count, cap=cap)
        log.warning('connection refused with 503: %d connections open, the cap is %d (--max-connections)',
                    open_count, cap)

    # ---- what the parts call back (ServerContext) ------------------------------------------------------------
    def record_error(self, exc: BaseException, *, where: str, sid: str | None = None,
                     client_id: str | None = None) -> None:
        """Log and record a handler exception as ``server_error`` (type, message, traceback). Never raises."""
        tb = ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        error = {'type': type(exc).__name__, 'message': str(exc), 'where': where, 'traceback': tb}
        event = self.timeline.record(SERVER, 'server_error', sid=sid, client_id=client_id, **error)
        self.errors.append({**error, 't_ns': event.t_ns, 'sid': sid, 'client_id': client_id})
        log.info('server error in %s: %s: %s', where, type(exc).__name__, exc)  # a summary line at stop()
        log.debug('%s', tb)

    async def emit(self, event: str, payload: dict, room: str) -> None:
        """``sio.emit(event, payload, room=room)`` on the running socket.io server (``room``: a sid or a
        client_id). Raises AttributeError before the first start."""
        await self.sio.emit(event, payload, room=room)

    def get_environ(self, sid: str) -> Optional[dict]:
        """The socket's WSGI-style environ, or None (fault injection); see :meth:`SocketHandlers.get_environ`."""
        return self.handlers.get_environ(sid)

    # ---- pages ----------------------------------------------------------------------------------------------
    def _create_client(self, spec: PageSpec) -> Client:
        client = self.registry.create(page_kind(spec), spec.route)
        spec.build(self, client)
        return client

    def client_for_page(self, spec: PageSpec) -> Client:
        """The client a GET of ``spec.route`` renders: the page's shared client (recreated if it was deleted),
        or a new client for a private page. Errors of the page's builder propagate."""
        client = self._shared_clients.get(spec.route) if spec.shared else None
        if client is None or client.id not in self.registry.instances:
            client = self._create_client(spec)
            if spec.shared:
                self._shared_clients[spec.route] = client
        return client
