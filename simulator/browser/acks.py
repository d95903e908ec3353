"""nicegui.js's acks for one window: :class:`Acks` (a part of :mod:`.connection`).

2.11.0 and 3.18.0 ``nicegui/static/nicegui.js``: ``createApp`` starts ``setInterval(() => ack(), 3000)``;
``ack()`` emits ``ack {client_id, next_message_id}`` unless ``ackedMessageId >= nextMessageId`` (3.x also waits
for ``did_handshake``). ``ackedMessageId`` starts at -1 in ``mounted``, so the first tick acks even without a
message; later ticks ack only when messages arrived. An ack emitted while the socket is down sits in
socket.io-client's send buffer and goes out at the next connect, before the connect handler sends the handshake.
Measured in Chromium 156 (``clientsim conform``'s "ack cadence"): acks 3.3–5.0 s after the page GET, then 3 s apart.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Optional

import socketio

from . import dialect
from .state import WindowView

ACK_INTERVAL_S = 3.0
"""NiceGUI 2.11.0 and 3.18.0 nicegui.js ``setInterval(() => ack(), 3000)`` in ``createApp``."""


class Acks:
    """``Acks(window, current_socket)``: :meth:`start_page` at each page start, :meth:`stop` at the window's close;
    ``did_handshake`` is set by the connection; :meth:`flush` sends a buffered ack on the socket
    ``current_socket()`` returns.

    The 3 s interval is a ``loop.call_later`` timer, not a task sleeping in a loop (issue 24: a sleeping task per
    window held ~1 KB): a tick that has an ack to send runs as a short task of the window; the next tick is due
    3 s after the previous one was, as with ``setInterval``."""

    def __init__(self, window: WindowView, current_socket: Callable[[], Optional[socketio.AsyncClient]]) -> None:
        self.window = window
        self.current_socket = current_socket
        self.did_handshake = False
        self.acked_message_id = -1
        self.buffered: Optional[dict[str, Any]] = None
        self._timer: Optional[asyncio.TimerHandle] = None

    def start_page(self) -> None:
        """A new page started (nicegui.js ``createApp``): restart the 3 s timer, ``ackedMessageId = -1``,
        ``did_handshake = false``, no buffered ack. Must run inside the event loop."""
        self.stop()
        self.acked_message_id, self.did_handshake, self.buffered = -1, False, None
        self._schedule(self.window.document_id)

    def stop(self) -> None:
        """Stop the timer (the window closes); a tick already running ends on its own."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _schedule(self, document_id: Optional[str]) -> None:
        """The next tick in 3 s, while the page ``document_id`` is shown and the window has its HTTP session."""
        window = self.window
        if window.document_id == document_id and window.ports.session() is not None:
            self._timer = asyncio.get_running_loop().call_later(ACK_INTERVAL_S, self._due, document_id)
        else:
            self._timer = None

    def _due(self, document_id: Optional[str]) -> None:
        window = self.window
        if window.document_id == document_id and self._ack_due():
            window.ports.tasks.spawn(self.tick(), name=f'{window.name} ack')
        self._schedule(document_id)  # ends the timer when the page or the session is gone

    def _ack_due(self) -> bool:
        """Whether nicegui.js ``ack()`` would emit now: on 3.x only after the handshake, and only when a message
        arrived since the last ack."""
        window = self.window
        if dialect.major_version(window.version) >= 3 and not self.did_handshake:
            return False
        return self.acked_message_id < window.next_message_id

    async def tick(self) -> None:
        """nicegui.js ``ack()``: nothing on 3.x before the handshake or when no message arrived since the last ack;
        else ``ack {client_id, next_message_id}`` — sent, or buffered while the socket is down."""
        window = self.window
        if not self._ack_due():
            return
        self.acked_message_id = window.next_message_id
        self.buffered = {'client_id': window.client_id, 'next_message_id': window.next_message_id}
        await self.flush()

    async def flush(self) -> None:
        """Send the buffered ack, if any, when the current socket is connected."""
        data, sio = self.buffered, self.current_socket()
        if data is None or sio is None or not sio.connected:
            return
        self.buffered = None
        self.window.ports.frame('sent', 'ack', data)
        try:
            await sio.emit('ack', data)
        except socketio.exceptions.BadNamespaceError:
            self.buffered = data
            return
        self.window.acks_sent += 1
        self.window.ports.changed()
