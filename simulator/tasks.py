"""One place that starts and tracks background tasks (a leaf: stdlib only, no Qt).

Modelled on NiceGUI's ``nicegui/background_tasks.py`` (a module-level set that keeps a strong reference to
every task so it is not garbage-collected mid-flight): here a :class:`TaskGroup` per owner (a window, the
server, the GUI), so that each owner can cancel and await what it started when it closes, and a task's
exception is never lost as "Task exception was never retrieved". ``server/`` may import this module, as it
may import :mod:`simulator.timeline`: both are leaves.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Coroutine, Optional

log = logging.getLogger('clientsim.tasks')


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
