"""The socket.io client class of a window's sockets: python-socketio's ``AsyncClient``, leaner per socket (issue 24).

Two changes, neither visible on the wire: the engine.io client's send queue and events are
:class:`~clientsim.simulator.tasks.LeanQueue` / :class:`~clientsim.simulator.tasks.LeanEvent`
(:func:`~clientsim.simulator.tasks.lean_engineio`), and on CPython 3.11 its websocket read loop waits without a task
of its own (:func:`untasked_read_loop`).
"""
from __future__ import annotations

import asyncio
import functools
import sys

import aiohttp
import engineio.base_client
import engineio.packet
import socketio

from ..tasks import lean_engineio, source_digest

KNOWN_READ_LOOP = 'ba1a9fab366e28b8'
""":func:`~clientsim.simulator.tasks.source_digest` of ``AsyncClient._read_loop_websocket`` in python-engineio
4.14.0–4.15.1, the loop :func:`untasked_read_loop` repeats step for step."""


class LeanAsyncClient(socketio.AsyncClient):
    """python-socketio 5.x ``AsyncClient`` on an engine.io client whose send queue and events are
    :class:`~clientsim.simulator.tasks.LeanQueue` / :class:`~clientsim.simulator.tasks.LeanEvent` (issue 24: ~5 KB
    less per window and no ``Queue.get`` task while the socket is idle; the wire protocol is unchanged), and whose
    websocket read loop waits without a task of its own (:func:`untasked_read_loop`)."""

    def _engineio_client_class(self) -> type:
        return untasked_read_loop(lean_engineio(super()._engineio_client_class()))


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
