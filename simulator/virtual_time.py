"""Virtual time for scenarios played against the embedded server: every sleep is instant, the wire stays real.

``run(coro, mode='virtual')`` runs ``coro`` on a :class:`VirtualTimeLoop`, an ``asyncio.SelectorEventLoop`` whose
``time()`` is a virtual clock (integer ns, :meth:`VirtualTimeLoop.virtual_ns`) that stands still while anything
runs: processing takes 0 virtual time. Its selector first polls the real sockets with a 0 timeout; only when
nothing is ready, no transport waits to write (a write-registered fd), no executor job is pending
(``run_in_executor``, e.g. ``getaddrinfo``) and the loop's next timer is in the future, it jumps the clock to that
timer instead of sleeping. So ``asyncio.sleep``, ``wait_for`` timeouts, ``call_later`` (the windows' latencies,
``wait`` steps, ``settle_ms``, the 3 s ack timer, reconnect back-off, the server's reconnect_timeout, prune,
job chunks and single-use route removal) cost no wall time, while every page GET, socket.io frame and
download GET still crosses real loopback TCP. Loopback delivery happens inside the sender's ``send`` (the kernel
queues the bytes on the peer before it returns), so an empty 0-timeout poll means no bytes are in flight.

``mode='real'`` is a plain ``asyncio.run`` (real targets, the GUI). :func:`now_ns` in
:mod:`clientsim.simulator.timeline` reads the virtual clock of the running loop, so a drawn 50 ms is exactly
50 ms on the timeline.

Why not a library: ``looptime`` (PyPI) fakes ``loop.time()`` for pytest tests and fast-forwards the idle loop,
but it is a pytest plugin whose loop is configured through markers and it has no notion of pending executor
jobs; the 100-odd lines here are the part we need. python-engineio 4.x and python-socketio 5.x time their ping
and connect timers with ``asyncio.sleep`` / ``asyncio.wait_for`` (loop time, so virtual), but engineio 4.15
``AsyncSocket.check_ping_timeout`` compares ``time.time()`` stamps (``last_ping``, ``base_socket.py`` /
``async_socket.py``): in virtual time they would barely advance and a dropped socket would never time out. So
the first :class:`VirtualTimeLoop` points those two modules' ``time`` at :data:`ENGINEIO_CLOCK`, which is
``time`` itself except that ``time()`` reads the running loop's virtual clock in virtual time (the same
wall-clock value in a real loop). aiohttp's timeouts use ``loop.time()``. No Qt import here.
"""
from __future__ import annotations

import asyncio
import math
import selectors
import time
from typing import Any, Awaitable, Callable, Literal, Optional, TypeVar

T = TypeVar('T')
TimeMode = Literal['virtual', 'real']
TIME_MODES = ('virtual', 'real')
BUSY_POLL_S = 0.0005
"""Real seconds the selector waits at most while an executor job or a write is pending (time does not jump)."""


class _JumpingSelector(selectors.BaseSelector):
    """Wraps the real selector: ``select(timeout)`` polls first and jumps the loop's virtual clock when idle."""

    def __init__(self, loop: 'VirtualTimeLoop') -> None:
        self._real = selectors.DefaultSelector()
        self._loop = loop
        self._writers: set[int] = set()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = self._real.register(fileobj, events, data)
        self._track(key)
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        key = self._real.unregister(fileobj)
        self._writers.discard(key.fd)
        return key

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = self._real.modify(fileobj, events, data)
        self._track(key)
        return key

    def _track(self, key: selectors.SelectorKey) -> None:
        if key.events & selectors.EVENT_WRITE:
            self._writers.add(key.fd)
        else:
            self._writers.discard(key.fd)

    def select(self, timeout: Optional[float] = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        if self._writers or self._loop.executor_jobs:
            return self._real.select(BUSY_POLL_S if timeout is None else min(timeout, BUSY_POLL_S))
        if timeout is None:  # no timer at all: only another thread can wake the loop
            return self._real.select(None)
        self._loop.jump(timeout)
        return []

    def get_key(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.get_key(fileobj)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


class _LoopAwareTime:
    """The ``time`` module, but ``time()`` follows the running loop's virtual clock (offset to the wall clock at
    import) when the loop is a :class:`VirtualTimeLoop`."""
    _offset_s = time.time() - time.perf_counter()

    def time(self) -> float:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return time.time()
        if isinstance(loop, VirtualTimeLoop):
            return loop.virtual_ns() / 1e9 + self._offset_s
        return time.time()

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


ENGINEIO_CLOCK = _LoopAwareTime()
"""What ``engineio.base_socket.time`` and ``engineio.async_socket.time`` are once a virtual loop was created."""


def _install_engineio_clock() -> None:
    import engineio.async_socket
    import engineio.base_socket
    engineio.base_socket.time = ENGINEIO_CLOCK  # type: ignore[assignment]
    engineio.async_socket.time = ENGINEIO_CLOCK  # type: ignore[assignment]


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An asyncio loop on a virtual clock (see the module docstring). The clock starts at ``perf_counter_ns()``
    at creation (so stamps taken before the loop are in the same range) and moves only by :meth:`jump`.
    ``jumps`` counts the jumps and ``jumped_ns`` their sum (ns)."""

    def __init__(self) -> None:
        self._virtual_ns = time.perf_counter_ns()
        self.executor_jobs = 0
        self.jumps = 0
        self.jumped_ns = 0
        super().__init__(_JumpingSelector(self))
        self._clock_resolution = 1e-9
        _install_engineio_clock()

    def time(self) -> float:
        """The virtual clock in seconds (float, as asyncio expects)."""
        return self._virtual_ns / 1e9

    def virtual_ns(self) -> int:
        """The virtual clock in ns (the timeline's stamps)."""
        return self._virtual_ns

    def jump(self, timeout_s: float) -> None:
        """Advance the clock to the next scheduled timer (at most ``timeout_s`` seconds ahead)."""
        scheduled = getattr(self, '_scheduled', None)
        target = scheduled[0].when() if scheduled else self.time() + timeout_s
        # the nearest ns: a timer set for now + 10 s lands on +10 s exactly (ceil made it 1 ns late whenever the
        # float sum rounded up); ceil only where asyncio would not yet run the timer (when >= time() + resolution)
        target_ns = round(target * 1e9)
        if target_ns / 1e9 + self._clock_resolution <= target:
            target_ns = math.ceil(target * 1e9)
        target_ns = max(self._virtual_ns, target_ns)
        self.jumped_ns += target_ns - self._virtual_ns
        self._virtual_ns = target_ns
        self.jumps += 1

    def run_in_executor(self, executor: Any, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """As asyncio's, but counted: the clock does not jump while a job runs in a thread."""
        future = super().run_in_executor(executor, func, *args)
        self.executor_jobs += 1

        def done(_: Any) -> None:
            self.executor_jobs -= 1
        future.add_done_callback(done)
        return future


def is_virtual(loop: Optional[asyncio.AbstractEventLoop] = None) -> bool:
    """Whether ``loop`` (default: the running loop; False outside one) runs on virtual time."""
    if loop is None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
    return isinstance(loop, VirtualTimeLoop)


def run(coro: Awaitable[T], mode: TimeMode = 'virtual') -> T:
    """Run ``coro`` to completion on a fresh loop: a :class:`VirtualTimeLoop` for ``'virtual'``, asyncio's
    default loop for ``'real'``. Raises ValueError for another ``mode``."""
    if mode not in TIME_MODES:
        raise ValueError(f'time mode must be one of {TIME_MODES}, got {mode!r}')
    factory = VirtualTimeLoop if mode == 'virtual' else None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)  # type: ignore[arg-type]
