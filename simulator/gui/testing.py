"""Helpers for GUI tests of clientsim with pytest-qt: a started :class:`MainWindow` on a qasync loop.

``GuiSession(qapp)`` makes a qasync ``QEventLoop`` on pytest-qt's QApplication, creates the main window and
starts its embedded server; ``session.run(coro)`` runs a coroutine on that loop (the windows, sockets and Qt
events all progress while it waits), :meth:`GuiSession.until` waits for a condition, :meth:`GuiSession.close`
shuts everything down. The pytest fixture ``clientsim_gui`` (module :mod:`clientsim.simulator.gui.pytest_fixtures`)
wraps it; ``qtbot`` clicks work inside ``run`` because the qasync loop is Qt's event loop.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, TypeVar

import qasync
from PySide6.QtWidgets import QApplication

from ..tasks import wait_for
from .main_window import MainWindow

T = TypeVar('T')


class GuiSession:
    """``GuiSession(qapp)``: ``main`` (a shown, started :class:`MainWindow`; its server runs), ``loop`` (the
    qasync loop, set as the current asyncio loop), ``url`` (the embedded server's base URL)."""

    def __init__(self, qapp: QApplication) -> None:
        qapp.setQuitOnLastWindowClosed(False)
        self.loop = qasync.QEventLoop(qapp)
        asyncio.set_event_loop(self.loop)
        self.main = MainWindow()
        self.url: str = self.run(self.main.start())
        self.main.resize(1500, 940)  # offscreen's screen is 800×600; the tests assume a desktop-sized window
        self.main.show()
        asyncio._set_running_loop(self.loop)  # see run()

    def run(self, coro: Awaitable[T], timeout_s: float = 30.0) -> T:
        """Run ``coro`` on the session's loop until it is done and return its result. Raises what it raises,
        or TimeoutError after ``timeout_s``.

        Between two runs the loop stays marked as this thread's running loop: Qt events that qtbot or
        pytest-qt process meanwhile run qasync's callbacks (timers of sockets, the server's service task),
        and those need a running loop, as they have in the GUI, where the Qt loop always runs. So this is
        ``run_forever`` until the task is done, not qasync's ``run_until_complete``: that one processes Qt's events
        once more after the loop stopped and no loop is running, and a task woken then (the server's prune loop in
        ``asyncio.sleep``) failed with "no running event loop" (qasync 0.28)."""
        task = asyncio.ensure_future(wait_for(coro, timeout_s), loop=self.loop)
        task.add_done_callback(lambda _task: self.loop.stop())
        asyncio._set_running_loop(None)
        try:
            self.loop.run_forever()
        finally:
            if not self.loop.is_closed():
                asyncio._set_running_loop(self.loop)
        if not task.done():
            task.cancel()
            raise RuntimeError('the loop stopped before the coroutine was done')
        return task.result()

    @staticmethod
    async def until(predicate: Callable[[], Any], timeout_s: float = 5.0) -> None:
        """Wait (polling every 20 ms) until ``predicate()`` is true. Raises TimeoutError after ``timeout_s``."""
        async def poll() -> None:
            while not predicate():
                await asyncio.sleep(0.02)
        await wait_for(poll(), timeout_s)

    def settle(self, seconds: float = 0.1) -> None:
        """Let throttled views repaint for ``seconds``."""
        self.run(asyncio.sleep(seconds))

    def close(self) -> None:
        """Close every window, stop the server, let the sockets' tasks end, close the loop. Idempotent."""
        if self.loop.is_closed():
            return
        self.run(self.main.shutdown())
        self.main.close()

        async def drain() -> None:  # let finished sockets' tasks end, then cancel what still waits
            pending: list[asyncio.Task] = []
            for _ in range(20):
                pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                if not pending:
                    return
                await asyncio.sleep(0.05)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        asyncio._set_running_loop(None)
        self.loop.run_until_complete(drain())
        self.loop.close()
        asyncio.set_event_loop(None)
