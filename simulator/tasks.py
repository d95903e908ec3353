"""One place that starts and tracks background tasks (a leaf: stdlib only, no Qt).

Modelled on NiceGUI's ``nicegui/background_tasks.py`` (a module-level set that keeps a strong reference to
every task so it is not garbage-collected mid-flight): here a :class:`TaskGroup` per owner (a window, the
server, the GUI), so that each owner can cancel and await what it started when it closes, and a task's
exception is never lost as "Task exception was never retrieved". ``server/`` may import this module, as it
may import :mod:`clientsim.simulator.timeline`: both are leaves. :func:`complete` runs cleanup to its end even when its
caller is cancelled. :func:`wait_for` is ``asyncio.wait_for`` without Python 3.11's lost cancellation.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Coroutine, Optional, TypeVar

log = logging.getLogger('clientsim.tasks')
T = TypeVar('T')


class TaskGroup:
    """The tasks one owner started: ``TaskGroup(name, on_error=None)``.

    :meth:`spawn` starts a coroutine as an ``asyncio.Task`` and keeps it until it is done. An exception a task
    raises (other than ``CancelledError``) goes to ``on_error(exc, task)`` when given, else to the
    ``clientsim.tasks`` logger at WARNING; it is never left unretrieved. :meth:`cancel_all` cancels and awaits
    every task still running. Not thread-safe: use it from the loop's thread.
    """

    def __init__(self, name: str = '', on_error: Optional[Callable[[BaseException, asyncio.Task], None]] = None
                 ) -> None:
        self.name = name
        self.on_error = on_error
        self._tasks: set[asyncio.Task] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self):  # noqa: ANN204 - an iterator over a snapshot of the running tasks
        return iter(list(self._tasks))

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
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
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
        tasks = [t for t in self._tasks if not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.difference_update(tasks)  # a task started while we waited stays tracked


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
