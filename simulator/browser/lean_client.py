"""The socket.io client class of a window's sockets: python-socketio's ``AsyncClient``, leaner per socket (issue 24).

Three changes, none visible on the wire: the engine.io client's send queue and events are
:class:`~clientsim.simulator.tasks.LeanQueue` / :class:`~clientsim.simulator.tasks.LeanEvent`
(:func:`~clientsim.simulator.tasks.lean_engineio`), on CPython 3.11 its websocket read loop waits without a task
of its own (:func:`untasked_read_loop`), and its websocket write loop is callbacks, not a task asleep
(:func:`callback_write_loop`).
"""
from __future__ import annotations

import asyncio
import functools
import sys
from typing import Any

import aiohttp
import engineio.base_client
import engineio.packet
import socketio

from ..tasks import LeanQueue, QueueWaiter, lean_engineio, source_digest

KNOWN_READ_LOOP = 'ba1a9fab366e28b8'
""":func:`~clientsim.simulator.tasks.source_digest` of ``AsyncClient._read_loop_websocket`` in python-engineio
4.14.0–4.15.1, the loop :func:`untasked_read_loop` repeats step for step."""
KNOWN_WRITE_LOOP = '81481845afb1329d'
""":func:`~clientsim.simulator.tasks.source_digest` of ``AsyncClient._write_loop`` in python-engineio 4.14.0–4.15.1,
the loop :class:`CallbackWriteLoop` repeats step for step (its websocket branch)."""


class LeanAsyncClient(socketio.AsyncClient):
    """python-socketio 5.x ``AsyncClient`` on an engine.io client whose send queue and events are
    :class:`~clientsim.simulator.tasks.LeanQueue` / :class:`~clientsim.simulator.tasks.LeanEvent` (issue 24: ~5 KB
    less per window and no ``Queue.get`` task while the socket is idle; the wire protocol is unchanged), and whose
    websocket read loop waits without a task of its own (:func:`untasked_read_loop`), and whose websocket write loop
    has no task while it waits (:func:`callback_write_loop`)."""

    def _engineio_client_class(self) -> type:
        return callback_write_loop(untasked_read_loop(lean_engineio(super()._engineio_client_class())))


@functools.cache
def untasked_read_loop(engineio_class: type) -> type:
    """On CPython 3.11, a subclass of a python-engineio 4.x ``AsyncClient`` class whose ``_read_loop_websocket``
    awaits ``ws.receive()`` under ``asyncio.timeout`` instead of ``asyncio.wait_for``; elsewhere the class itself.

    Why: CPython 3.11's ``asyncio.wait_for`` wraps the coroutine in a Task, so an idle window held a second task
    (``ClientWebSocketResponse.receive``) with its frame, waiter future, timer and callback, ~1 KB (tracemalloc,
    issue 24); 3.12 rebuilt ``wait_for`` on ``asyncio.timeout`` and needs nothing. The loop is python-engineio
    4.14.0–4.15.1's own, step for step, and replaces it only while the library's text is that one
    (:data:`KNOWN_READ_LOOP`): the same timeout (``ping_interval + ping_timeout`` s), the same ``None`` put on the
    send queue on every way out, the same log lines, and the same end (wait for the write loop; a ``disconnect``
    with ``TRANSPORT_ERROR`` if still connected). Any other python-engineio keeps its own loop."""
    if sys.version_info >= (3, 12) \
            or source_digest(getattr(engineio_class, '_read_loop_websocket', None)) != KNOWN_READ_LOOP:
        return engineio_class

    class Untasked(engineio_class):  # type: ignore[misc, valid-type]
        async def _read_loop_websocket(self) -> None:
            while self.state == 'connected' and self.write_loop_task:
                try:
                    async with asyncio.timeout(self.ping_interval + self.ping_timeout):
                        message = await self.ws.receive()
                except asyncio.TimeoutError:
                    self.logger.warning('Server has stopped communicating, aborting')
                    await self.queue.put(None)
                    break
                except aiohttp.client_exceptions.ServerDisconnectedError:
                    self.logger.info('Read loop: WebSocket connection was closed, aborting')
                    await self.queue.put(None)
                    break
                except Exception as e:
                    self.logger.info('Unexpected error receiving packet: "%s", aborting', str(e))
                    await self.queue.put(None)
                    break
                if not isinstance(message.data, (str, bytes)):
                    self.logger.warning('Server sent %s packet data %s, aborting',
                                        'close' if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING)
                                        else str(message.type), str(message.data))
                    await self.queue.put(None)
                    break  # the connection is broken
                try:
                    pkt = engineio.packet.Packet(encoded_packet=message.data)
                except Exception as e:
                    self.logger.info('Unexpected error decoding packet: "%s", aborting', str(e))
                    await self.queue.put(None)
                    break
                await self._receive_packet(pkt)
            if self.write_loop_task:
                self.logger.info('Waiting for write loop task to end')
                await self.write_loop_task
            if self.state == 'connected':
                await self._trigger_event('disconnect', self.reason.TRANSPORT_ERROR, run_async=False)
                try:
                    engineio.base_client.connected_clients.remove(self)
                except ValueError:
                    pass
                await self._reset()
            self.logger.info('Exiting read loop task')

    Untasked.__name__ = Untasked.__qualname__ = f'Untasked{engineio_class.__name__}'
    return Untasked


@functools.cache
def callback_write_loop(engineio_class: type) -> type:
    """A subclass of a python-engineio 4.x ``AsyncClient`` class whose websocket write loop is a
    :class:`CallbackWriteLoop` instead of a task, while the library's ``_write_loop`` text is the known one
    (:data:`KNOWN_WRITE_LOOP`); else the class itself. Only a loop that starts on the websocket transport with a
    :class:`~clientsim.simulator.tasks.LeanQueue` is replaced: a polling one (later upgraded) stays python-engineio's.

    Why: the write loop waits on ``asyncio.wait_for(queue.get(), max(ping_interval, ping_timeout) + 5)`` for most of
    a window's life: its Task, frames, waiter and timer, ~1.6–1.9 KB of RSS per window (``benchmarks/bench_scale.py``,
    2,000 private windows, CPython 3.11)."""
    if source_digest(getattr(engineio_class, '_write_loop', None)) != KNOWN_WRITE_LOOP:
        return engineio_class

    class CallbackWriting(engineio_class):  # type: ignore[misc, valid-type]
        def start_background_task(self, target: Any, *args: Any, **kwargs: Any) -> Any:
            if getattr(target, '__func__', None) is engineio_class._write_loop and target.__self__ is self \
                    and not args and not kwargs and self.current_transport == 'websocket' \
                    and isinstance(self.queue, LeanQueue):
                return CallbackWriteLoop(self)
            return super().start_background_task(target, *args, **kwargs)

    CallbackWriting.__name__ = CallbackWriting.__qualname__ = f'CallbackWriting{engineio_class.__name__}'
    return CallbackWriting


class CallbackWriteLoop(QueueWaiter):
    """``CallbackWriteLoop(client)``: python-engineio 4.14.0–4.15.1 ``AsyncClient._write_loop`` on the websocket
    transport, as callbacks: a waiting loop is the send queue's getter future and a timer
    (:class:`~clientsim.simulator.tasks.QueueWaiter`), not a task. It stands where the loop's task stood
    (``client.write_loop_task``): true while it runs, awaitable until it ends, and cancelling an awaiter ends it, as
    cancelling the task would.

    Steps, as python-engineio: while ``client.state`` is ``'connected'``, wait for a packet for at most
    ``max(ping_interval, ping_timeout) + 5`` s (on expiry log ``packet queue is empty, aborting`` and end); a lone
    ``None`` ends; else take every packet already queued (a ``None`` ends the batch and, after it, the loop); send
    them in order, text or binary, each ``task_done``; a closed connection (``ServerDisconnectedError``,
    ``BrokenPipeError``, ``OSError``) logs and ends. Ending logs ``Exiting write loop task`` and sets
    ``client.write_loop_task`` to None; another exception ends it without that, raised to whoever awaits it."""

    __slots__ = ('_client', '_done')

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._client = client
        self._done: asyncio.Future = asyncio.get_running_loop().create_future()
        self._done.add_done_callback(self._awaiter_cancelled)
        self._wait()

    def __await__(self) -> Any:
        return self._done.__await__()

    def _wait(self) -> None:
        client = self._client
        if client.state != 'connected':
            self._end()
            return
        self._wait_item(client.queue, max(client.ping_interval, client.ping_timeout) + 5)

    def _on_timeout(self) -> None:
        self._client.logger.error('packet queue is empty, aborting')
        self._end()

    def _on_item(self, first: Any) -> None:
        client = self._client
        queue = client.queue
        packets = [first]
        if packets == [None]:
            queue.task_done()
            packets = []
        else:
            while True:
                try:
                    packets.append(queue.get_nowait())
                except client.queue_empty:
                    break
                if packets[-1] is None:
                    packets = packets[:-1]
                    queue.task_done()
                    break
        if not packets:  # empty packet list -> connection closed
            self._end()
            return
        self._sending = asyncio.ensure_future(self._send(packets))

    async def _send(self, packets: list) -> None:
        client = self._client
        try:
            for pkt in packets:
                if pkt.binary:
                    await client.ws.send_bytes(pkt.encode())
                else:
                    await client.ws.send_str(pkt.encode())
                client.queue.task_done()
        except (aiohttp.client_exceptions.ServerDisconnectedError, BrokenPipeError, OSError):
            client.logger.info('Write loop: WebSocket connection was closed, aborting')
            self._end()
            return
        except asyncio.CancelledError:  # the task would have been cancelled
            self._done.cancel()
            return
        except BaseException as e:  # the task would have died with it
            if not self._done.done():
                self._done.set_exception(e)
            return
        self._sending = None
        self._wait()

    def _end(self) -> None:
        self._client.logger.info('Exiting write loop task')
        self._client.write_loop_task = None
        if not self._done.done():
            self._done.set_result(None)

    def _awaiter_cancelled(self, done: asyncio.Future) -> None:
        if not done.cancelled():
            return
        self._cancel_pending()
        if self._client.write_loop_task is self:
            self._client.logger.info('Exiting write loop task')
            self._client.write_loop_task = None
