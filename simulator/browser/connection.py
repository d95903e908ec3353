"""The socket.io connection of one window: connect, message handlers, handshake, leave, drop, reconnect.

Models the socket half of ``createApp()`` in NiceGUI 2.11.0 ``nicegui/static/nicegui.js`` (``io(url, {path,
query, transports})``, the ``connect`` handler that emits ``handshake`` with an ack and reloads on ``false``, the
``_id`` check that drops a message already seen) and of 3.x nicegui.js (the 3.7+ implicit handshake, see
:mod:`.dialect`). One ``socketio.AsyncClient`` per page load or reconnect, as a real page opens a new socket;
python-socketio's own reconnection is off: a reconnect is an explicit action (``reconnect``), or, with the
window's ``auto_reconnect`` on, nicegui.js's socket.io-client 4.8.1 reconnection (defaults: delay 1 s doubling to
at most 5 s, ``randomizationFactor`` 0.5 multiplicative, unlimited attempts; :func:`reconnect_delay_s`) after a
transport close / error or a dropped network — never after the server's own disconnect (``io server disconnect``);
the delays are drawn from the window's ``rng`` (the lab seeds it from the run's seed). On NiceGUI 3.x each failed
websocket attempt is followed by a polling request, as 3.18.0 nicegui.js's ``tryAllTransports: true`` does.

As in Chromium (measured with headless Chromium 156, issue #18): the websocket gets a TCP connection of its own (a
browser never runs it over the page GET's keep-alive connection; reusing it let uvicorn's 5 s keep-alive timer cut
sockets), carries ``Origin`` and a browser ``User-Agent`` and no engine.io ``t`` timestamp; a page unload closes it
with code 1001 (going away) and no socket.io disconnect packet. Acks follow 2.11.0 and 3.18.0 nicegui.js: from the
page's start ``ack {client_id, next_message_id}`` every 3 s (the first even without messages, as ``ackedMessageId``
starts at -1; later ones only when messages arrived; 3.x only once the handshake was done); an ack made while the
socket is down is buffered by socket.io-client and sent at the next connect, before the handshake (:mod:`.acks`).

Typed against :class:`~.state.WindowView` only: it never imports the window facade.
"""
from __future__ import annotations

import asyncio
import math
import random
import urllib.parse
from typing import Any, Callable, Optional

import aiohttp
import socketio

from clientsim.server.wire import WINDOW_HEADER

from ..tasks import complete, wait_for
from . import dialect
from .acks import Acks
from .boot import USER_AGENT
from .latency import latency_sleep
from .lean_client import LeanAsyncClient
from .page import js_query_value
from .state import CLOSED, CONNECTED, DISCONNECTED, HANDSHAKE_DONE, LOAD_FAILED, WindowView
from .ws_attempts import TrackedWebSocket, attempt, close_orphans

CONNECT_TIMEOUT_S = 5
"""Seconds python-socketio waits for the connect (``wait_timeout``) and for the handshake ack."""
GOING_AWAY = 1001
"""The websocket close code of a page unload (RFC 6455 1001, measured from Chromium 156)."""
RECONNECT_DELAY_MS, RECONNECT_DELAY_MAX_MS, RANDOMIZATION_FACTOR = 1000, 5000, 0.5
"""socket.io-client 4.8.1 Manager defaults (nicegui.js 3.x sets none of them)."""
SERVER_DISCONNECT = 'io server disconnect'


def reconnect_delay_s(attempt: int, rng: random.Random) -> float:
    """socket.io-client 4.8.1 ``Backoff.duration()`` in **seconds** for reconnect ``attempt`` (0, 1, …):
    ``t = 1000 * 2**attempt`` ms, moved by up to ±50 % (``r = random()``, ``dev = floor(r * 0.5 * t)``, added when
    ``floor(r * 10)`` is odd, else subtracted), then capped at 5000 ms: about 1, 2, 4, 5, 5 … s."""
    t = RECONNECT_DELAY_MS * 2 ** min(attempt, 16)
    r = rng.random()
    deviation = math.floor(r * RANDOMIZATION_FACTOR * t)
    t = t + deviation if math.floor(r * 10) & 1 else t - deviation
    return min(t, RECONNECT_DELAY_MAX_MS) / 1000


class Connection:
    """The socket.io side of one window: ``Connection(window, on_message)``.

    ``on_message(event, payload)`` gets every server message that passed the ``_id`` check (nicegui.js drops a
    message whose ``_id`` is below ``next_message_id`` and otherwise advances it to ``_id + 1``). The connection
    owns ``sid``, ``state`` and ``next_message_id`` (the window's properties of those names read and write them),
    writes the window's ``page_error`` and ``handshakes_rejected``, and reports up through the window's ``ports``
    (:class:`~.state.WindowPorts`: ``record``, ``changed``, ``frame``, the task group). Sockets silenced by
    :meth:`drop` are kept until :meth:`discard_dropped` (the window's close).
    """

    __slots__ = ('window', 'on_message', 'sid', 'state', 'next_message_id', 'sio', 'handshake_task', '_closing',
                 '_reloaded_after_reject', '_dropped', 'reconnect_task', '_ws_session', '_sio_generation', '_refused',
                 'acks')  # no per-window instance dict (issue 24)

    def __init__(self, window: WindowView, on_message: Callable[[str, Any], None]) -> None:
        self.window = window
        self.on_message = on_message
        #: owned here, read and written through the window's properties of the same names
        self.sid: Optional[str] = None
        self.state = CLOSED
        self.next_message_id = 0
        self.sio: Optional[socketio.AsyncClient] = None
        self.handshake_task: Optional[asyncio.Task] = None
        self._closing = False  # True while leave() disconnects: that disconnect is the client's, not the server's
        self._reloaded_after_reject = False  # reload once only, to avoid a reload loop
        self._dropped: list[tuple[socketio.AsyncClient, Any]] = []  # (socket, its websocket) of drop()
        self.reconnect_task: Optional[asyncio.Task] = None  # the auto-reconnect loop, while it runs
        self._ws_session: Optional[aiohttp.ClientSession] = None  # the websocket's own TCP connections
        self._sio_generation = 0  # the load generation the current socket belongs to
        self._refused: Optional[str] = None  # the message of the current connect's connect_error, if any
        self.acks = Acks(window, lambda: self.sio)  # nicegui.js ack(): per page, across this page's sockets

    @property
    def rng(self) -> random.Random:
        """The reconnect jitter's random source: the window's ``rng`` (seeded from the run's seed by the lab)."""
        return self.window.rng

    @property
    def connected(self) -> bool:
        """True while the current socket is connected."""
        return self.sio is not None and self.sio.connected

    async def open(self, url: str, generation: int, *, handshake: bool = True, wait: bool = True) -> None:
        """Connect a new socket for the window's current page and send the handshake (the shared tail of a page
        load and a reconnect).

        ``url`` is the page URL (its scheme and host are used); ``generation`` the window's ``ports.generation()``
        of this load. A refused connect sets ``state = 'load failed'``. With an implicit handshake (NiceGUI 3.7+)
        the connect was the handshake. Otherwise, with ``handshake``, the handshake is sent after
        ``latency.handshake_ms`` in a task of the window; with ``wait`` this returns once it was answered."""
        window = self.window
        if not await self._connect(url, generation):
            return
        await self.acks.flush()  # socket.io-client emitBuffered() runs before the connect handler (the handshake)
        if window.implicit_handshake:  # NiceGUI 3.7+: the connect was the handshake (finishHandshake(true))
            self.acks.did_handshake = True
            window.ports.record('handshake_acked', ok=True, implicit=True)
            self.state = HANDSHAKE_DONE
            window.ports.changed()
            return
        if handshake:
            self.handshake_task = window.ports.tasks.spawn(self._handshake(generation), name=f'{window.name} handshake')
            if wait:
                await asyncio.gather(self.handshake_task, return_exceptions=True)

    def _socket_session(self) -> aiohttp.ClientSession:
        """The websocket's HTTP session: the browser context's (its cookie jar; its connector gives every
        websocket a TCP connection of its own, as in Chromium: :mod:`.context`); a window that loaded no page gets
        one of its own (closed by :meth:`close_session`)."""
        shared = self.window.ports.session()
        if shared is not None and not shared.closed:
            return shared
        if self._ws_session is None or self._ws_session.closed:
            self._ws_session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                                     connector=aiohttp.TCPConnector(force_close=True),
                                                     ws_response_class=TrackedWebSocket)  # see .ws_attempts
        return self._ws_session

    async def close_session(self) -> None:
        """Close the websocket's own HTTP session, if it made one (the window's close; a context's closes with the
        context's last window)."""
        session, self._ws_session = self._ws_session, None
        if session is not None:
            await session.close()

    async def _connect(self, url: str, generation: int) -> bool:
        window = self.window
        parts = urllib.parse.urlsplit(url)
        base = f'{parts.scheme}://{parts.netloc}'
        # the connect query of nicegui.js only: clientsim's window name travels in a header (WINDOW_HEADER)
        query = urllib.parse.urlencode({k: js_query_value(v) for k, v in dialect.socket_query(window).items()})
        headers = {'Origin': base, 'User-Agent': USER_AGENT}
        if window.tag_requests:
            headers[WINDOW_HEADER] = window.name
        sio = LeanAsyncClient(reconnection=False, handle_sigint=False, http_session=self._socket_session(),
                              timestamp_requests=False)  # socket.io-client puts no `t` on a websocket URL
        self._install_handlers(sio)
        self.sio, self._sio_generation, self._refused = sio, generation, None
        # a task of its own: python-engineio loses the websocket response of a connect cancelled while it waits
        # for the engine.io OPEN packet (nobody closes it: "Unclosed response"), so a cancelled page load lets
        # the connect finish and then closes it (_abandon); a websocket it opened but did not keep is closed too
        with attempt() as opened, window.ports.routing():  # the connect task sends this browser's cookies
            connecting = asyncio.ensure_future(
                sio.connect(f'{base}?{query}', headers=headers, socketio_path=dialect.socketio_path(window.prefix),
                            transports=['websocket'], wait_timeout=CONNECT_TIMEOUT_S))
        try:
            await asyncio.shield(connecting)
        except asyncio.CancelledError:
            if self.sio is sio:
                self.sio = None
            await complete(self._abandon(sio, connecting, opened))
            raise
        except (socketio.exceptions.ConnectionError, aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            await complete(close_orphans(opened))
            window.page_error = f'socket connect failed: {e}'
            self.state = LOAD_FAILED
            window.ports.record('socket_connect_failed', error=str(e))
            self.sio = None
            window.ports.changed()
            if self._refused == dialect.IMPLICIT_HANDSHAKE_REFUSED:
                # NiceGUI 3.7+ nicegui.js connect_error: "reloading because implicit handshake failed" — every
                # time (a new GET gives a new client_id, so this cannot loop while the server answers)
                window.ports.record('implicit_handshake_refused')
                window.ports.tasks.spawn(window.reload(wait=False), name=f'{window.name} reload')
            elif self._refused is None and dialect.polls_after_websocket(window):
                await self._polling_attempt(base, query)
            return False
        self.sid = sio.get_sid()
        self.state = CONNECTED
        window.ports.record('socket_connected_client')
        window.ports.changed()
        return True

    async def _polling_attempt(self, base: str, query: str) -> None:
        """3.18.0 nicegui.js ``tryAllTransports: true``: after the websocket failed, the same attempt tries an
        engine.io polling request (recorded as ``polling_attempt``; its answer is not used — a server that answers
        it was down a moment ago and the next attempt's websocket gets through)."""
        window = self.window
        path = dialect.socketio_path(window.prefix)
        url = f'{base}/{path}/?{query}&EIO=4&transport=polling'
        status = 0
        try:
            with window.ports.routing():
                async with self._socket_session().get(url, headers={'User-Agent': USER_AGENT}) as response:
                    status = response.status
                    await response.read()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
            pass
        window.ports.record('polling_attempt', status=status)

    @staticmethod
    async def _abandon(sio: socketio.AsyncClient, connecting: asyncio.Future, opened: list) -> None:
        """Close the socket of a page load that was cancelled while it connected: wait for the connect (at most
        ``2 * CONNECT_TIMEOUT_S``; a connect still hanging then is cancelled), disconnect what it opened and close
        the websockets of the attempt (``opened``, :mod:`.ws_attempts`) engine.io left open."""
        done, _ = await asyncio.wait({connecting}, timeout=2 * CONNECT_TIMEOUT_S)
        if not done:
            connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        await sio.disconnect()
        await close_orphans(opened)

    async def _handshake(self, generation: int) -> None:
        window = self.window
        await latency_sleep(window, 'handshake_ms', window.latency.handshake_ms)
        sio = self.sio
        if sio is None or generation != window.ports.generation() or not sio.connected:
            return
        data = dialect.handshake_data(window)
        window.ports.record('handshake_sent', document_id=window.document_id)
        window.ports.frame('sent', 'handshake', data)
        try:
            ok = await sio.call('handshake', data, timeout=CONNECT_TIMEOUT_S)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                socketio.exceptions.DisconnectedError) as e:
            window.ports.record('handshake_failed', error=f'{type(e).__name__}: {e}')
            return
        window.ports.frame('received', 'handshake ack', ok)
        window.ports.record('handshake_acked', ok=bool(ok))
        if not ok:
            window.handshakes_rejected += 1
        if generation != window.ports.generation():
            return
        if ok:
            self.acks.did_handshake = True
            self.state = HANDSHAKE_DONE
            window.ports.changed()
        elif not self._reloaded_after_reject:  # nicegui.js: window.location.reload()
            self._reloaded_after_reject = True
            window.ports.tasks.spawn(window.reload(), name=f'{window.name} reload')
        else:
            window.page_error = 'handshake rejected: the server does not know this client_id'
            window.ports.changed()

    def _install_handlers(self, sio: socketio.AsyncClient) -> None:
        handlers = _SocketHandlers(self, sio)
        sio.on('connect_error', handlers.connect_error)
        sio.on('disconnect', handlers.disconnect)
        sio.on('*', handlers.message)

    async def emit(self, event: str, payload: Any) -> None:
        """Send ``event`` with ``payload`` on the current socket. Raises RuntimeError when it is not connected."""
        if self.sio is None or not self.sio.connected:
            raise RuntimeError(f'window {self.window.name!r}: not connected')
        await self.sio.emit(event, payload)

    def start_auto_reconnect(self, notice_s: float) -> None:
        """Start the reconnect loop (unless one runs) ``notice_s`` seconds from now (the time the page needs to
        notice the loss; 0 for a closed transport)."""
        if self.reconnect_task is None or self.reconnect_task.done():
            self.reconnect_task = self.window.ports.tasks.spawn(self._reconnect_loop(notice_s),
                                                           name=f'{self.window.name} auto-reconnect')

    async def _reconnect_loop(self, notice_s: float) -> None:
        """socket.io-client's reconnection: wait :func:`reconnect_delay_s`, reconnect (same page), repeat until a
        socket is up; stops when the window loads another page or closes."""
        window = self.window
        await asyncio.sleep(notice_s)
        generation = window.ports.generation()
        window.ports.record('connection_lost_noticed')
        attempt = 0
        while window.ports.session() is not None and generation == window.ports.generation():
            delay_s = reconnect_delay_s(attempt, self.rng)
            window.ports.record('reconnect_scheduled', attempt=attempt + 1, delay_ms=round(delay_s * 1000))
            await asyncio.sleep(delay_s)
            if window.ports.session() is None or generation != window.ports.generation():
                return
            await window.ports.auto_reconnect()
            generation = window.ports.generation()
            if self.connected:
                return
            attempt += 1

    async def _cancel_handshake(self) -> None:
        if self.handshake_task is not None and not self.handshake_task.done():
            self.handshake_task.cancel()
            await asyncio.gather(self.handshake_task, return_exceptions=True)
        self.handshake_task = None

    async def stop_tasks(self) -> None:
        """Cancel a pending handshake and the reconnect loop (unless this is the loop itself)."""
        await self._cancel_handshake()
        task = self.reconnect_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def leave(self) -> None:
        """A page unload: cancel a pending handshake and close the current socket, if any, with code 1001 (the
        window then shows ``disconnected``; ``disconnect_client by=client`` is recorded)."""
        await self.stop_tasks()
        sio, self.sio = self.sio, None
        if sio is not None:
            self._closing = True
            try:
                self.window.ports.record('disconnect_client', by='client', code=GOING_AWAY)
                await complete(self._unload(sio))  # a cancelled page unload still closes its socket
            finally:
                self._closing = False
            self.state = DISCONNECTED

    @staticmethod
    async def _unload(sio: socketio.AsyncClient) -> None:
        """Close ``sio`` as a page unload does: the browser closes the websocket with 1001 (no socket.io or
        engine.io close packet: engine.io-client 6's ``closeOnBeforeunload`` is off), then python-socketio
        forgets the dead socket."""
        ws = getattr(sio.eio, 'ws', None)
        if ws is not None and not ws.closed:
            try:
                await wait_for(ws.close(code=GOING_AWAY), CONNECT_TIMEOUT_S)
            except (asyncio.TimeoutError, aiohttp.ClientError, OSError, RuntimeError):
                pass
        await sio.disconnect()

    async def drop(self, notice_ms: Optional[float] = None, auto_reconnect: Optional[bool] = None) -> None:
        """Network loss (see ``SimulatedBrowser.drop_connection``): stop reading the socket's TCP connection and
        forget the socket without a close frame. With the window's ``auto_reconnect`` the page notices the loss
        after ``notice_ms`` (default: the engine.io ping timeout, ``pingInterval + pingTimeout`` of the socket's
        handshake, as the engine.io client does) and reconnects. Raises RuntimeError when there is no open socket
        or its transport cannot be found. ``auto_reconnect`` overrides the window's setting for this loss (False:
        the network stays down)."""
        window = self.window
        sio = self.sio
        if sio is None or not sio.connected:
            raise RuntimeError(f'window {window.name!r}: no open socket to drop (state: {window.state})')
        transport = socket_transport(sio)
        if transport is None:
            raise RuntimeError(f'window {window.name!r}: cannot find the socket transport to drop')
        await self._cancel_handshake()
        transport.pause_reading()
        self.sio = None
        self._dropped.append((sio, sio.eio.ws))
        self.state = DISCONNECTED
        window.ports.record('connection_dropped')
        window.ports.changed()
        if window.auto_reconnect if auto_reconnect is None else auto_reconnect:
            if notice_ms is None:
                notice_ms = (sio.eio.ping_interval + sio.eio.ping_timeout) * 1000
            self.start_auto_reconnect(notice_ms / 1000)

    async def discard_dropped(self) -> None:
        """Release sockets silenced by :meth:`drop`: abort their TCP connection, close the socket.io client and the
        websocket response (engine.io does not close it when it gave up by itself). Waits at most 1 s for each."""
        dropped, self._dropped = self._dropped, []
        for sio, ws in dropped:
            transport = socket_transport(sio)
            if transport is not None:
                transport.abort()
            for closing in (sio.disconnect(), ws.close() if ws is not None else None):
                if closing is None:
                    continue
                try:
                    await wait_for(closing, 1.0)
                except Exception:  # already gone
                    pass


def socket_transport(sio: socketio.AsyncClient) -> Any:
    """The asyncio TCP transport under a socket.io client's websocket, or None (python-engineio keeps the
    aiohttp ``ClientWebSocketResponse`` as ``eio.ws``; its writer holds the transport)."""
    ws = getattr(getattr(sio, 'eio', None), 'ws', None)
    for holder in (getattr(ws, '_writer', None), getattr(ws, '_conn', None)):
        transport = getattr(holder, 'transport', None)
        if transport is not None:
            return transport
    return None


class _SocketHandlers:
    """The python-socketio handlers of one socket of a :class:`Connection`: bound methods of one small object (three
    closures per socket cost ~0.6 KB more, tracemalloc; issue 24). A handler of a socket that is no longer the
    connection's current one ignores what it gets."""

    __slots__ = ('connection', 'sio')

    def __init__(self, connection: Connection, sio: socketio.AsyncClient) -> None:
        self.connection, self.sio = connection, sio

    async def connect_error(self, data: Any = None) -> None:
        # the CONNECT_ERROR payload; python-socketio's ConnectionError only says "One or more namespaces failed"
        # a server's refusal is a dict payload; python-socketio passes a transport failure as a string
        connection = self.connection
        if connection.sio is self.sio and isinstance(data, dict):
            connection._refused = str(data.get('message'))
            connection.window.ports.record('connect_error', message=connection._refused)

    async def disconnect(self, reason: Any = None) -> None:
        connection, window = self.connection, self.connection.window
        if connection.sio is self.sio and connection._sio_generation != window.ports.generation():
            return  # the page is being replaced (its next GET runs): the old page no longer reacts
        if connection.sio is self.sio and not connection._closing:  # the server closed it, or the transport failed
            window.ports.record('disconnect_client', by='server', reason=str(reason))
            connection.state = DISCONNECTED
            window.ports.changed()
            if window.auto_reconnect and str(reason) != SERVER_DISCONNECT:
                connection.start_auto_reconnect(0.0)

    async def message(self, event: str, payload: Any = None) -> None:
        connection = self.connection
        if connection.sio is not self.sio:
            return
        window = connection.window
        window.ports.frame('received', event, payload)
        if isinstance(payload, dict) and isinstance(payload.get('_id'), int):
            if payload['_id'] < window.next_message_id:
                window.ports.record('message_dropped', event=event, message_id=payload['_id'],
                                    next_message_id=window.next_message_id)
                window.ports.changed()
                return
            connection.next_message_id = payload['_id'] + 1
        connection.on_message(event, payload)
