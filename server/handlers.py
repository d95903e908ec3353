"""The socket.io handlers and the page-GET handler of the embedded server.

Modelled on NiceGUI 2.11.0 ``nicegui/nicegui.py``: small ``_on_*`` handlers that find the client and hand off
to :class:`clientsim.server.client.Client` (``handle_handshake``, ``handle_disconnect``) or to a page builder. Every
exception inside a handler is recorded through ``server.record_error`` (``server_error`` on the timeline, with
type and traceback) and the server keeps serving. Input a handler cannot take (wrong number of arguments, an
event named ``*``, a forged ``connect`` or ``disconnect`` event from a live socket) becomes a ``bad_message``
event with the sid and a short payload, never an exception in python-socketio's task.

The server is seen as a :class:`HandlerContext`, never imported: ``clientsim.server.app`` owns a :class:`SocketHandlers`
and registers it on each new ``socketio.AsyncServer``.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import urllib.parse
import uuid
from typing import Any, Callable, Optional, Protocol, runtime_checkable

import socketio
from aiohttp import web

from clientsim.simulator.timeline import SERVER

from .client import Client
from .downloads import BROWSER_COOKIE, browser_of_cookie_header
from .pages import PageContext, PageSpec, render_page
from .wire import WINDOW_HEADER, WINDOW_QUERY

PAYLOAD_CHARS = 200
"""``bad_message`` events keep at most this many characters of the payload's repr."""


def short(value: Any) -> str:
    """``repr(value)`` cut to :data:`PAYLOAD_CHARS` characters (never raises)."""
    try:
        return repr(value)[:PAYLOAD_CHARS]
    except Exception:  # a repr that fails
        return f'<{type(value).__name__}>'


def _window_of_environ(environ: dict) -> Optional[str]:
    """The simulated window that opened a socket: its ``X-Clientsim-Window`` header (clientsim windows send it on the
    websocket since their connect query is nicegui.js's own), else the older ``clientsim_window`` query parameter."""
    header = environ.get('HTTP_' + WINDOW_HEADER.upper().replace('-', '_'))
    if header:
        return str(header)
    values = urllib.parse.parse_qs(environ.get('QUERY_STRING', '')).get(WINDOW_QUERY)
    return values[0] if values else None


@runtime_checkable
class HandlerContext(PageContext, Protocol):
    """The server as the handlers see it: a :class:`PageContext` plus ``sio`` (the running
    ``socketio.AsyncServer``), ``pages`` (route → :class:`PageSpec`), ``handshake_hooks`` (``await hook(client,
    sid)``), ``disconnect_hooks`` (``hook(client, sid)``) and ``client_for_page(spec)`` (the client a GET of
    that page renders: the shared one, or a new one)."""
    sio: socketio.AsyncServer
    pages: dict[str, PageSpec]
    handshake_hooks: list[Callable[[Client, str], Any]]
    disconnect_hooks: list[Callable[[Client, str], None]]

    def client_for_page(self, spec: PageSpec) -> Client: ...


class SocketHandlers:
    """``SocketHandlers(server)``: the handlers of one server and the sockets they saw.

    ``sids`` is the set of connected sids; ``sid_windows`` maps sid → simulated window name (or None), saved at
    connect from the ``clientsim_window`` query parameter (:data:`clientsim.server.wire.WINDOW_QUERY`); ``sid_clients``
    maps sid → the client_id its accepted handshake joined (one socket, one client). :meth:`register`
    attaches the handlers to a new ``socketio.AsyncServer``; :meth:`clear` forgets every socket (server stop).
    """

    def __init__(self, server: HandlerContext) -> None:
        self.server = server
        self.sids: set[str] = set()
        self.sid_windows: dict[str, Optional[str]] = {}
        self.sid_clients: dict[str, str] = {}
        #: sids the server closed for not finishing their handshake in time (``ConnectionLimits.connect_timeout_s``):
        #: their disconnect skips NiceGUI's handling (no client ever counted them)
        self.shed: set[str] = set()

    def register(self, sio: socketio.AsyncServer) -> None:
        """Attach the socket.io handlers to ``sio`` (at every server start), each behind :meth:`_guard`."""
        for event, handler in (('connect', self.on_connect), ('handshake', self.on_handshake),
                               ('disconnect', self.on_disconnect), ('event', self.on_event), ('ack', self.on_ack)):
            sio.on(event, self._guard(event, handler))
        sio.on('*', self._on_any)
        self._watch_connecting_sockets(sio)

    def _watch_connecting_sockets(self, sio: socketio.AsyncServer) -> None:
        """Give a socket that engine.io ends while its connect handler runs its disconnect handling.

        python-socketio 5.18.1 ``_handle_disconnect`` returns early for a sid still in the manager's
        ``pending_connect`` (its connect handler has not returned), and ``manager.connect`` later marks it
        connected: the disconnect handler never runs and the sid stays in the manager with no engine.io socket.
        It happens when the connect handler outlives ``ping_interval + ping_timeout`` (the handler blocks the
        socket's reader, so no pong is read; engine.io's ping task ends the socket). Here engine.io's
        ``disconnect`` handler is wrapped: for such a sid :meth:`on_disconnect` runs at once (before
        python-socketio forgets the socket's environ), and :meth:`on_connect` then refuses the connection, so
        python-socketio drops the sid from its manager."""
        eio = sio.eio
        handle = eio.handlers['disconnect']
        on_disconnect = self._guard('disconnect', self.on_disconnect)

        async def watched(eio_sid: str, *args: Any) -> Any:
            sid = sio.manager.sid_from_eio_sid(eio_sid, '/')
            if sid in self.sids and sid in sio.manager.pending_connect.get('/', ()):
                self.server.timeline.record(SERVER, 'socket_ended_while_connecting', window=self.window_of(sid),
                                            sid=sid, reason=str(args[0]) if args else None)
                await on_disconnect(sid, *args[:1])
            return await handle(eio_sid, *args)
        eio.handlers['disconnect'] = watched

    def clear(self) -> None:
        """Forget every socket (server stop)."""
        self.sid_windows.clear()
        self.sid_clients.clear()
        self.sids.clear()
        self.shed.clear()

    def bad_message(self, sid: Any, event: str, payload: Any, reason: str = '') -> None:
        """Record ``bad_message`` (the socket, the event name, a short payload, why)."""
        sid = sid if isinstance(sid, str) else None
        self.server.timeline.record(SERVER, 'bad_message', window=self.window_of(sid) if sid else None, sid=sid,
                                    event=str(event)[:PAYLOAD_CHARS], payload=short(payload),
                                    **({'reason': reason} if reason else {}))

    def _guard(self, event: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """``handler`` wrapped so that arguments it cannot take become ``bad_message`` (the ack is False for a
        handshake) and any other exception becomes ``server_error``; nothing reaches python-socketio's task."""
        signature = inspect.signature(handler)

        @functools.wraps(handler)
        async def guarded(*args: Any) -> Any:
            try:
                signature.bind(*args)
            except TypeError:
                self.bad_message(args[0] if args else None, event, list(args[1:]), 'wrong number of arguments')
                return False if event == 'handshake' else None
            try:
                return await handler(*args)
            except socketio.exceptions.ConnectionRefusedError:  # a refused (implicit handshake) connect
                raise
            except Exception as e:
                self.server.record_error(e, where=f'{event} handler', sid=args[0] if args else None)
                return False if event == 'handshake' else None
        return guarded

    async def _on_any(self, *args: Any) -> None:
        """python-socketio's catch-all: ``(event, sid, *data)`` for an unknown event, but ``(sid, *data)`` for
        an event literally named ``*``. Both become ``bad_message``, whatever the payload (a dict or list
        payload is unhashable, so a sid is only looked up when it is a string)."""
        def known(value: Any) -> bool:
            return isinstance(value, str) and value in self.sids

        if len(args) >= 2 and known(args[1]):
            self.bad_message(args[1], str(args[0]), list(args[2:]), 'unknown event')
        elif args and known(args[0]):
            self.bad_message(args[0], '*', list(args[1:]), 'unknown event')
        else:
            self.bad_message(None, '*', list(args), 'unknown event')

    # ---- sockets --------------------------------------------------------------------------------------------
    def get_environ(self, sid: str) -> Optional[dict]:
        """``sio.get_environ(sid)``, or None for sockets of the windows in ``policy.environ_none_for`` (fault
        injection: python-socketio returns None for a socket it no longer knows, NiceGUI #5090, #5119)."""
        if self.sid_windows.get(sid) in self.server.policy.environ_none_for:
            return None
        return self.server.sio.get_environ(sid)

    def client_id_from_environ(self, sid: str) -> Any:
        """NiceGUI 2.11.0 ``_on_disconnect``: parse ``client_id`` out of the socket's environ query string.
        Raises TypeError when the environ is None, KeyError when the query has no client_id."""
        environ = self.get_environ(sid)
        query = urllib.parse.parse_qs(environ['QUERY_STRING'])  # type: ignore[index]  # TypeError for None
        return query['client_id'][0]

    def window_of(self, sid: str) -> Optional[str]:
        """The simulated window of a socket: saved at connect (from the ``X-Clientsim-Window`` header),
        so it is known even when the environ is not."""
        if sid in self.sid_windows:
            return self.sid_windows[sid]
        environ = self.server.sio.get_environ(sid) or {}
        return _window_of_environ(environ)

    # ---- socket.io handlers ---------------------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> Optional[bool]:
        """Remember the socket, its client_id, window (in its session) and browser session (its cookie, for
        ``policy.download_binding``); records ``socket_connected_server``. A ``connect`` *event* sent by a
        socket that is already connected (``42["connect",...]``) is forged: ``bad_message``.

        Then ``policy.dependency_stall_s`` and, with ``policy.implicit_handshake``, the handshake
        (:meth:`_implicit_handshake`). Returns False (refused) when engine.io ended the socket meanwhile: its
        disconnect handling already ran (:meth:`_watch_connecting_sockets`); records ``connect_abandoned``."""
        if sid in self.sids or not isinstance(environ, dict):
            self.bad_message(sid, 'connect', [environ, auth], 'connect event from a connected socket')
            return
        self.sids.add(sid)
        self.server.downloads.browsers[sid] = browser_of_cookie_header(environ.get('HTTP_COOKIE'))
        query = urllib.parse.parse_qs(environ.get('QUERY_STRING', ''))
        client_id = (query.get('client_id') or [None])[0]
        window = _window_of_environ(environ)
        self.sid_windows[sid] = window
        try:
            await self.server.sio.save_session(sid, {'client_id': client_id, 'window': window})
        except KeyError:  # engine.io already ended the socket (its session is gone): see below
            pass
        self.server.timeline.record(SERVER, 'socket_connected_server', window=window, sid=sid,
                                    client_id=client_id)
        policy = self.server.policy
        if policy.dependency_stall_s > 0:  # NiceGUI 3.x awaits tab storage creation (Redis) at connect
            self.server.timeline.record(SERVER, 'dependency_stalled', window=window, sid=sid,
                                        stall_ms=round(policy.dependency_stall_s * 1000))
            await asyncio.sleep(policy.dependency_stall_s)
        if policy.implicit_handshake:
            await self._implicit_handshake(sid, query)
        if sid not in self.sids:  # engine.io ended the socket while this handler ran (_watch_connecting_sockets)
            self.sid_clients.pop(sid, None)
            self.server.timeline.record(SERVER, 'connect_abandoned', window=window, sid=sid, client_id=client_id)
            return False  # python-socketio removes the sid from its manager
        return None

    async def _implicit_handshake(self, sid: str, query: dict[str, list[str]]) -> None:
        """NiceGUI 3.7+ ``_on_connect``: the connect query is the handshake (:meth:`on_handshake`); a refused one
        raises ``ConnectionRefusedError('Implicit handshake failed')`` (the connect_error nicegui.js reloads on).

        When the socket ended while the connect handler awaited (problem 6): ``policy.handshake_socket_check``
        false counts the handshake anyway, as NiceGUI 3.7-3.18 does, and the client keeps a connection no
        disconnect will ever count down; true drops it (``handshake_dropped``)."""
        data: dict[str, Any] = {k: v[0] for k, v in query.items() if v}
        if str(data.get('next_message_id', '')).isdigit():
            data['next_message_id'] = int(data['next_message_id'])
        if sid not in self.sids and self.server.policy.handshake_socket_check:
            self.server.timeline.record(SERVER, 'handshake_dropped', window=self.window_of(sid), sid=sid,
                                        client_id=data.get('client_id'), reason='socket gone')
            return
        if not await self.on_handshake(sid, data) and sid in self.sids:
            raise socketio.exceptions.ConnectionRefusedError('Implicit handshake failed')

    async def on_handshake(self, sid: str, data: Any = None) -> bool:
        """NiceGUI 2.11.0 ``_on_handshake``: join the client's room, ``handle_handshake``, replay missed
        messages, run ``handshake_hooks``. Returns the ack: False for a malformed message or unknown client.

        One socket, one client: a second handshake on the same socket *replaces* the first — the earlier
        client is let go (``handle_disconnect`` for this sid, its delayed delete starts) before the new one is
        joined. NiceGUI (2.11.0 and 3.x up to 3.15: ``nicegui.py`` ``_on_handshake`` → ``client.py``
        ``handle_handshake``) has no check either: it overwrites ``_socket_to_document_id[sid]`` but counts
        the connection again, so the socket's disconnect counts down once and the client stays pinned; clientsim
        keeps the replacement and drops the double count."""
        server = self.server
        window = self.window_of(sid)
        if not isinstance(data, dict) or not isinstance(data.get('client_id'), str):
            self.bad_message(sid, 'handshake', data, 'not a handshake mapping with a client_id')
            return False
        client = server.registry.get(data['client_id'])
        if client is None:
            server.timeline.record(SERVER, 'handshake_handled', window=window, sid=sid,
                                   client_id=data['client_id'], ok=False)
            return False
        self._release_earlier_handshake(sid, client)
        try:
            client.tab_id = data.get('tab_id') if isinstance(data.get('tab_id'), str) else None
            client.environ = self.get_environ(sid)
            await server.sio.enter_room(sid, client.id)
            client.handle_handshake(sid, str(data.get('document_id')))
            self.sid_clients[sid] = client.id
            next_message_id = data.get('next_message_id')
            replayed = await client.replay_from(next_message_id, sid) if isinstance(next_message_id, int) else 0
        except Exception as e:
            server.record_error(e, where='handshake', sid=sid, client_id=client.id)
            return False
        server.timeline.record(SERVER, 'handshake_handled', window=window, sid=sid, client_id=client.id,
                               ok=True, document_id=data.get('document_id'), replayed=replayed)
        for hook in list(server.handshake_hooks):
            try:
                result = hook(client, sid)
                if asyncio.iscoroutine(result):
                    await result
            except Exception as e:
                server.record_error(e, where='handshake hook', sid=sid, client_id=client.id)
        return True

    def _release_earlier_handshake(self, sid: str, client: Client) -> None:
        """Undo an earlier accepted handshake of ``sid`` (see :meth:`on_handshake`): the socket leaves that
        client's room and count; records ``handshake_replaced``."""
        earlier_id = self.sid_clients.pop(sid, None)
        earlier = self.server.registry.get(earlier_id)
        if earlier is None:
            return
        self.server.timeline.record(SERVER, 'handshake_replaced', window=self.window_of(sid), sid=sid,
                                    client_id=earlier.id, new_client_id=client.id)
        if sid in earlier._socket_to_document_id:
            earlier.handle_disconnect(sid)
        if earlier is not client:
            self.server.tasks.spawn(self.server.sio.leave_room(sid, earlier.id), name=f'leave room {sid}')

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        """NiceGUI 2.11.0 ``_on_disconnect``: look the client up (``policy.client_lookup_on_disconnect``), call
        ``handle_disconnect`` and the ``disconnect_hooks``. A failed lookup is recorded as ``server_error``.

        Only engine.io's own disconnect runs it: python-socketio marks the socket as disconnecting
        (``manager.pre_disconnect``) before it calls this handler, so a ``42["disconnect"]`` event sent by a
        live socket finds it still connected and becomes ``bad_message``. The client is the one the socket's
        handshake joined (``sid_clients``) when there is one, else the looked-up one."""
        server = self.server
        window = self.window_of(sid)
        if sid in self.sids and server.sio.manager.is_connected(sid, '/'):
            self.bad_message(sid, 'disconnect', reason, 'disconnect event from a live socket')
            return
        self.sids.discard(sid)
        server.downloads.browsers.pop(sid, None)
        if sid in self.shed:
            self.shed.discard(sid)
            self.sid_windows.pop(sid, None)
            return
        joined = self.sid_clients.pop(sid, None)
        client_id = None
        try:
            session = await server.sio.get_session(sid)
        except Exception:  # the socket's session is gone
            session = {}
        try:
            if server.policy.client_lookup_on_disconnect == 'session':
                client_id = session.get('client_id')  # saved at connect, never None for a real socket
            else:
                client_id = self.client_id_from_environ(sid)  # 2.11.0; TypeError if environ is None
            server.timeline.record(SERVER, 'disconnect_server', window=window, sid=sid, client_id=client_id,
                                   reason=str(reason) if reason is not None else None)
            client = server.registry.get(joined if joined is not None else client_id)
            if client is not None:
                client.handle_disconnect(sid)
                for hook in list(server.disconnect_hooks):
                    hook(client, sid)
        except Exception as e:
            if client_id is None:  # say which socket failed, even though the lookup did not succeed
                server.timeline.record(SERVER, 'disconnect_server', window=window, sid=sid,
                                       client_id=session.get('client_id'),
                                       reason=str(reason) if reason is not None else None, lookup_failed=True)
            server.record_error(e, where='disconnect', sid=sid, client_id=client_id)
        finally:
            self.sid_windows.pop(sid, None)

    async def on_event(self, sid: str, msg: Any = None) -> None:
        """NiceGUI 2.11.0 ``_on_event``: run the listener ``msg['listener_id']`` of a connected client with
        ``msg['args']``. Unknown clients and malformed messages are recorded, never raised."""
        server = self.server
        window = self.window_of(sid)
        if not isinstance(msg, dict):
            self.bad_message(sid, 'event', msg, 'not an event mapping')
            return
        client = server.registry.get(msg.get('client_id'))
        if client is None or not client.has_socket_connection:
            server.timeline.record(SERVER, 'event_ignored', window=window, sid=sid,
                                   client_id=str(msg.get('client_id')), reason='unknown or unconnected client')
            return
        listener_id = msg.get('listener_id')  # a malformed (e.g. unhashable) id finds no handler
        handler = client.handlers.get(listener_id) if isinstance(listener_id, str) else None
        server.timeline.record(SERVER, 'event_handled', window=window, sid=sid, client_id=client.id,
                               element=msg.get('id'), known=handler is not None)
        if handler is None:
            return
        try:
            args = msg.get('args') if isinstance(msg.get('args'), list) else []
            await handler(client, sid, args)
        except Exception as e:
            server.record_error(e, where='event', sid=sid, client_id=client.id)

    async def on_ack(self, sid: str, msg: Any = None) -> None:
        """nicegui.js acknowledges message ids every 3 s; the history here is bounded instead: ignored."""

    async def on_unknown(self, event: str, sid: str, data: Any = None) -> None:
        """Any other event: recorded as ``bad_message``."""
        self.bad_message(sid, event, data, 'unknown event')

    # ---- HTTP -----------------------------------------------------------------------------------------------
    async def on_page_get(self, request: web.Request) -> web.Response:
        """aiohttp handler of ``/{path}``: the page's HTML (200), 404 for an unknown route, 500 (recorded as
        ``server_error``) when building the page fails. Records ``page_served``."""
        server = self.server
        path = '/' + request.match_info['path']
        spec = server.pages.get(path)
        window = request.headers.get(WINDOW_HEADER)
        if spec is None:
            server.timeline.record(SERVER, 'page_served', window=window, path=path, status=404)
            return web.Response(status=404, text=f'404: no page at {path}', content_type='text/plain')
        try:
            client = server.client_for_page(spec)
            body = render_page(client, spec.title, implicit_handshake=server.policy.implicit_handshake)
        except Exception as e:
            server.record_error(e, where=f'page {path}')
            return web.Response(status=500, text=f'500: {type(e).__name__}: {e}', content_type='text/plain')
        server.timeline.record(SERVER, 'page_served', window=window, client_id=client.id, path=path, status=200)
        response = web.Response(text=body, content_type='text/html', headers={'Cache-Control': 'no-store'})
        # the browser session, for policy.download_binding 'session' only (no cookie work where none is needed)
        binding = server.policy.download_binding == 'session'
        if binding and browser_of_cookie_header(request.headers.get('Cookie')) is None:
            response.set_cookie(BROWSER_COOKIE, uuid.uuid4().hex, httponly=True, samesite='Strict')
        return response
