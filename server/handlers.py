"""The socket.io handlers and the page-GET handler of the embedded server.

Modelled on NiceGUI 2.11.0 ``nicegui/nicegui.py``: small ``_on_*`` handlers that find the client and hand off
to :class:`server.client.Client` (``handle_handshake``, ``handle_disconnect``) or to a page builder. Every
exception inside a handler is recorded through ``server.record_error`` (``server_error`` on the timeline, with
type and traceback) and the server keeps serving. The server is seen as a :class:`HandlerContext`, never
imported: ``server.app`` owns a :class:`SocketHandlers` and registers it on each new ``socketio.AsyncServer``.
"""
from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any, Callable, Optional, Protocol, runtime_checkable

import socketio
from aiohttp import web

from simulator.timeline import SERVER

from .client import Client
from .pages import PageContext, PageSpec, render_page
from .wire import WINDOW_HEADER, WINDOW_QUERY


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
    connect from the ``clientsim_window`` query parameter (:data:`server.wire.WINDOW_QUERY`). :meth:`register`
    attaches the handlers to a new ``socketio.AsyncServer``; :meth:`clear` forgets every socket (server stop).
    """

    def __init__(self, server: HandlerContext) -> None:
        self.server = server
        self.sids: set[str] = set()
        self.sid_windows: dict[str, Optional[str]] = {}

    def register(self, sio: socketio.AsyncServer) -> None:
        """Attach the socket.io handlers to ``sio`` (at every server start)."""
        sio.on('connect', self.on_connect)
        sio.on('handshake', self.on_handshake)
        sio.on('disconnect', self.on_disconnect)
        sio.on('event', self.on_event)
        sio.on('ack', self.on_ack)
        sio.on('*', self.on_unknown)

    def clear(self) -> None:
        """Forget every socket (server stop)."""
        self.sid_windows.clear()
        self.sids.clear()

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
        """The simulated window of a socket: saved at connect (from the ``clientsim_window`` query parameter),
        so it is known even when the environ is not."""
        if sid in self.sid_windows:
            return self.sid_windows[sid]
        environ = self.server.sio.get_environ(sid) or {}
        values = urllib.parse.parse_qs(environ.get('QUERY_STRING', '')).get(WINDOW_QUERY)
        return values[0] if values else None

    # ---- socket.io handlers ---------------------------------------------------------------------------------
    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        """Remember the socket, its client_id and window (in its session); records ``socket_connected_server``."""
        self.sids.add(sid)
        query = urllib.parse.parse_qs(environ.get('QUERY_STRING', ''))
        client_id = (query.get('client_id') or [None])[0]
        window = (query.get(WINDOW_QUERY) or [None])[0]
        self.sid_windows[sid] = window
        await self.server.sio.save_session(sid, {'client_id': client_id, 'window': window})
        self.server.timeline.record(SERVER, 'socket_connected_server', window=self.window_of(sid), sid=sid,
                                    client_id=client_id)

    async def on_handshake(self, sid: str, data: Any = None) -> bool:
        """NiceGUI 2.11.0 ``_on_handshake``: join the client's room, ``handle_handshake``, replay missed
        messages, run ``handshake_hooks``. Returns the ack: False for a malformed message or unknown client."""
        server = self.server
        window = self.window_of(sid)
        if not isinstance(data, dict) or not isinstance(data.get('client_id'), str):
            server.timeline.record(SERVER, 'bad_message', window=window, sid=sid, event='handshake',
                                   payload=repr(data)[:200])
            return False
        client = server.registry.get(data['client_id'])
        if client is None:
            server.timeline.record(SERVER, 'handshake_handled', window=window, sid=sid,
                                   client_id=data['client_id'], ok=False)
            return False
        try:
            client.tab_id = data.get('tab_id') if isinstance(data.get('tab_id'), str) else None
            client.environ = self.get_environ(sid)
            await server.sio.enter_room(sid, client.id)
            client.handle_handshake(sid, str(data.get('document_id')))
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

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        """NiceGUI 2.11.0 ``_on_disconnect``: look the client up (``policy.client_lookup_on_disconnect``), call
        ``handle_disconnect`` and the ``disconnect_hooks``. A failed lookup is recorded as ``server_error``."""
        server = self.server
        window = self.window_of(sid)
        self.sids.discard(sid)
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
            client = server.registry.get(client_id)
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
            server.timeline.record(SERVER, 'bad_message', window=window, sid=sid, event='event',
                                   payload=repr(msg)[:200])
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
        self.server.timeline.record(SERVER, 'bad_message', window=self.window_of(sid), sid=sid, event=event,
                                    payload=repr(data)[:200])

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
            body = render_page(client, spec.title)
        except Exception as e:
            server.record_error(e, where=f'page {path}')
            return web.Response(status=500, text=f'500: {type(e).__name__}: {e}', content_type='text/plain')
        server.timeline.record(SERVER, 'page_served', window=window, client_id=client.id, path=path, status=200)
        return web.Response(text=body, content_type='text/html', headers={'Cache-Control': 'no-store'})
