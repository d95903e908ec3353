"""CDP timestamps on the timeline clock: :class:`CdpClock` checks that Chromium's ``MonotonicTime`` and
``time.perf_counter_ns()`` are one clock, and falls back to an offset (with a warning) where they are not.

CDP's ``Network.*`` events carry ``timestamp`` in seconds of ``base::TimeTicks``, CLOCK_MONOTONIC on Linux, and
``time.perf_counter_ns()`` is CLOCK_MONOTONIC there too (measured for issue #18), so a CDP timestamp times 1e9
*is* a timeline ``t_ns``. The check: the page GET's ``Network.requestWillBeSent`` must fall between the
``perf_counter_ns()`` read before ``driver.get()`` and the one after it returned. If it does not (another OS, a
remote browser), the clock maps CDP time by the offset that puts that request at the start of the bracket, and
warns: then the window's events are placed to within the bracket's width (one ``driver.get``) only.
"""
from __future__ import annotations

import warnings
from typing import Optional

SLACK_NS = 2_000_000
"""Tolerance of the check (2 ms) for the bracket's own reads."""


class ClockWarning(UserWarning):
    """CDP's clock is not ``perf_counter_ns``: a Chromium window's events are placed by an estimated offset."""


class CdpClock:
    """Maps CDP ``timestamp`` seconds to timeline ns. ``offset_ns`` is 0 while :attr:`agreed` (the default until
    :meth:`check` ran); ``verdict`` says what the check found (None before it ran)."""

    def __init__(self) -> None:
        self.offset_ns = 0
        self.agreed = True
        self.verdict: Optional[str] = None

    def to_ns(self, cdp_s: float) -> int:
        """Timeline ns of a CDP ``timestamp`` (seconds)."""
        return int(round(cdp_s * 1e9)) + self.offset_ns

    def check(self, cdp_s: float, before_ns: int, after_ns: int, *, window: str = '') -> bool:
        """Check one CDP stamp ``cdp_s`` (seconds) of something that happened between ``before_ns`` and
        ``after_ns`` (``perf_counter_ns`` reads). Returns whether the clocks agree; if not, sets :attr:`offset_ns`
        so that the stamp maps to ``before_ns``, and warns with :class:`ClockWarning`. Runs once: later calls
        return the first verdict."""
        if self.verdict is not None:
            return self.agreed
        cdp_ns = int(round(cdp_s * 1e9))
        if before_ns - SLACK_NS <= cdp_ns <= after_ns + SLACK_NS:
            self.verdict = f'CDP clock = perf_counter_ns (page GET inside its {(after_ns - before_ns) / 1e6:.0f} ms ' \
                           f'bracket)'
            return True
        self.agreed, self.offset_ns = False, before_ns - cdp_ns
        self.verdict = (f'CDP clock differs from perf_counter_ns by {(cdp_ns - before_ns) / 1e6:.1f} ms: events of '
                        f'{window or "the Chromium window"} are placed by an offset (accurate to '
                        f'{(after_ns - before_ns) / 1e6:.0f} ms)')
        warnings.warn(self.verdict, ClockWarning, stacklevel=2)
        return False
