"""A throttle for GUI refreshes (the idea of superqt ``utils/_throttler.py``): many calls, at most one run
per interval."""
from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer


class Throttle(QObject):
    """``Throttle(func, interval_ms=50, max_share=0.2)``; ``throttle()`` asks for a run: ``func()`` runs at most
    once per interval, on the trailing edge, in the GUI thread. The interval is ``interval_ms`` (50 ms = 20 Hz)
    or longer when ``func`` is slow: after a run that took *d* ms the next waits at least *d* / ``max_share``,
    so a heavy redraw never takes more than that share of the event loop and the GUI does not freeze."""

    def __init__(self, func: Callable[[], None], interval_ms: int = 50, parent: QObject | None = None,
                 max_share: float = 0.2) -> None:
        super().__init__(parent)
        self._func = func
        self._base_ms = interval_ms
        self._max_share = max_share
        self.last_duration_ms = 0.0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._run)

    def _run(self) -> None:
        started = time.perf_counter()
        self._func()
        self.last_duration_ms = (time.perf_counter() - started) * 1000
        self._timer.setInterval(int(min(5000, max(self._base_ms, self.last_duration_ms / self._max_share))))

    def __call__(self) -> None:
        if not self._timer.isActive():
            self._timer.start()
