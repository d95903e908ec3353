"""A recording TCP proxy in front of the app: both Chromium and clientsim reach the app through it, so one observer
sees both sides' requests the same way (:class:`RecordingProxy`).

For each client TCP connection it records the HTTP/1.1 requests sent on it (method, path, headers, perf_counter_ns
time, the connection's number and the request's index on it), and for a websocket upgrade the close code of the
client's close frame (RFC 6455 §5.5.1: opcode 8, masked, the first two payload bytes) and when the connection
ended. Only the client → app direction is parsed; the app's bytes are passed through untouched.
"""
from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field
from typing import Optional

from ..tasks import wait_for


@dataclass
class Request:
    """One HTTP request seen on a client connection: ``connection`` (number), ``index`` (0 = the connection's
    first request), ``t_ns`` (perf_counter_ns when its head was complete), ``method``, ``target`` (path and query),
    ``headers`` (names lower-cased). For a websocket: ``close_code`` of the client's close frame (None: none sent)
    and ``closed_ns`` (when the TCP connection ended)."""
    connection: int
    index: int
    t_ns: int
    method: str
    target: str
    headers: dict[str, str]
    close_code: Optional[int] = None
    closed_ns: Optional[int] = None
    upstream_down: bool = False  # the app was down: the proxy refused the connection after reading the head

    @property
    def path(self) -> str:
        """The target without its query."""
        return self.target.split('?', 1)[0]

    @property
    def websocket(self) -> bool:
        """True for a websocket upgrade."""
        return self.headers.get('upgrade', '').lower() == 'websocket'


def _parse_head(connection: int, index: int, head: bytes, upstream_down: bool = False) -> Request:
    lines = head.decode('latin-1').strip().split('\r\n')
    method, target = (lines[0].split(' ') + ['', ''])[:2]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(':')
        headers[name.strip().lower()] = value.strip()
    return Request(connection, index, time.perf_counter_ns(), method, target, headers, upstream_down=upstream_down)


@dataclass
class RecordingProxy:
    """``RecordingProxy(upstream_port)``; :meth:`start` listens on 127.0.0.1 (``port``), :attr:`requests` fills."""
    upstream_port: int
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    _server: Optional[asyncio.base_events.Server] = None
    _connections: int = 0
    _tasks: set = field(default_factory=set)

    async def start(self) -> int:
        """Listen on a free port of 127.0.0.1; returns it."""
        self._server = await asyncio.start_server(self._handle, '127.0.0.1', 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stop listening and cut every open connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self._connections += 1
        number = self._connections
        try:
            up_reader, up_writer = await asyncio.open_connection('127.0.0.1', self.upstream_port)
        except OSError:  # the app is down: record what the client tried, then refuse as the app would
            try:
                head = await wait_for(reader.readuntil(b'\r\n\r\n'), 1.0)
                self.requests.append(_parse_head(number, 0, head, upstream_down=True))
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                pass
            writer.close()
            self._tasks.discard(task)
            return
        back = asyncio.ensure_future(self._pump(up_reader, writer))
        try:
            await self._client_side(number, reader, up_writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for request in self.requests:
                if request.connection == number and request.websocket and request.closed_ns is None:
                    request.closed_ns = time.perf_counter_ns()
            back.cancel()
            await asyncio.gather(back, return_exceptions=True)
            for w in (writer, up_writer):
                w.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def _client_side(self, number: int, reader: asyncio.StreamReader, up: asyncio.StreamWriter) -> None:
        buffer = b''
        index = 0
        while True:
            while b'\r\n\r\n' not in buffer:
                data = await reader.read(65536)
                if not data:
                    return
                up.write(data)
                buffer += data
            head, _, buffer = buffer.partition(b'\r\n\r\n')
            request = _parse_head(number, index, head)
            self.requests.append(request)
            index += 1
            if request.websocket:
                await self._websocket(request, buffer, reader, up)
                return
            length = int(request.headers.get('content-length') or 0)
            while len(buffer) < length:
                data = await reader.read(65536)
                if not data:
                    return
                up.write(data)
                buffer += data
            buffer = buffer[length:]

    @staticmethod
    async def _websocket(request: Request, buffer: bytes, reader: asyncio.StreamReader,
                         up: asyncio.StreamWriter) -> None:
        while True:
            while True:  # parse whole frames out of the buffer
                if len(buffer) < 2:
                    break
                opcode, length = buffer[0] & 0x0F, buffer[1] & 0x7F
                offset = 2
                if length == 126:
                    if len(buffer) < 4:
                        break
                    length, offset = struct.unpack('!H', buffer[2:4])[0], 4
                elif length == 127:
                    if len(buffer) < 10:
                        break
                    length, offset = struct.unpack('!Q', buffer[2:10])[0], 10
                masked = buffer[1] & 0x80
                end = offset + (4 if masked else 0) + length
                if len(buffer) < end:
                    break
                if opcode == 8 and request.close_code is None:
                    payload = buffer[end - length:end]
                    if masked:
                        mask = buffer[offset:offset + 4]
                        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
                    request.close_code = struct.unpack('!H', payload[:2])[0] if len(payload) >= 2 else 1005
                buffer = buffer[end:]
            data = await reader.read(65536)
            if not data:
                request.closed_ns = time.perf_counter_ns()
                return
            up.write(data)
            buffer += data
