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
    """``GcFreezer(count, parent, step=1000)``: keeps the garbage collector's full passes short while timeline
    events (and windows) pile up. A full collection scans every tracked object: after opening 200 windows that is
    ~230k objects (80-95 ms stalls in ``benchmarks/bench_gui.py``), with 100k events ~350k (130 ms). So the
    objects alive move to the permanent generation (``gc.freeze``, O(1)), after a young collection
    (``gc.collect(1)``, ~1 ms) so young garbage is freed first: at once when :meth:`note` (call it per event)
    sees ``count()`` (the number of events) grow by ``step``, and on a 250 ms timer whenever it grew at all
    (the tail of a burst). When ``count()`` drops (a cleared timeline) everything is unfrozen, so old events can
    be freed. (No ``gc.get_freeze_count()`` here: it walks the whole permanent generation, 40 ms for 230k
    objects.)"""

    def __init__(self, count: Callable[[], int], parent: QObject | None = None, step: int = 1000) -> None:
        super().__init__(parent)
        self._count = count
        self._step = step
        self.frozen_at = 0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(250)

    def stop(self) -> None:
        """Stop checking and unfreeze everything (the owner shuts down: its objects must be collectable)."""
        self._timer.stop()
        self._step = 1 << 62  # note() is a no-op from now on
        gc.unfreeze()
        self.frozen_at = 0

    def note(self) -> None:
        """O(1): freeze now if ``count()`` grew by ``step`` since the last freeze."""
        if self._count() - self.frozen_at >= self._step:
            self._freeze()

    def check(self) -> None:
        """Unfreeze if ``count()`` dropped, freeze if it grew since the last freeze."""
        n = self._count()
        if n < self.frozen_at:
            gc.unfreeze()
            self.frozen_at = 0
        elif n > self.frozen_at:
            self._freeze()

    def _freeze(self) -> None:
        gc.collect(1)
        gc.freeze()
        self.frozen_at = self._count()
