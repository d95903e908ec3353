"""Connection limits of a server that other machines or load tests reach (``clientsim serve``; issue 20, item 2).

:class:`ConnectionLimits` holds three bounds; :class:`EmbeddedServer(limits=...)` applies them, and without
``limits`` (the lab's own windows in ``play`` and the GUI) the server behaves as before:

* ``keepalive_timeout_s`` (default **5 s**, uvicorn's ``timeout_keep_alive``, the server real NiceGUI runs on):
  aiohttp's ``keepalive_timeout``. aiohttp 3.14.5 also starts that timer when a connection opens (aio-libs/aiohttp
  PR #13681), so a connection that never sends a byte, or sends its request headers slower than that
  (slowloris), is closed after it too; a request in progress (a long poll, a websocket) is not affected.
* ``connect_timeout_s`` (default **45 s**, the Socket.IO 4.x server's ``connectTimeout``): an engine.io socket
  that has not joined a socket.io namespace by then is closed (``connect_timeout``), and a socket on ``/`` that
  has not finished its NiceGUI handshake is disconnected (``handshake_timeout``) without running NiceGUI's
  disconnect handling (its client never counted it, so problem 3's KeyError is not provoked by the bound).
  python-socketio 5.18.1 has no such bound. A connect handler still running (``dependency_stall_s``) is not cut.
* ``max_connections``: at most this many HTTP connections at once; one more gets ``503 Service Unavailable``
  with a one-line reason and is closed (``connection_refused``). Default: the open-files limit less a quarter
  (at most 256) kept for everything else, so ``accept()`` does not fail first.

No Qt import; the server layer's leaf helpers only.
"""
from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any, Callable, Optional

import socketio
from aiohttp import web

from clientsim.simulator.tasks import KeyedTimers

log = logging.getLogger('clientsim.server')

#: how long a refused connection may take to send its request before the 503 is written anyway (s)
REFUSAL_READ_S = 1.0
#: the listen backlog: uvicorn's default (aiohttp's is 128; a burst of 2,000 connects overflowed it and the kernel
#: dropped 269 handshakes that the clients still believed open)
BACKLOG = 2048
#: refusals that may wait for their request at once; beyond, a refusal is answered and closed at once
REFUSALS_READ = 32


def default_max_connections() -> int:
    """The open-files soft limit (``RLIMIT_NOFILE``) less a quarter of it, at most 256, for the process's other
    descriptors; at least 1."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1 << 20
    return max(1, soft - min(256, soft // 4))


@dataclass(frozen=True)
class ConnectionLimits:
    """``ConnectionLimits(keepalive_timeout_s=5.0, connect_timeout_s=45.0, max_connections=None)``: see the
    module. Times in **seconds**; ``max_connections`` None means :func:`default_max_connections`. Raises
    ValueError for a timeout that is not positive or a cap below 1."""
    keepalive_timeout_s: float = 5.0
    connect_timeout_s: float = 45.0
    max_connections: Optional[int] = None

    def __post_init__(self) -> None:
        if not self.keepalive_timeout_s > 0 or not self.connect_timeout_s > 0:
            raise ValueError('connection timeouts must be positive seconds')
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError('max_connections must be at least 1')

    @property
    def cap(self) -> int:
        """``max_connections``, or the default from the open-files limit."""
        return self.max_connections if self.max_connections is not None else default_max_connections()


class _Refusal(asyncio.Protocol):
    """A connection over the cap: read the request (or wait :data:`REFUSAL_READ_S`), answer 503, close. Reading
    first lets the client see the answer (closing with unread data would send a reset instead). With ``at_once``
    (a flood: :data:`REFUSALS_READ` refusals already waiting) it answers and closes without reading, so refusals
    cannot use up the descriptors the cap keeps free."""

    def __init__(self, body: str, on_close: Callable[[], None], at_once: bool = False) -> None:
        self._body = body.encode()
        self._at_once = at_once
        self._on_close = on_close
        self._transport: Optional[asyncio.Transport] = None
        self._timer: Optional[asyncio.TimerHandle] = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        if self._at_once:
            self._answer()
        else:
            self._timer = asyncio.get_running_loop().call_later(REFUSAL_READ_S, self._answer)

    def data_received(self, data: bytes) -> None:
        if b'\r\n\r\n' in data or len(data) > 8192:
            self._answer()

    def _answer(self) -> None:
        transport, self._transport = self._transport, None
        if self._timer is not None:
            self._timer.cancel()
        if transport is None or transport.is_closing():
            return
        transport.write(b'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n'
                        b'Retry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n' % len(self._body)
                        + self._body)
        transport.close()

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._transport = None
        self._on_close()


class CappedSite(web.TCPSite):
    """``CappedSite(runner, host, port, max_connections=N, on_refused=callback)``: an aiohttp ``TCPSite`` whose
    protocol factory counts open HTTP connections (``runner.server.connections``) and answers the one over
    ``max_connections`` with 503 (:class:`_Refusal`); ``on_refused(open_count, max_connections)`` is called for
    each."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, max_connections: int,
                 on_refused: Callable[[int, int], None]) -> None:
        super().__init__(runner, host, port)
        self.max_connections = max_connections
        self._on_refused = on_refused
        self.refusing = 0  # refusals still open (they hold a descriptor for up to REFUSAL_READ_S)

    async def start(self) -> None:
        """Listen (``loop.create_server`` with the counting factory). Raises OSError if the port is taken."""
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None

        def factory() -> asyncio.Protocol:
            open_count = len(server.connections)
            if open_count < self.max_connections:
                return server()
            self.refusing += 1
            self._on_refused(open_count, self.max_connections)
            return _Refusal(f'clientsim serve: {open_count} connections open, the cap is {self.max_connections} '
                            f'(--max-connections); try again\n', self._refusal_closed,
                            at_once=self.refusing > REFUSALS_READ)
        self._server = await asyncio.get_running_loop().create_server(factory, self._host, self._port,
                                                                      reuse_address=self._reuse_address,
                                                                      backlog=BACKLOG)

    def _refusal_closed(self) -> None:
        self.refusing -= 1


class ConnectTimeouts:
    """``ConnectTimeouts(sio, timeout_s, handshaked, record, shed, spawn)``: close engine.io sockets that have not
    joined a namespace ``timeout_s`` **seconds** after they opened, and disconnect ``/`` sockets whose handshake
    ``handshaked(sid)`` is still false then (see the module). ``record(kind, eio_sid, sid)`` records the event;
    ``shed(sid)`` is called before a handshake-less socket is disconnected; ``spawn(coro)`` runs a coroutine as
    a tracked task. :meth:`install` wraps engine.io's connect and disconnect handlers of ``sio``."""

    def __init__(self, sio: socketio.AsyncServer, timeout_s: float, handshaked: Callable[[str], bool],
                 record: Callable[[str, str, Optional[str]], None], shed: Callable[[str], None],
                 spawn: Callable[[Any], Any]) -> None:
        self.sio, self.timeout_s = sio, timeout_s
        self._handshaked, self._record, self._shed, self._spawn = handshaked, record, shed, spawn
        self._timers = KeyedTimers(self._expire)

    def install(self) -> None:
        """Wrap ``sio.eio.handlers['connect']`` and ``['disconnect']`` (python-socketio 5.x registers its own
        there): a timer per engine.io socket, cancelled when it closes."""
        eio = self.sio.eio
        connect, disconnect = eio.handlers['connect'], eio.handlers['disconnect']

        async def on_connect(eio_sid: str, *args: Any) -> Any:
            self._timers.arm(eio_sid, self.timeout_s)
            return await connect(eio_sid, *args)

        async def on_disconnect(eio_sid: str, *args: Any) -> Any:
            self._timers.cancel(eio_sid)
            return await disconnect(eio_sid, *args)
        eio.handlers['connect'], eio.handlers['disconnect'] = on_connect, on_disconnect

    def cancel_all(self) -> None:
        """Cancel every timer (server stop)."""
        self._timers.cancel_all()

    def _expire(self, eio_sid: str) -> None:
        if eio_sid in self.sio.eio.sockets:
            self._spawn(self._close_if_unjoined(eio_sid))

    async def _close_if_unjoined(self, eio_sid: str) -> None:
        manager = self.sio.manager
        sid = manager.sid_from_eio_sid(eio_sid, '/')
        joined_other = any(manager.sid_from_eio_sid(eio_sid, ns) for ns in list(self.sio.namespace_handlers)
                           + list(self.sio.handlers) if ns != '/')
        if sid is None and not joined_other:
            self._record('connect_timeout', eio_sid, None)
            await self.sio.eio.disconnect(eio_sid)
        elif sid is not None and not self._handshaked(sid) and sid not in manager.pending_connect.get('/', ()):
            self._record('handshake_timeout', eio_sid, sid)
            self._shed(sid)
            await self.sio.disconnect(sid)
