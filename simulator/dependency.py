"""A dependency of a real app that clientsim can stall: a TCP proxy that holds the bytes, and a Redis behind it.

:class:`StallProxy` listens on 127.0.0.1 and forwards every connection to an upstream ``host:port``; while a stall
runs (:meth:`StallProxy.stall`) no byte goes through in either direction, so the app's calls wait — a failover, a
slow command or a network blip, for any TCP dependency (not only Redis). :class:`RedisDependency` starts
``redis-server`` (Debian/Ubuntu package ``redis-server``) on a free port, with no persistence, behind a
:class:`StallProxy`; ``url`` is ``redis://127.0.0.1:<proxy port>``. Used by ``target: {redis: true}`` (problem 6:
NiceGUI 3.x awaits Redis tab storage during the implicit handshake). Stdlib and asyncio only; no Qt.
"""
from __future__ import annotations

import asyncio
import shutil
import socket
import time
from typing import Optional

from .errors import TargetError
from .lifeline import die_with_parent
from .tasks import wait_for

REDIS_SERVER = 'redis-server'
"""The executable :class:`RedisDependency` starts (found on PATH, e.g. /usr/bin/redis-server)."""

CHUNK = 65536

REDIS_URL_PLACEHOLDER = '{redis_url}'
"""Replaced in a target's ``command`` and ``env`` by :attr:`RedisDependency.url`."""


class DependencyError(TargetError, RuntimeError):
    """A dependency of the target (redis-server) is missing or does not start (exit code 3)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class StallProxy:
    """``StallProxy(upstream_port, upstream_host='127.0.0.1')``: ``await start()`` → its port; ``stall(ms)`` holds
    all traffic until ``ms`` **milliseconds** from now (a later end extends a running stall); ``stalls`` lists
    ``(start_ns, end_ns)`` of :func:`time.perf_counter_ns`; ``await stop()`` closes the listener and every
    connection (safe to call twice)."""

    def __init__(self, upstream_port: int, upstream_host: str = '127.0.0.1') -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port: Optional[int] = None
        self.stalls: list[tuple[int, int]] = []
        self._until = 0.0
        self._server: Optional[asyncio.AbstractServer] = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        """Listen on a free port of 127.0.0.1; returns it."""
        self._server = await asyncio.start_server(self._accept, '127.0.0.1', 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def stall(self, ms: float) -> None:
        """Hold every byte in both directions for ``ms`` milliseconds from now."""
        now = time.perf_counter()
        self._until = max(self._until, now + ms / 1000)
        self.stalls.append((time.perf_counter_ns(), time.perf_counter_ns() + int(ms * 1e6)))

    async def _hold(self) -> None:
        while (left := self._until - time.perf_counter()) > 0:
            await asyncio.sleep(left)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for w in (writer, up_writer):
                w.close()
                self._writers.discard(w)
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                await self._hold()
                writer.write(data)
                await writer.drain()
        finally:
            if writer.can_write_eof():
                try:
                    writer.write_eof()
                except OSError:
                    pass

    async def stop(self) -> None:
        """Close the listener and all connections; await their tasks."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


class RedisDependency:
    """A throwaway ``redis-server`` on a free port (``--save '' --appendonly no``) behind a :class:`StallProxy`.

    ``await RedisDependency.start()`` → the running dependency; ``url`` (through the proxy), ``proxy``,
    ``redis_port``; ``await stop()`` stops the proxy and the server (SIGTERM, SIGKILL after 5 s). Raises
    :class:`DependencyError` when ``redis-server`` is not installed (naming the apt package) or does not answer
    within ``ready_timeout_s`` **seconds**."""

    def __init__(self, process: asyncio.subprocess.Process, redis_port: int, proxy: StallProxy) -> None:
        self.process, self.redis_port, self.proxy = process, redis_port, proxy

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<proxy port>``: what the app gets (``{redis_url}``)."""
        return f'redis://127.0.0.1:{self.proxy.port}'

    @classmethod
    async def start(cls, ready_timeout_s: float = 10.0) -> 'RedisDependency':
        executable = shutil.which(REDIS_SERVER)
        if executable is None:
            raise DependencyError('target redis: true needs redis-server (apt-get install redis-server)')
        port = free_port()
        process = await asyncio.create_subprocess_exec(
            executable, '--port', str(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=die_with_parent())  # no orphaned redis-server after a SIGKILL (simulator.lifeline)
        deadline = time.perf_counter() + ready_timeout_s
        while True:
            try:
                _, writer = await asyncio.open_connection('127.0.0.1', port)
                writer.close()
                break
            except OSError:
                if process.returncode is not None or time.perf_counter() > deadline:
                    await _end(process)
                    raise DependencyError(f'redis-server on port {port} did not start within {ready_timeout_s} s') \
                        from None
                await asyncio.sleep(0.05)
        proxy = StallProxy(port)
        await proxy.start()
        return cls(process, port, proxy)

    async def stop(self) -> None:
        """Stop the proxy, then redis-server (safe to call twice)."""
        await self.proxy.stop()
        await _end(self.process)


async def _end(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
