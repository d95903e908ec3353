"""Keep the garbage collector out of the way while many windows open (no Qt; the GUI has its own ``GcFreezer``).

Opening thousands of windows creates long-lived objects (sockets, sessions, timeline events) faster than CPython's
collector expects: every young collection promotes survivors, and each full collection scans every tracked object
again — at 5,000 windows that is over half of the wall time (issue 24). Two remedies, as the GUI's
``simulator/gui/throttle.py`` ``GcFreezer`` does for streaming events:

* after every batch of :data:`BATCH_EVENTS` timeline events (about 30 windows: a page load records ~10) the objects
  alive are moved to the permanent generation (``gc.collect(1)`` so that young garbage is freed first, then
  ``gc.freeze()``, O(1)); later collections no longer scan them;
* while a lab is active, the young generation's threshold is set to :data:`YOUNG_THRESHOLD` allocations (measured
  with ``benchmarks/bench_scale.py``, 4,000 private windows: 700, CPython's default, gave the smallest GC share;
  1,500-50,000 gave more, as each young collection before a freeze then has more to scan).

:func:`activate` / :func:`deactivate` nest (several labs at once): the first saves the thresholds, the last restores
them and unfreezes everything (the closed windows' objects must be collectable again).
"""
from __future__ import annotations

import contextlib
import gc
from typing import Any, Callable, Iterator, Optional

BATCH_EVENTS = 300
"""Timeline events between two freezes (a page load and handshake record about 10). Measured at 4,000 private
windows: 300 events gave a GC share of 12.6-13.3 %, 1,000 gave 14.5-16 %, 3,000 gave 24 %."""
YOUNG_THRESHOLD = 700
"""Generation-0 threshold (allocations minus deallocations) while a lab is active (never lowered below the host's)."""

_active = 0
_saved: Optional[tuple[int, int, int]] = None


def activate() -> None:
    """Raise the young generation's threshold (nested calls count; the first saves the previous thresholds)."""
    global _active, _saved
    if _active == 0:
        _saved = gc.get_threshold()
        gc.set_threshold(max(_saved[0], YOUNG_THRESHOLD), _saved[1], _saved[2])
    _active += 1


def deactivate() -> None:
    """Undo one :func:`activate`; the last restores the thresholds and unfreezes the permanent generation."""
    global _active, _saved
    if _active <= 0:
        return
    _active -= 1
    if _active == 0:
        if _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None
        gc.unfreeze()


class BatchFreezer:
    """``BatchFreezer(count, step=BATCH_EVENTS)``: :meth:`note` (call it on every timeline event; O(1)) freezes the
    objects alive whenever ``count()`` (the number of events) grew by ``step`` since the last freeze. Only while the
    module is :func:`activate`-d: outside a lab it does nothing. ``freezes`` counts the freezes done."""

    def __init__(self, count: Callable[[], int], step: Optional[int] = None) -> None:
        self._count, self._step = count, BATCH_EVENTS if step is None else step
        self.frozen_at = count()
        self.freezes = 0

    def note(self, _event: Any = None) -> None:
        """Freeze if ``count()`` grew by ``step`` since the last freeze (usable as a timeline listener)."""
        n = self._count()
        if n < self.frozen_at:  # a cleared timeline
            self.frozen_at = n
        elif n - self.frozen_at >= self._step and _active:
            gc.collect(1)
            gc.freeze()
            self.frozen_at = n
            self.freezes += 1


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (re-enabled after it, if it was on): for building a large result that is kept
    as a whole, such as a run's report (every object survives, so any collection meanwhile is wasted work)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
