"""A throttle for GUI refreshes (the idea of superqt ``utils/_throttler.py``): many calls, at most one run
per interval."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer


class Throttle(QObject):
    """``Throttle(func, interval_ms=50)``; ``throttle()`` asks for a run: ``func()`` runs at most once per
    ``interval_ms`` (50 ms = 20 Hz), on the trailing edge, in the GUI thread."""

    def __init__(self, func: Callable[[], None], interval_ms: int = 50, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._func = func
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._func)

    def __call__(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Run now if a run is pending."""
        if self._timer.isActive():
            self._timer.stop()
            self._func()
