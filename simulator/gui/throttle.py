"""A throttle for GUI refreshes (the idea of superqt ``utils/_throttler.py``): many calls, at most one run
per interval."""
from __future__ import annotations

import gc
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


class GcFreezer(QObject):
    """``GcFreezer(count, parent)``: keeps the garbage collector's full passes short while timeline events pile up.
    With 100k events a full collection scans them all (130 ms stalls in ``benchmarks/bench_gui.py``). Every
    250 ms, once ``count()`` (the number of events) grew by 2000, the objects alive now move to the permanent
    generation (``gc.freeze``); when ``count()`` drops (a cleared timeline) they are unfrozen, so old events can
    be freed."""

    def __init__(self, count: Callable[[], int], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._count = count
        self.frozen_at = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(250)

    def stop(self) -> None:
        """Stop checking and unfreeze everything (the owner shuts down: its objects must be collectable)."""
        self._timer.stop()
        gc.unfreeze()
        self.frozen_at = 0

    def check(self) -> None:
        """Freeze or unfreeze now if due."""
        n = self._count()
        if n < self.frozen_at:
            gc.unfreeze()
            self.frozen_at = 0
        elif n - self.frozen_at >= 2000:
            gc.freeze()
            self.frozen_at = n
