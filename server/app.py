"""EmbeddedServer: aiohttp + python-socketio speaking NiceGUI 2.x's wire protocol on 127.0.0.1.

Socket handlers are small ``_on_*`` functions that delegate to :class:`server.client.Client` methods, as in
NiceGUI 2.11.0 ``nicegui/nicegui.py``. Every handler runs inside :meth:`EmbeddedServer._guard`: an exception
(such as the 2.11.0 KeyError) is logged, recorded on the timeline as ``server_error`` with its type and
traceback, and the server keeps serving.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
import urllib.parse
import weakref
from typing import Any, Callable, Optional

import socketio
from aiohttp import web

from simulator.timeline import SERVER, Timeline, now_ns

from .binding import BindingRegistry
from .client import Client, ClientRegistry
from .downloads import ROUTE_PREFIX, SingleUseRoutes
from .jobs import JobManager
from .pages import DEFAULT_PAGES, PageSpec, page_kind, render_page
from .policy import ServerPolicy

log = logging.getLogger('clientsim.server')

SOCKETIO_PATH = '/_nicegui_ws/socket.io'
WINDOW_QUERY = 'clientsim_window'
"""Extra query parameter a simulated browser adds so server events can name the window (NiceGUI ignores it)."""


class EmbeddedServer:
    """The embedded NiceGUI-protocol server.

    ``EmbeddedServer(policy=ServerPolicy(...), timeline=Timeline())``; ``await start()`` returns the base URL
    (``http://127.0.0.1:<free port>``); ``await stop()`` closes every socket and route. Start and stop may be
    repeated. ``errors`` lists every recorded server error as a dict (``type``, ``message``, ``where``,
    ``traceback``, ``t_ns``). Must be started and stopped inside a running asyncio loop.

    Hooks: ``delete_hooks`` (``hook(client)`` on every delete), ``handshake_hooks`` (``await hook(client, sid)``
    after a successful handshake), ``disconnect_hooks`` (``hook(client, sid)`` after ``handle_disconnect``).
    For the GUI: ``models_created`` / ``models_finalized`` (ints) and :meth:`models_alive` count the per-client
    models of the ``/counter`` page (a ``models`` timeline event is recorded on every change); ``bindings`` is
    the :class:`server.binding.BindingRegistry`; ``jobs`` the :class:`server.jobs.JobManager` of ``/convert``;
    ``tab_storage`` maps tab_id → dict (NiceGUI ``app.storage.tab``).
    """

    def __init__(self, policy: ServerPolicy | None = None, timeline: Timeline | None = None,
                 host: str = '127.0.0.1', port: int = 0) -> None:
        self._policy = policy or ServerPolicy()
        self.timeline = timeline or Timeline()
        self.host, self.port = host, port
        self.pages: dict[str, PageSpec] = {p.route: p for p in DEFAULT_PAGES}
        self.delete_hooks: list[Callable[[Client], None]] = []
        self.errors: list[dict[str, Any]] = []
        self.sids: set[str] = set()
        self.url: Optional[str] = None
        self.registry = ClientRegistry(self)
        self.downloads = SingleUseRoutes(self)
        self.handshake_hooks: list[Callable[[Client, str], Any]] = []
        self.disconnect_hooks: list[Callable[[Client, str], None]] = []
        self.bindings = BindingRegistry(lambda: self.policy.bindable_registry)
        self.models_created = 0
        self.models_finalized = 0
        self._finalizers: list[weakref.finalize] = []
        self.jobs = JobManager(self)
        self.tab_storage: dict[str, dict[str, Any]] = {}
        self.delete_hooks.append(lambda client: self.bindings.remove_tag(client.id))
        self.delete_hooks.append(self.jobs.on_delete)
        self.handshake_hooks.append(self.jobs.on_handshake)
        self.disconnect_hooks.append(self.jobs.on_disconnect)
        self._sid_windows: dict[str, Optional[str]] = {}
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self.sio: socketio.AsyncServer
        self._runner: Optional[web.AppRunner] = None
        self._prune_task: Optional[asyncio.Task] = None
        self._shared_clients: dict[str, Client] = {}
        self._background: set[asyncio.Task] = set()

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

    # ---- per-client models (problem 4) ----------------------------------------------------------------------
    def models_alive(self) -> int:
        """Per-client models (``/counter``) created and not yet garbage-collected."""
        return self.models_created - self.models_finalized

    def track_model(self, model: Any, client: Client) -> None:
        """Count ``model`` and register a ``weakref.finalize`` that records ``model_finalized`` (the evidence of
        NiceGUI #4109's fix: the finalizer fires once the client is gone). Records ``models``."""
        self.models_created += 1
        finalizer = weakref.finalize(model, self._on_model_finalized, getattr(model, 'model_id', None), client.id)
        finalizer.atexit = False
        self._finalizers.append(finalizer)
        self._record_models()

    def _on_model_finalized(self, model_id: Any, client_id: str) -> None:
        # runs inside the garbage collector: count now, record on the loop (never re-enter the timeline here)
        self.models_finalized += 1
        t_ns = now_ns()
        alive, finalized, created = self.models_alive(), self.models_finalized, self.models_created

        def record() -> None:
            self.timeline.record(SERVER, 'model_finalized', client_id=client_id, t_ns=t_ns, model_id=model_id)
            self.timeline.record(SERVER, 'models', t_ns=t_ns, alive=alive, finalized=finalized, created=created)
        try:
            (self._loop or asyncio.get_running_loop()).call_soon_threadsafe(record)
        except RuntimeError:  # no loop any more (after stop): the counts are still right
            pass

    def _reset_models(self) -> None:
        """A (re)started server counts its own models only: detach the finalizers of an earlier run (their
        models may still be held by a strong registry of that run) and forget its bindings."""
        for finalizer in self._finalizers:
            finalizer.detach()
        self._finalizers.clear()
        self.bindings.clear()
        self.models_created = self.models_finalized = 0

    def _record_models(self) -> None:
        self.timeline.record(SERVER, 'models', alive=self.models_alive(), finalized=self.models_finalized,
                             created=self.models_created)

    # ---- lifecycle ------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the server is listening."""
        return self._runner is not None

    async def start(self) -> str:
        """Listen on ``host`` (a free port when ``port`` is 0) and return the base URL. Raises RuntimeError if
        already running, OSError if the port cannot be bound."""
        if self._runner is not None:
            raise RuntimeError('server already running')
        self.sio = socketio.AsyncServer(async_mode='aiohttp', cors_allowed_origins='*', logger=False,
                                        engineio_logger=False, ping_interval=self.policy.ping_interval_s,
                                        ping_timeout=self.policy.ping_timeout_s)
        self._loop = asyncio.get_running_loop()
        self._track_background_tasks()
        self._reset_models()
        self.jobs.reset()  # a (re)started server starts with no jobs, checkpoints or tab storage
        self.tab_storage.clear()
        self._register_socket_handlers()
        app = web.Application()
        self.sio.attach(app, socketio_path=SOCKETIO_PATH)
        app.router.add_get(ROUTE_PREFIX + '/{key}/{name}', self.downloads.handle)
        app.router.add_get('/{path:.*}', self._on_page_get)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        self._runner = runner
        port = runner.addresses[0][1]
        self.url = f'http://{self.host}:{port}'
        self._shared_clients = {}
        for spec in self.pages.values():
            if spec.shared:
                self._shared_clients[spec.route] = self._create_client(spec)
        self._prune_task = asyncio.ensure_future(self.registry.prune_loop())
        self.timeline.record(SERVER, 'server_started', url=self.url)
        return self.url

    async def stop(self) -> None:
        """Disconnect every socket, cancel prune and pending deletes, drop routes and clients, close the port.
        Safe to call when not running."""
        if self._runner is None:
            return
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
        background = [t for t in self._background if not t.done()]
        for task in background:  # e.g. engineio's per-socket _send_ping, asleep for ping_interval
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        for client in list(self.registry.instances.values()):
            client.cancel_all_tasks()
        self.registry.instances.clear()
        self.downloads.close()
        self.jobs.stop()
        self._sid_windows.clear()
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self.sids.clear()
        self.timeline.record(SERVER, 'server_stopped', url=self.url)

    def _track_background_tasks(self) -> None:
        """Keep every task engineio/socketio start (handlers, per-socket pings) so :meth:`stop` can cancel what
        is left: engineio 4.x ``AsyncSocket._send_ping`` sleeps ``ping_interval`` (25 s) before it notices the
        socket closed, and would otherwise be destroyed pending when the loop closes."""
        eio = self.sio.eio
        start = eio.start_background_task

        def tracked(target: Any, *args: Any, **kwargs: Any) -> asyncio.Task:
            task = start(target, *args, **kwargs)
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return task
        eio.start_background_task = tracked  # type: ignore[method-assign]

    def set_policy(self, **fields: Any) -> ServerPolicy:
        """Change policy fields live (validated; raises pydantic.ValidationError). Returns the new policy."""
        self.policy = self.policy.model_copy(update={})
        for name, value in fields.items():
            setattr(self.policy, name, value)
        self._apply_transport_policy()
        self.timeline.record(SERVER, 'policy_changed', **fields)
        return self.policy

    # ---- errors ---------------------------------------------------------------------------------------------
    def record_error(self, exc: BaseException, *, where: str, sid: str | None = None,
                     client_id: str | None = None) -> None:
        """Log and record a handler exception as ``server_error`` (type, message, traceback). Never raises."""
        tb = ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        error = {'type': type(exc).__name__, 'message': str(exc), 'where': where, 'traceback': tb}
        event = self.timeline.record(SERVER, 'server_error', sid=sid, client_id=client_id, **error)
        self.errors.append({**error, 't_ns': event.t_ns, 'sid': sid, 'client_id': client_id})
        log.warning('server error in %s: %s: %s', where, type(exc).__name__, exc)
        log.debug('%s', tb)

    # ---- HTTP -----------------------------------------------------------------------------------------------
    def _create_client(self, spec: PageSpec) -> Client:
        client = self.registry.create(page_kind(spec), spec.route)
        spec.build(self, client)
        return client

    async def _on_page_get(self, request: web.Request) -> web.Response:
        path = '/' + request.match_info['path']
        spec = self.pages.get(path)
        window = request.headers.get('X-Clientsim-Window')
        if spec is None:
            self.timeline.record(SERVER, 'page_served', window=window, path=path, status=404)
            return web.Response(status=404, text=f'404: no page at {path}', content_type='text/plain')
        try:
            client = self._shared_clients.get(path) if spec.shared else None
            if client is None or client.id not in self.registry.instances:
                client = self._create_client(spec)
                if spec.shared:
                    self._shared_clients[path] = client
            body = render_page(client, spec.title)
        except Exception as e:
            self.record_error(e, where=f'page {path}')
            return web.Response(status=500, text=f'500: {type(e).__name__}: {e}', content_type='text/plain')
        self.timeline.record(SERVER, 'page_served', window=window, client_id=client.id, path=path, status=200)
        return web.Response(text=body, content_type='text/html', headers={'Cache-Control': 'no-store'})

    # ---- socket.io ------------------------------------------------------------------------------------------
    def get_environ(self, sid: str) -> Optional[dict]:
        """``sio.get_environ(sid)``, or None for sockets of the windows in ``policy.environ_none_for`` (fault
        injection: python-socketio returns None for a socket it no longer knows, NiceGUI #5090, #5119)."""
        if self._sid_windows.get(sid) in self.policy.environ_none_for:
            return None
        return self.sio.get_environ(sid)

    def _client_id_from_environ(self, sid: str) -> Any:
        """NiceGUI 2.11.0 ``_on_disconnect``: parse ``client_id`` out of the socket's environ query string.
        Raises TypeError when the environ is None, KeyError when the query has no client_id."""
        environ = self.get_environ(sid)
        query = urllib.parse.parse_qs(environ['QUERY_STRING'])  # type: ignore[index]  # TypeError for None
        return query['client_id'][0]

    def _window_of(self, sid: str) -> Optional[str]:
        """The simulated window of a socket: saved at connect (from the ``clientsim_window`` query parameter),
        so it is known even when the environ is not."""
        if sid in self._sid_windows:
            return self._sid_windows[sid]
        environ = self.sio.get_environ(sid) or {}
        values = urllib.parse.parse_qs(environ.get('QUERY_STRING', '')).get(WINDOW_QUERY)
        return values[0] if values else None

    def _register_socket_handlers(self) -> None:
        sio = self.sio

        @sio.on('connect')
        async def _on_connect(sid: str, environ: dict, auth: Any = None) -> None:
            self.sids.add(sid)
            query = urllib.parse.parse_qs(environ.get('QUERY_STRING', ''))
            client_id = (query.get('client_id') or [None])[0]
            window = (query.get(WINDOW_QUERY) or [None])[0]
            self._sid_windows[sid] = window
            await sio.save_session(sid, {'client_id': client_id, 'window': window})
            self.timeline.record(SERVER, 'socket_connected_server', window=self._window_of(sid), sid=sid,
                                 client_id=client_id)

        @sio.on('handshake')
        async def _on_handshake(sid: str, data: Any = None) -> bool:
            window = self._window_of(sid)
            if not isinstance(data, dict) or not isinstance(data.get('client_id'), str):
                self.timeline.record(SERVER, 'bad_message', window=window, sid=sid, event='handshake',
                                     payload=repr(data)[:200])
                return False
            client = self.registry.get(data['client_id'])
            if client is None:
                self.timeline.record(SERVER, 'handshake_handled', window=window, sid=sid,
                                     client_id=data['client_id'], ok=False)
                return False
            try:
                client.tab_id = data.get('tab_id') if isinstance(data.get('tab_id'), str) else None
                client.environ = self.get_environ(sid)
                await sio.enter_room(sid, client.id)
                client.handle_handshake(sid, str(data.get('document_id')))
                next_message_id = data.get('next_message_id')
                replayed = await client.replay_from(next_message_id, sid) if isinstance(next_message_id, int) else 0
            except Exception as e:
                self.record_error(e, where='handshake', sid=sid, client_id=client.id)
                return False
            self.timeline.record(SERVER, 'handshake_handled', window=window, sid=sid, client_id=client.id,
                                 ok=True, document_id=data.get('document_id'), replayed=replayed)
            for hook in list(self.handshake_hooks):
                try:
                    result = hook(client, sid)
                    if asyncio.iscoroutine(result):
                        await result
                except Exception as e:
                    self.record_error(e, where='handshake hook', sid=sid, client_id=client.id)
            return True

        @sio.on('disconnect')
        async def _on_disconnect(sid: str, reason: Any = None) -> None:
            window = self._window_of(sid)
            self.sids.discard(sid)
            client_id = None
            try:
                session = await sio.get_session(sid)
            except Exception:  # the socket's session is gone
                session = {}
            try:
                if self.policy.client_lookup_on_disconnect == 'session':
                    client_id = session.get('client_id')  # saved at connect, never None for a real socket
                else:
                    client_id = self._client_id_from_environ(sid)  # 2.11.0; TypeError if environ is None
                self.timeline.record(SERVER, 'disconnect_server', window=window, sid=sid, client_id=client_id,
                                     reason=str(reason) if reason is not None else None)
                client = self.registry.get(client_id)
                if client is not None:
                    client.handle_disconnect(sid)
                    for hook in list(self.disconnect_hooks):
                        hook(client, sid)
            except Exception as e:
                if client_id is None:  # say which socket failed, even though the lookup did not succeed
                    self.timeline.record(SERVER, 'disconnect_server', window=window, sid=sid,
                                         client_id=session.get('client_id'),
                                         reason=str(reason) if reason is not None else None, lookup_failed=True)
                self.record_error(e, where='disconnect', sid=sid, client_id=client_id)
            finally:
                self._sid_windows.pop(sid, None)

        @sio.on('event')
        async def _on_event(sid: str, msg: Any = None) -> None:
            window = self._window_of(sid)
            if not isinstance(msg, dict):
                self.timeline.record(SERVER, 'bad_message', window=window, sid=sid, event='event',
                                     payload=repr(msg)[:200])
                return
            client = self.registry.get(msg.get('client_id'))
            if client is None or not client.has_socket_connection:
                self.timeline.record(SERVER, 'event_ignored', window=window, sid=sid,
                                     client_id=str(msg.get('client_id')), reason='unknown or unconnected client')
                return
            listener_id = msg.get('listener_id')  # a malformed (e.g. unhashable) id finds no handler
            handler = client.handlers.get(listener_id) if isinstance(listener_id, str) else None
            self.timeline.record(SERVER, 'event_handled', window=window, sid=sid, client_id=client.id,
                                 element=msg.get('id'), known=handler is not None)
            if handler is None:
                return
            try:
                args = msg.get('args') if isinstance(msg.get('args'), list) else []
                await handler(client, sid, args)
            except Exception as e:
                self.record_error(e, where='event', sid=sid, client_id=client.id)

        @sio.on('ack')
        async def _on_ack(sid: str, msg: Any = None) -> None:
            pass  # nicegui.js acknowledges message ids every 3 s; the history here is bounded instead

        @sio.on('*')
        async def _on_unknown(event: str, sid: str, data: Any = None) -> None:
            self.timeline.record(SERVER, 'bad_message', window=self._window_of(sid), sid=sid, event=event,
                                 payload=repr(data)[:200])
