"""The server's engine.io pings without a sleeping task per socket (issue 24).

python-engineio 4.x (``engineio/async_socket.py``, 4.14.0–4.15.1) schedules each socket's next PING with
``server.start_background_task(socket._send_ping)``: a task that sleeps ``ping_interval`` seconds, then, unless the
socket is closing or closed, stamps ``last_ping`` and sends a PING packet. At any moment every connected socket has
one such task asleep: on CPython 3.11 its Task, coroutine frames, sleep future and timer hold ~1 KB per socket
(tracemalloc). :class:`PingTimers` keeps one loop timer per socket instead, and only starts a task for the send
itself, when the ping is due: the same interval, the same checks, the same ``last_ping`` clock (the module's
``time``, which :mod:`clientsim.simulator.virtual_time` replaces), the same packet.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine

import engineio.async_socket
from engineio import packet

from clientsim.simulator.tasks import KeyedTimers, known_method

KNOWN_SOURCES = {'_send_ping': 'af7d301862db9af7', 'schedule_ping': 'ce99733916e924e7'}
""":func:`~clientsim.simulator.tasks.source_digest` of ``AsyncSocket._send_ping`` and ``schedule_ping`` in
python-engineio 4.14.0–4.15.1, the text :class:`PingTimers` repeats (4.11–4.13 clear ``last_ping`` in
``_send_ping`` instead of ``schedule_ping``)."""


SEND_PING = known_method(engineio.async_socket.AsyncSocket, KNOWN_SOURCES, '_send_ping')
"""python-engineio's per-socket ping coroutine function when its text is the known one, else None (another
release keeps its own ping tasks: nothing is replaced)."""


def is_send_ping(target: Any, args: tuple, kwargs: dict) -> bool:
    """Whether ``start_background_task(target, *args, **kwargs)`` is python-engineio's ``socket._send_ping()``."""
    return SEND_PING is not None and getattr(target, '__func__', None) is SEND_PING and not args and not kwargs


class PingTimers:
    """``PingTimers(eio, spawn)``: the pending PING of every socket of the engine.io server ``eio``, as a loop timer.

    :meth:`schedule` (instead of ``start_background_task(socket._send_ping)``) arms a timer of ``eio.ping_interval``
    seconds; when it fires, a socket neither closing nor closed gets ``last_ping`` stamped and a PING sent, in a task
    started with ``spawn(coroutine)`` (the server's :class:`~clientsim.simulator.tasks.TaskGroup`), as
    ``AsyncSocket._send_ping`` does after its sleep. :meth:`cancel_all` drops every armed timer (server stop).
    ``pending`` counts the armed timers, ``sent`` the PINGs sent."""

    __slots__ = ('_eio', '_spawn', '_timers', 'sent')

    def __init__(self, eio: Any, spawn: Callable[[Coroutine[Any, Any, None]], Any]) -> None:
        self._eio = eio
        self._spawn = spawn
        self._timers = KeyedTimers(self._due)
        self.sent = 0

    @property
    def pending(self) -> int:
        """Armed timers (sockets whose next PING is not yet due)."""
        return len(self._timers)

    def schedule(self, socket: Any) -> asyncio.TimerHandle:
        """Arm ``socket``'s next PING in ``eio.ping_interval`` seconds; returns the timer."""
        return self._timers.arm(socket, self._eio.ping_interval)

    def cancel_all(self) -> None:
        """Cancel every armed timer (their sockets get no further PING)."""
        self._timers.cancel_all()

    def _due(self, socket: Any) -> None:
        if not socket.closing and not socket.closed:
            self._spawn(self._send(socket))

    async def _send(self, socket: Any) -> None:
        if not socket.closing and not socket.closed:
            socket.last_ping = engineio.async_socket.time.time()
            self.sent += 1
            await socket.send(packet.Packet(packet.PING))
