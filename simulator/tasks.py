"""One place that starts and tracks background tasks (a leaf: stdlib only, no Qt).

Modelled on NiceGUI's ``nicegui/background_tasks.py`` (a module-level set that keeps a strong reference to
every task so it is not garbage-collected mid-flight): here a :class:`TaskGroup` per owner (a window, the
server, the GUI), so that each owner can cancel and await what it started when it closes, and a task's
exception is never lost as "Task exception was never retrieved". ``server/`` may import this module, as it
may import :mod:`clientsim.simulator.timeline`: both are leaves. :func:`complete` runs cleanup to its end even when its
caller is cancelled. :func:`wait_for` is ``asyncio.wait_for`` without Python 3.11's lost cancellation.
:class:`LeanQueue` and :class:`LeanEvent` are the engine.io sockets' queue and events at a fraction of asyncio's
memory (issue 24), installed with :func:`lean_engineio`.
"""
from __future__ import annotations

import asyncio
import collections
import functools
import hashlib
import inspect
import logging
import textwrap
from typing import Any, Awaitable, Callable, Coroutine, Iterable, Optional, TypeVar

log = logging.getLogger('clientsim.tasks')
T = TypeVar('T')


class TaskGroup:
    """The tasks one owner started: ``TaskGroup(name, on_error=None)``.

    :meth:`spawn` starts a coroutine as an ``asyncio.Task`` and keeps it until it is done. An exception a task
    raises (other than ``CancelledError``) goes to ``on_error(exc, task)`` when given, else to the
    ``clientsim.tasks`` logger at WARNING; it is never left unretrieved. :meth:`cancel_all` cancels and awaits
    every task still running. Not thread-safe: use it from the loop's thread. The set of tasks exists only while one
    runs (an idle window's group holds none: an empty set is 216 B, issue 24).
    """

    __slots__ = ('name', 'on_error', '_tasks')

    def __init__(self, name: str = '', on_error: Optional[Callable[[BaseException, asyncio.Task], None]] = None
                 ) -> None:
        self.name = name
        self.on_error = on_error
        self._tasks: Optional[set[asyncio.Task]] = None

    def __len__(self) -> int:
        return len(self._tasks) if self._tasks is not None else 0

    def __iter__(self):  # noqa: ANN204 - an iterator over a snapshot of the running tasks
        return iter(list(self._tasks or ()))

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: Optional[str] = None) -> asyncio.Task:
        """Start ``coro`` on the running loop and track it; returns the task.

        Raises ``RuntimeError`` when no event loop is running (as ``asyncio.ensure_future`` would)."""
        task = asyncio.ensure_future(coro)
        if name:
            task.set_name(name)
        self.track(task)
        return task

    def track(self, task: asyncio.Task) -> asyncio.Task:
        """Track a task started elsewhere (e.g. by python-engineio's ``start_background_task``)."""
        if self._tasks is None:
            self._tasks = set()
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _forget(self, tasks: Iterable[asyncio.Task]) -> None:
        """Stop tracking ``tasks``; the set goes when it is empty."""
        if self._tasks is not None:
            self._tasks.difference_update(tasks)
            if not self._tasks:
                self._tasks = None

    def _done(self, task: asyncio.Task) -> None:
        self._forget((task,))
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if self.on_error is not None:
            self.on_error(exc, task)
        else:
            log.warning('%s: background task %s failed: %r', self.name or 'clientsim', task.get_name(), exc)

    async def cancel_all(self) -> None:
        """Cancel every tracked task and wait until each has finished (exceptions are swallowed)."""
        tasks = [t for t in self._tasks or () if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._forget(tasks)  # a task started while we waited stays tracked


async def complete(coro: Coroutine[Any, Any, Any], *, timeout_s: Optional[float] = None) -> Any:
    """Run ``coro`` to its end even when the caller is cancelled meanwhile: for cleanup that must not stop half-way
    (closing a socket, a websocket response or an HTTP session), where a cancellation would otherwise leave
    "Unclosed client session" / "Unclosed response" warnings and pending tasks behind.

    Returns ``coro``'s result; its exceptions propagate. When the caller is cancelled, it waits for ``coro`` (at
    most ``timeout_s`` seconds, then cancels it) and re-raises ``CancelledError``. A second cancellation while it
    waits leaves ``coro`` running on its own (its exception is retrieved, never lost)."""
    task = asyncio.ensure_future(coro)
    task.add_done_callback(_retrieve)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            done, _ = await asyncio.wait({task}, timeout=timeout_s)
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        raise


def _retrieve(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()


async def wait_for(awaitable: Awaitable[T], timeout_s: Optional[float]) -> T:
    """``await awaitable`` for at most ``timeout_s`` seconds (None: no limit); raises TimeoutError (the same class
    as ``asyncio.TimeoutError``) when it does not finish in time, after cancelling it.

    Use it instead of ``asyncio.wait_for``. In CPython 3.11 (``Lib/asyncio/tasks.py``; rewritten on
    ``asyncio.timeout`` in 3.12), ``asyncio.wait_for`` swallows its caller's cancellation when the awaited
    thing finished in the same loop iteration: it returns the result and the caller runs on. A Ctrl+C in
    ``clientsim play`` (``asyncio.Runner`` cancels the main task) that lands just as a window's wait ends
    (its handshake came in) would be lost, and the run would go on into its next step
    (``tests/test_cancel_cleanup.py`` loses 3 cancels of 6 with ``asyncio.wait_for``). ``asyncio.timeout``
    (3.11) awaits in the caller's own task and keeps the cancellation."""
    async with asyncio.timeout(timeout_s):
        return await awaitable


class LeanQueue:
    """An unbounded FIFO queue with the part of ``asyncio.Queue``'s API python-engineio 4.x uses (``put``,
    ``put_nowait``, ``get``, ``get_nowait``, ``task_done``, ``join``, ``qsize``, ``empty``, ``full``), for the one
    queue each engine.io socket has on either side (the client's and the server socket's send queue, issue 24).

    Why not ``asyncio.Queue``: an idle ``asyncio.Queue`` holds three deques and an ``asyncio.Event`` with a fourth
    (~2.7 KB, measured with tracemalloc on CPython 3.11), and python-engineio awaits
    ``asyncio.wait_for(queue.get(), timeout)``, which on CPython 3.11 wraps the ``get()`` coroutine in a Task of
    its own (~1 KB more). Here an idle queue holds no container at all, and :meth:`get` returns a Future, which
    ``asyncio.wait_for`` awaits without a Task.

    Differences from ``asyncio.Queue``, none of which python-engineio relies on: no ``maxsize`` (``full()`` is
    always False); ``get()`` is a Future, not a coroutine function (await it, or pass it to ``wait_for``); an item
    handed to a getter whose task is cancelled between the hand-over and its resumption is lost with that getter
    (``asyncio.Queue`` keeps it): python-engineio's send loops are cancelled only when their socket ends;
    ``task_done()`` beyond the puts is ignored instead of raising ``ValueError``. Not thread-safe."""

    __slots__ = ('_items', '_getters', '_unfinished', '_joiners')

    def __init__(self) -> None:
        self._items: Optional[collections.deque] = None  # made by a put no getter takes, dropped when empty again
        self._getters: Optional[list[asyncio.Future]] = None
        self._unfinished = 0
        self._joiners: Optional[list[asyncio.Future]] = None

    def qsize(self) -> int:
        """Items waiting (not yet taken by a getter)."""
        return len(self._items) if self._items else 0

    def empty(self) -> bool:
        """True when no item waits."""
        return not self._items

    def full(self) -> bool:
        """Always False: the queue is unbounded."""
        return False

    def put_nowait(self, item: Any) -> None:
        """Hand ``item`` to the oldest waiting getter, else keep it; counts one unfinished item for :meth:`join`."""
        self._unfinished += 1
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():  # a getter cancelled by wait_for's timeout is skipped
                getter.set_result(item)
                return
        if self._items is None:
            self._items = collections.deque()
        self._items.append(item)

    async def put(self, item: Any) -> None:
        """:meth:`put_nowait` (the queue is unbounded, so it never waits)."""
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        """The oldest waiting item; raises ``asyncio.QueueEmpty`` when there is none."""
        if not self._items:
            raise asyncio.QueueEmpty
        return self._take()

    def get(self) -> asyncio.Future:
        """A Future of the next item: done at once when one waits, else when the next :meth:`put_nowait` comes.
        Cancelling the Future (e.g. ``asyncio.wait_for``'s timeout) withdraws the request. Must be called with a
        running event loop (``RuntimeError`` otherwise)."""
        future = asyncio.get_running_loop().create_future()
        if self._items:
            future.set_result(self._take())
        elif self._getters is None:
            self._getters = [future]
        else:  # getters withdrawn by a timeout leave now, not only at the next put
            self._getters = [getter for getter in self._getters if not getter.done()]
            self._getters.append(future)
        return future

    def _take(self) -> Any:
        items = self._items
        assert items is not None
        item = items.popleft()
        if not items:
            self._items = None
        return item

    def task_done(self) -> None:
        """One item taken earlier is processed; the last one wakes :meth:`join`."""
        if self._unfinished > 0:
            self._unfinished -= 1
        if self._unfinished == 0 and self._joiners:
            joiners, self._joiners = self._joiners, None
            for joiner in joiners:
                if not joiner.done():
                    joiner.set_result(None)

    async def join(self) -> None:
        """Wait until every item put so far was marked :meth:`task_done`."""
        if self._unfinished > 0:
            joiner = asyncio.get_running_loop().create_future()
            if self._joiners is None:
                self._joiners = []
            self._joiners.append(joiner)
            await joiner


class LeanEvent:
    """``asyncio.Event`` (``set``, ``clear``, ``is_set``, ``wait``) without the deque an ``asyncio.Event`` allocates
    up front (~380 B, CPython 3.11): the waiters' list exists only while somebody waits. python-socketio 5.x
    makes one per client (``_connect_event``) and one per ``call()`` (issue 24). Not thread-safe."""

    __slots__ = ('_value', '_waiters')

    def __init__(self) -> None:
        self._value = False
        self._waiters: Optional[list[asyncio.Future]] = None

    def is_set(self) -> bool:
        """True once :meth:`set` ran (until :meth:`clear`)."""
        return self._value

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        if self._value:
            return
        self._value = True
        for waiter in self._waiters or ():
            if not waiter.done():
                waiter.set_result(True)

    def clear(self) -> None:
        """Reset the flag; later :meth:`wait` calls block again."""
        self._value = False

    async def wait(self) -> bool:
        """Return True at once when set, else when :meth:`set` is next called."""
        if self._value:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
            return True
        finally:
            self._waiters.remove(waiter)
            if not self._waiters:
                self._waiters = None


class KeyedTimers:
    """``KeyedTimers(on_due)``: a loop timer per key (a socket, an engine.io sid), for the per-socket waits that need
    no task of their own (issue 24: a task asleep is ~1 KB, a timer ~0.1 KB). :meth:`arm` calls ``on_due(key)``
    after ``delay_s`` seconds, the key forgotten first; :meth:`cancel` drops a key's timer, :meth:`cancel_all`
    every one (a server's stop); ``len()`` counts the armed keys. Arming a key again forgets its earlier timer
    without cancelling it (both fire), as starting a second task would. Must be armed inside a running loop."""

    __slots__ = ('_on_due', '_timers')

    def __init__(self, on_due: Callable[[Any], None]) -> None:
        self._on_due = on_due
        self._timers: dict[Any, asyncio.TimerHandle] = {}

    def __len__(self) -> int:
        return len(self._timers)

    def arm(self, key: Any, delay_s: float) -> asyncio.TimerHandle:
        """Call ``on_due(key)`` in ``delay_s`` seconds; returns the timer."""
        timer = self._timers[key] = asyncio.get_running_loop().call_later(delay_s, self._fire, key)
        return timer

    def cancel(self, key: Any) -> None:
        """Drop ``key``'s timer, if one is armed."""
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def cancel_all(self) -> None:
        """Cancel every armed timer."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _fire(self, key: Any) -> None:
        self._timers.pop(key, None)
        self._on_due(key)


class QueueWaiter:
    """The wait of a send loop without a task (issue 24): the next item of a :class:`LeanQueue`, for at most a
    timeout, as python-engineio's ``asyncio.wait_for(queue.get(), timeout_s)`` in its send loops.

    :meth:`_wait_item` asks ``queue`` for its next item and arms a loop timer of ``timeout_s`` seconds. The first to
    come wins: an item cancels the timer and goes to :meth:`_on_item`; the timer withdraws the request and calls
    :meth:`_on_timeout`, unless the queue already handed over an item (``wait_for`` returns a result that is in,
    too). ``_sending`` holds the task a subclass sends a batch in (the loop keeps only weak references to tasks);
    :meth:`_cancel_pending` withdraws the wait and cancels that task. Subclasses: the server's
    :class:`clientsim.server.lean_socket.CallbackWriter` and the windows'
    :class:`clientsim.simulator.browser.lean_client.CallbackWriteLoop`."""

    __slots__ = ('_getter', '_timer', '_sending')

    def __init__(self) -> None:
        self._getter: Optional[asyncio.Future] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        self._sending: Optional[asyncio.Task] = None

    def _wait_item(self, queue: LeanQueue, timeout_s: float) -> None:
        self._getter = getter = queue.get()
        getter.add_done_callback(self._got)
        self._timer = asyncio.get_running_loop().call_later(timeout_s, self._expired)

    def _cancel_pending(self) -> None:
        for pending in (self._timer, self._getter, self._sending):
            if pending is not None:
                pending.cancel()

    def _expired(self) -> None:
        if self._getter is not None and self._getter.cancel():  # a getter already given an item goes on (_got)
            self._on_timeout()

    def _got(self, getter: asyncio.Future) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not getter.cancelled():
            self._on_item(getter.result())

    def _on_item(self, item: Any) -> None:
        raise NotImplementedError

    def _on_timeout(self) -> None:
        raise NotImplementedError


def source_digest(function: Any) -> Optional[str]:
    """The first 16 hex digits of the SHA-256 of ``function``'s dedented source text, or None when Python cannot
    read its source. clientsim replaces python-engineio's ping task, websocket handler and client read and write
    loops with leaner twins of the same steps (:mod:`clientsim.server.pings`, :mod:`clientsim.server.lean_socket`,
    :mod:`clientsim.simulator.browser.lean_client`) only while the library's own text is the one they were written
    against, so a python-engineio release that changes them keeps its own."""
    try:
        text = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def known_method(owner: type, digests: dict[str, str], name: str) -> Any:
    """``owner.<name>`` when every method of ``owner`` named in ``digests`` (name → :func:`source_digest`) has the
    text it was written against, else None (a release that changed any of them: nothing is replaced)."""
    methods = {method: getattr(owner, method, None) for method in digests}
    if all(function is not None and source_digest(function) == digests[method] for method, function in methods.items()):
        return methods[name]
    return None


@functools.cache
def lean_engineio(engineio_class: type) -> type:
    """A subclass of a python-engineio 4.x ``AsyncClient`` / ``AsyncServer`` class whose ``create_queue()`` and
    ``create_event()`` (the hooks python-engineio and python-socketio create their queues and events through)
    return :class:`LeanQueue` and :class:`LeanEvent` (issue 24: together ~8 KB less per connection, client and
    server, measured with ``benchmarks/bench_scale.py``); made once per class. python-socketio's
    ``_engineio_client_class()`` / ``_engineio_server_class()`` return it in :mod:`clientsim.server.app` and
    :mod:`clientsim.simulator.browser.lean_client`."""

    class Lean(engineio_class):  # type: ignore[misc, valid-type]
        def create_queue(self, *args: Any, **kwargs: Any) -> LeanQueue:
            if args or kwargs:  # a bounded queue: asyncio's (python-engineio 4.x asks for none)
                return asyncio.Queue(*args, **kwargs)  # type: ignore[return-value]
            return LeanQueue()

        def create_event(self, *args: Any, **kwargs: Any) -> LeanEvent:
            return LeanEvent()

    Lean.__name__ = Lean.__qualname__ = f'Lean{engineio_class.__name__}'
    return Lean
