"""The socket.io connection of one window: connect, message handlers, handshake, leave, drop, reconnect.

Models the socket half of ``createApp()`` in NiceGUI 2.11.0 ``nicegui/static/nicegui.js`` (``io(url, {path,
query, transports})``, the ``connect`` handler that emits ``handshake`` with an ack and reloads on ``false``, the
``_id`` check that drops a message already seen) and of 3.x nicegui.js (the 3.7+ implicit handshake, see
:mod:`.dialect`). One ``socketio.AsyncClient`` per page load or reconnect, as a real page opens a new socket;
python-socketio's own reconnection is off: a reconnect is an explicit action (``reconnect``), or, with the
window's ``auto_reconnect`` on, nicegui.js's socket.io-client 4.8.1 reconnection (defaults: delay 1 s doubling to
at most 5 s, ``randomizationFactor`` 0.5 multiplicative, unlimited attempts; :func:`reconnect_delay_s`) after a
transport close / error or a dropped network — never after the server's own disconnect (``io server disconnect``).
On NiceGUI 3.x pages the window also sends ``ack {client_id, next_message_id}`` every 3 s when new messages arrived
(3.18.0 nicegui.js ``setInterval(ack, 3000)``; the server prunes its outbox history with it).

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

from clientsim.server.wire import WINDOW_QUERY

from ..tasks import complete
from . import dialect
from .page import js_query_value
from .state import CONNECTED, DISCONNECTED, HANDSHAKE_DONE, LOAD_FAILED, WindowView

CONNECT_TIMEOUT_S = 5
"""Seconds python-socketio waits for the connect (``wait_timeout``) and for the handshake ack."""
ACK_INTERVAL_S = 3.0
"""NiceGUI 3.18.0 nicegui.js ``setInterval(ack, 3000)``."""
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
    writes the window's ``state``, ``sid``, ``page_error``, ``next_message_id`` and ``handshakes_rejected`` and
    stamps its steps on the window's timeline. Sockets silenced by :meth:`drop` are kept until
    :meth:`discard_dropped` (the window's close).
    """

    def __init__(self, window: WindowView, on_message: Callable[[str, Any], None]) -> None:
        self.window = window
        self.on_message = on_message
        self.sio: Optional[socketio.AsyncClient] = None
        self.handshake_task: Optional[asyncio.Task] = None
        self._closing = False  # True while leave() disconnects: that disconnect is the client's, not the server's
        self._reloaded_after_reject = False  # reload once only, to avoid a reload loop
        self._dropped: list[tuple[socketio.AsyncClient, Any]] = []  # (socket, its websocket) of drop()
        self.reconnect_task: Optional[asyncio.Task] = None  # the auto-reconnect loop, while it runs
        self._rng: Optional[random.Random] = None  # reconnect jitter (see rng), made on first use: 2.8 KB each
        self._acked_message_id = 0

    @property
    def rng(self) -> random.Random:
        """The reconnect jitter generator, seeded with the window name (the same jitter for the same name)."""
        if self._rng is None:
            self._rng = random.Random(self.window.name)
        return self._rng

    @property
    def connected(self) -> bool:
        """True while the current socket is connected."""
        return self.sio is not None and self.sio.connected

    async def open(self, url: str, generation: int, *, handshake: bool = True, wait: bool = True) -> None:
        """Connect a new socket for the window's current page and send the handshake (the shared tail of a page
        load and a reconnect).

        ``url`` is the page URL (its scheme and host are used); ``generation`` the window's ``_load_generation``
        of this load. A refused connect sets ``state = 'load failed'``. With an implicit handshake (NiceGUI 3.7+)
        the connect was the handshake. Otherwise, with ``handshake``, the handshake is sent after
        ``latency.handshake_ms`` in a task of the window; with ``wait`` this returns once it was answered."""
        window = self.window
        if not await self._connect(url):
            return
        if window.implicit_handshake:  # NiceGUI 3.7+: the connect was the handshake (finishHandshake(true))
            window._record('handshake_acked', ok=True, implicit=True)
            window.state = HANDSHAKE_DONE
            window._changed()
            return
        if handshake:
            self.handshake_task = window._tasks.spawn(self._handshake(generation), name=f'{window.name} handshake')
            if wait:
                await asyncio.gather(self.handshake_task, return_exceptions=True)

    async def _connect(self, url: str) -> bool:
        window = self.window
        parts = urllib.parse.urlsplit(url)
        base = f'{parts.scheme}://{parts.netloc}'
        query = urllib.parse.urlencode({k: js_query_value(v) for k, v in dialect.socket_query(window).items()}
                                       | {WINDOW_QUERY: window.name})
        self._acked_message_id = 0
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=window._session)
        self._install_handlers(sio)
        self.sio = sio
        # a task of its own: python-engineio loses the websocket response of a connect cancelled while it waits
        # for the engine.io OPEN packet (nobody closes it: "Unclosed response"), so a cancelled page load lets
        # the connect finish and then closes it (_abandon)
        connecting = asyncio.ensure_future(
            sio.connect(f'{base}?{query}', socketio_path=dialect.socketio_path(window.prefix),
                        transports=['websocket'], wait_timeout=CONNECT_TIMEOUT_S))
        try:
            await asyncio.shield(connecting)
        except asyncio.CancelledError:
            if self.sio is sio:
                self.sio = None
            await complete(self._abandon(sio, connecting))
            raise
        except (socketio.exceptions.ConnectionError, aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            window.page_error = f'socket connect failed: {e}'
            window.state = LOAD_FAILED
            window._record('socket_connect_failed', error=str(e))
            self.sio = None
            window._changed()
            if dialect.IMPLICIT_HANDSHAKE_REFUSED in str(e) and not self._reloaded_after_reject:
                # NiceGUI 3.7+ nicegui.js connect_error: reload once the server refused the implicit handshake
                self._reloaded_after_reject = True
                window._tasks.spawn(window.reload(), name=f'{window.name} reload')
            return False
        window.sid = sio.get_sid()
        window.state = CONNECTED
        window._record('socket_connected_client')
        window._changed()
        if dialect.major_version(window.version) >= 3:
            window._tasks.spawn(self._ack_loop(sio), name=f'{window.name} ack')
        return True

    @staticmethod
    async def _abandon(sio: socketio.AsyncClient, connecting: asyncio.Future) -> None:
        """Close the socket of a page load that was cancelled while it connected: wait for the connect (at most
        ``2 * CONNECT_TIMEOUT_S``; a connect still hanging then is cancelled) and disconnect what it opened."""
        done, _ = await asyncio.wait({connecting}, timeout=2 * CONNECT_TIMEOUT_S)
        if not done:
            connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
        await sio.disconnect()

    async def _ack_loop(self, sio: socketio.AsyncClient) -> None:
        """Every 3 s while ``sio`` is the current socket: ``ack {client_id, next_message_id}`` once the handshake is
        done and messages arrived since the last ack (3.18.0 nicegui.js ``ack()``)."""
        window = self.window
        while self.sio is sio:
            await asyncio.sleep(ACK_INTERVAL_S)
            if self.sio is not sio or not sio.connected or window.state != HANDSHAKE_DONE:
                continue
            if self._acked_message_id >= window.next_message_id:
                continue
            data = {'client_id': window.client_id, 'next_message_id': window.next_message_id}
            window._frame('sent', 'ack', data)
            try:
                await sio.emit('ack', data)
            except socketio.exceptions.BadNamespaceError:
                continue
            self._acked_message_id = window.next_message_id
            window.acks_sent += 1
            window._changed()

    async def _handshake(self, generation: int) -> None:
        window = self.window
        if window.latency.handshake_ms:
            await asyncio.sleep(window.latency.handshake_ms / 1000)
        sio = self.sio
        if sio is None or generation != window._load_generation or not sio.connected:
            return
        data = dialect.handshake_data(window)
        window._record('handshake_sent', document_id=window.document_id)
        window._frame('sent', 'handshake', data)
        try:
            ok = await sio.call('handshake', data, timeout=CONNECT_TIMEOUT_S)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                socketio.exceptions.DisconnectedError) as e:
            window._record('handshake_failed', error=f'{type(e).__name__}: {e}')
            return
        window._frame('received', 'handshake ack', ok)
        window._record('handshake_acked', ok=bool(ok))
        if not ok:
            window.handshakes_rejected += 1
        if generation != window._load_generation:
            return
        if ok:
            window.state = HANDSHAKE_DONE
            window._changed()
        elif not self._reloaded_after_reject:  # nicegui.js: window.location.reload()
            self._reloaded_after_reject = True
            window._tasks.spawn(window.reload(), name=f'{window.name} reload')
        else:
            window.page_error = 'handshake rejected: the server does not know this client_id'
            window._changed()

    def _install_handlers(self, sio: socketio.AsyncClient) -> None:
        window = self.window

        @sio.on('disconnect')
        async def _on_disconnect(reason: Any = None) -> None:
            if self.sio is sio and not self._closing:  # the server closed it, or the transport failed
                window._record('disconnect_client', by='server', reason=str(reason))
                window.state = DISCONNECTED
                window._changed()
                if window.auto_reconnect and str(reason) != SERVER_DISCONNECT:
                    self.start_auto_reconnect(0.0)

        @sio.on('*')
        async def _on_message(event: str, payload: Any = None) -> None:
            if self.sio is not sio:
                return
            window._frame('received', event, payload)
            if isinstance(payload, dict) and isinstance(payload.get('_id'), int):
                if payload['_id'] < window.next_message_id:
                    window._record('message_dropped', event=event, message_id=payload['_id'],
                                   next_message_id=window.next_message_id)
                    window._changed()
                    return
                window.next_message_id = payload['_id'] + 1
            self.on_message(event, payload)

    async def emit(self, event: str, payload: Any) -> None:
        """Send ``event`` with ``payload`` on the current socket. Raises RuntimeError when it is not connected."""
        if self.sio is None or not self.sio.connected:
            raise RuntimeError(f'window {self.window.name!r}: not connected')
        await self.sio.emit(event, payload)

    def start_auto_reconnect(self, notice_s: float) -> None:
        """Start the reconnect loop (unless one runs) ``notice_s`` seconds from now (the time the page needs to
        notice the loss; 0 for a closed transport)."""
        if self.reconnect_task is None or self.reconnect_task.done():
            self.reconnect_task = self.window._tasks.spawn(self._reconnect_loop(notice_s),
                                                           name=f'{self.window.name} auto-reconnect')

    async def _reconnect_loop(self, notice_s: float) -> None:
        """socket.io-client's reconnection: wait :func:`reconnect_delay_s`, reconnect (same page), repeat until a
        socket is up; stops when the window loads another page or closes."""
        window = self.window
        await asyncio.sleep(notice_s)
        generation = window._load_generation
        window._record('connection_lost_noticed')
        attempt = 0
        while window._session is not None and generation == window._load_generation:
            delay_s = reconnect_delay_s(attempt, self.rng)
            window._record('reconnect_scheduled', attempt=attempt + 1, delay_ms=round(delay_s * 1000))
            await asyncio.sleep(delay_s)
            if window._session is None or generation != window._load_generation:
                return
            await window._auto_reconnect()
            generation = window._load_generation
            if self.connected:
                return
            attempt += 1

    async def _cancel_handshake(self) -> None:
        if self.handshake_task is not None and not self.handshake_task.done():
            self.handshake_task.cancel()
            await asyncio.gather(self.handshake_task, return_exceptions=True)
        self.handshake_task = None

    async def leave(self) -> None:
        """A page unload: cancel a pending handshake and close the current socket, if any (the window then shows
        ``disconnected``; ``disconnect_client by=client`` is recorded)."""
        await self._cancel_handshake()
        task = self.reconnect_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        sio, self.sio = self.sio, None
        if sio is not None:
            self._closing = True
            try:
                self.window._record('disconnect_client', by='client')
                await complete(sio.disconnect())  # a cancelled page unload still closes its socket
            finally:
                self._closing = False
            self.window.state = DISCONNECTED

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
        window.state = DISCONNECTED
        window._record('connection_dropped')
        window._changed()
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
                    await asyncio.wait_for(closing, 1.0)
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
