"""The server's engine.io websockets without a task asleep per socket (issue 24).

python-engineio 4.x (``engineio/async_socket.py``, ``AsyncSocket._websocket_handler`` and ``poll``, the same text
from 4.11.0 to 4.15.1) serves a websocket with two tasks besides the request's own: a ``websocket_wait()`` task per
received frame, which it awaits through ``asyncio.wait_for``, and a ``writer()`` task that loops on ``poll()``
(``asyncio.wait_for(queue.get(), ping_interval + ping_timeout)``) and sends what it gets. An idle socket keeps
both asleep: two Tasks with their coroutine frames, futures and timers, ~2.6–2.8 KB of RSS per socket (measured
with ``benchmarks/bench_scale.py``, 2,000 private windows, CPython 3.11).

:func:`untasked_websocket` repeats the handler's steps with neither: the request's task reads under
``asyncio.timeout`` (same limit), and :class:`CallbackWriter` is the writer as callbacks on the send queue's
getter future (:class:`~clientsim.simulator.tasks.LeanQueue`) and a loop timer, with a task only while a batch is
being sent. The packets, their order and batching, the timeouts, the close and the log lines are python-engineio's.
An upgrade from polling keeps python-engineio's own handler. It replaces the handler only while the library's text
is the known one (:data:`KNOWN_SOURCES`) and the socket's queue is a ``LeanQueue``; otherwise nothing changes.
"""
from __future__ import annotations

import asyncio
import functools
from typing import Any

import engineio.async_socket
from engineio import exceptions, packet

from clientsim.simulator.tasks import LeanQueue, QueueWaiter, known_method

KNOWN_SOURCES = {'_websocket_handler': '3548a4051e6f43df', 'poll': '01a7f5df1937d926'}
""":func:`~clientsim.simulator.tasks.source_digest` of ``AsyncSocket._websocket_handler`` (python-engineio
4.11.0–4.15.1) and ``AsyncSocket.poll`` (4.10.1–4.15.1), the steps :func:`untasked_websocket` and
:class:`CallbackWriter` repeat."""


WEBSOCKET_HANDLER = known_method(engineio.async_socket.AsyncSocket, KNOWN_SOURCES, '_websocket_handler')
"""python-engineio's ``AsyncSocket._websocket_handler`` when its text (and ``poll``'s) is the known one, else None
(another release keeps its own handler: nothing is replaced)."""


def install(eio: Any) -> bool:
    """Serve the fresh websockets of the engine.io server ``eio`` (a python-engineio 4.x ``AsyncServer``) with
    :func:`untasked_websocket`. Returns whether it did: False when python-engineio's text is not the known one or
    ``eio`` has no websocket driver. Changes only this server (its own copy of the async driver table)."""
    driver = getattr(eio, '_async', None)
    websocket = driver.get('websocket') if isinstance(driver, dict) else None
    if WEBSOCKET_HANDLER is None or websocket is None:
        return False

    def make_websocket(handler: Any, server: Any) -> Any:  # python-engineio's _upgrade_websocket calls this
        if getattr(handler, '__func__', None) is WEBSOCKET_HANDLER and isinstance(handler.__self__.queue, LeanQueue):
            handler = functools.partial(untasked_websocket, handler.__self__)
        return websocket(handler, server)
    eio._async = {**driver, 'websocket': make_websocket}
    return True


async def untasked_websocket(socket: Any, ws: Any) -> None:
    """python-engineio 4.11.0–4.15.1 ``AsyncSocket._websocket_handler(ws)`` for ``socket`` (an ``AsyncSocket``),
    with its read in this task and its writer a :class:`CallbackWriter`. A socket already connected (an upgrade
    from polling) goes to python-engineio's own handler.

    Steps, as python-engineio: mark the socket connected and upgraded; start the writer; read frames, each within
    ``ping_interval + ping_timeout`` s and at most ``max_http_buffer_size`` long, and hand them to
    ``socket.receive``; on a timeout, a closed or oversized frame, an error or cancellation stop reading; then put
    ``None`` on the send queue, wait for the writer (it closes the websocket) and close the socket with
    ``TRANSPORT_CLOSE``. Raises what the writer's ``ws.close()`` raised, as python-engineio does."""
    if socket.connected:
        return await WEBSOCKET_HANDLER(socket, ws)
    socket.connected = True
    socket.upgraded = True
    server = socket.server
    writer = CallbackWriter(socket, ws)
    server.logger.info('%s: Upgrade to websocket successful', socket.sid)
    while True:
        try:
            async with asyncio.timeout(server.ping_interval + server.ping_timeout):
                data = await ws.wait()
            if data and len(data) > server.max_http_buffer_size:
                raise ValueError('packet is too large')
        except BaseException:  # python-engineio: a bare except (timeout, closed frame, cancellation) stops reading
            break
        if data is None:  # connection closed by client
            break
        pkt = packet.Packet(encoded_packet=data)
        try:
            await socket.receive(pkt)
        except exceptions.UnknownPacketError:
            pass
        except exceptions.SocketIsClosedError:
            server.logger.info('Receive error -- socket is closed')
            break
        except Exception:
            server.logger.exception('Unknown receive error')
    await socket.queue.put(None)  # unlock the writer so it can exit
    await writer.done
    await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)


class CallbackWriter(QueueWaiter):
    """``CallbackWriter(socket, ws)``: python-engineio's ``writer()`` task of a websocket (with ``poll()`` inlined)
    as callbacks: an idle writer is the send queue's getter future and a timer (:class:`QueueWaiter`), not a task.

    Steps, as python-engineio 4.x: wait for the first packet for at most ``ping_interval + ping_timeout`` s (the
    timer; on expiry, stop); take every packet already queued with it (a ``None`` among them is put back and ends
    the batch); a lone ``None`` stops; send the batch in order (a task while it sends; an error stops); wait again.
    Stopping closes the websocket; ``done`` (a Future) then holds None, or the exception ``ws.close()`` raised."""

    __slots__ = ('_socket', '_ws', 'done')

    def __init__(self, socket: Any, ws: Any) -> None:
        super().__init__()
        self._socket = socket
        self._ws = ws
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self._wait()

    def _wait(self) -> None:
        server = self._socket.server
        self._wait_item(self._socket.queue, server.ping_interval + server.ping_timeout)

    def _on_timeout(self) -> None:  # poll()'s wait_for timed out: QueueEmpty, the writer stops
        self._stop()

    def _on_item(self, first: Any) -> None:
        queue = self._socket.queue
        queue.task_done()
        if first is None:  # empty packet list -> connection closed
            self._stop()
            return
        packets = [first]
        while True:
            try:
                pkt = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            queue.task_done()
            if pkt is None:
                queue.put_nowait(None)
                break
            packets.append(pkt)
        self._sending = asyncio.ensure_future(self._send(packets))

    async def _send(self, packets: list) -> None:
        try:
            for pkt in packets:
                await self._ws.send(pkt.encode())
        except BaseException:  # python-engineio: a bare except ends the writer
            await self._close()
            return
        self._sending = None
        self._wait()

    def _stop(self) -> None:
        self._sending = asyncio.ensure_future(self._close())

    async def _close(self) -> None:
        try:
            await self._ws.close()
        except asyncio.CancelledError:
            self.done.cancel()
        except BaseException as e:  # the handler re-raises it, as awaiting python-engineio's writer task does
            if not self.done.done():
                self.done.set_exception(e)
        else:
            if not self.done.done():
                self.done.set_result(None)
