"""The outbox of one client: message ids, the message history and replay on reconnect.

Modelled on NiceGUI 2.11.0 ``nicegui/outbox.py``: every message a client sends gets the next message id
(``_id`` in the payload) and is kept in a bounded history, so that a socket whose handshake carries an older
``next_message_id`` can be sent what it missed (``Outbox.try_rewind``). Unlike NiceGUI there is no send loop:
messages are emitted at once. A leaf: it knows nothing of the server but an ``emit`` coroutine function.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Awaitable, Callable

Emit = Callable[[str, dict, str], Awaitable[Any]]
"""``await emit(event, payload, room)``: send ``event`` with ``payload`` to a socket.io room (a sid or a client_id)."""

HISTORY_LENGTH = 1000
"""Messages kept for replay per client (oldest dropped first)."""


class Outbox:
    """``Outbox(client_id, emit)``: numbers, keeps and replays the messages of the client ``client_id``.

    ``next_message_id`` (int) is the id the next message gets, starting at 0. ``history`` is a deque of
    ``(message_id, event, payload, room)`` tuples, at most :data:`HISTORY_LENGTH` long; ``room`` is the target
    the message was sent to (the client's own room, or one sid). With ``keep_history`` false nothing is kept and
    nothing replayed: NiceGUI 2.11.0 ``outbox.py`` appends to ``message_history`` only ``if not
    self.client.shared``, so a window of the auto-index page whose handshake comes late misses what was sent.
    """

    def __init__(self, client_id: str, emit: Emit, maxlen: int = HISTORY_LENGTH, *, keep_history: bool = True) -> None:
        self.client_id = client_id
        self._emit = emit
        self.keep_history = keep_history
        self.next_message_id = 0
        self._maxlen = maxlen
        self._history: deque[tuple[int, str, dict, str]] | None = None  # made by the first kept message

    @property
    def history(self) -> deque[tuple[int, str, dict, str]]:
        """The kept messages, oldest first (an empty deque before the first; the deque itself is made with the
        first kept message, as an empty deque holds ~0.7 KB and a private page's client may never send one)."""
        return self._history if self._history is not None else deque(maxlen=self._maxlen)

    async def send(self, event: str, payload: dict, target: str | None = None) -> int:
        """Emit ``event`` with a fresh ``_id`` to ``target`` (a sid, or the client's room by default).

        Returns the message id. The payload is copied, never changed. Errors of ``emit`` propagate (the message
        is already in the history and its id used, as in NiceGUI where the id is taken at enqueue time).
        """
        message_id = self.next_message_id
        self.next_message_id += 1
        payload = {**payload, '_id': message_id}
        room = target or self.client_id
        if self.keep_history:
            if self._history is None:
                self._history = deque(maxlen=self._maxlen)
            self._history.append((message_id, event, payload, room))
        await self._emit(event, payload, room)
        return message_id

    async def replay_from(self, next_message_id: int, sid: str) -> int:
        """Re-send to ``sid`` every kept message from ``next_message_id`` on that went to the client's room
        (messages sent to a single sid are not replayed). Returns how many were sent (as NiceGUI 2.11.0
        ``Outbox.try_rewind``)."""
        replayed = 0
        for message_id, event, payload, room in list(self.history):
            if message_id >= next_message_id and room == self.client_id:
                await self._emit(event, payload, sid)
                replayed += 1
        return replayed
