"""Scheduling lag of the event loop during a run: is the run's timing the scenario's timing?

A scenario says "wait 40 ms", "rounds 40 ms apart", "download 50 ms later". Those delays are asyncio timers; when
the loop is busy (100 windows and a GUI redrawing on two cores) a timer meant to fire after 40 ms fires seconds
later, and the run no longer plays the scenario's timing: its PASS or FAIL says something about the machine, not
about the server. :class:`LoopLag` measures it the way the steps feel it: a probe task sleeps ``interval_ms`` over
and over and records how late each wake-up is (actual wake-up minus scheduled wake-up, ms). Beyond
``tolerance_ms`` (max lag), or with a sustained lag (95th percentile) beyond :data:`SUSTAINED_TOLERANCE_MS`, the
run is **timing distorted**: the GUI and the report show that state with the
measured lag instead of a bare PASS/FAIL. No Qt here; the same monitor runs headless and in the GUI.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Optional

#: default tolerance (ms) of the worst wake-up lag: above it a run's verdict is not trusted. The library's
#: tightest timing is 40 ms between storm rounds and 50 ms between racing downloads; a lag of this order
#: reorders them.
TOLERANCE_MS = 150.0
#: default tolerance (ms) of the 95th-percentile wake-up lag: a loop late by this much most of the time runs the
#: server's timers (job chunks, reconnect and prune timers) several times slower than the scenario assumes, even
#: when no single wake-up is very late (measured: a GUI run with p95 90 ms left a 1 s job at 80 %)
SUSTAINED_TOLERANCE_MS = 50.0
#: the probe's sleep (ms)
INTERVAL_MS = 10.0


class LoopLag:
    """``LoopLag(tolerance_ms=TOLERANCE_MS, interval_ms=INTERVAL_MS)``; :meth:`start` in a running loop,
    :meth:`stop` (awaitable, idempotent), then :meth:`summary`. ``lags_ms`` holds every wake-up's lag (ms)."""

    def __init__(self, tolerance_ms: float = TOLERANCE_MS, interval_ms: float = INTERVAL_MS) -> None:
        self.tolerance_ms = tolerance_ms
        self.interval_ms = interval_ms
        self.lags_ms: list[float] = []
        self._task: Optional[asyncio.Task] = None

    def start(self) -> None:
        """Start the probe task in the current event loop (the one the run plays on)."""
        self._task = asyncio.ensure_future(self._probe())

    async def _probe(self) -> None:
        interval_s = self.interval_ms / 1000
        while True:
            scheduled = time.perf_counter() + interval_s
            await asyncio.sleep(interval_s)
            self.lags_ms.append(max(0.0, (time.perf_counter() - scheduled) * 1000))

    async def stop(self) -> None:
        """Stop the probe (waits for it to end)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    @property
    def max_lag_ms(self) -> float:
        """The worst wake-up lag so far (ms; 0 before the first wake-up)."""
        return max(self.lags_ms, default=0.0)

    def summary(self) -> dict[str, Any]:
        """``{max_lag_ms, p95_lag_ms, wakeups, tolerance_ms, p95_tolerance_ms, distorted}`` (ms, rounded to 0.1);
        ``distorted``: the worst wake-up was later than ``tolerance_ms`` or the 95th percentile later than
        :data:`SUSTAINED_TOLERANCE_MS`."""
        lags = sorted(self.lags_ms)
        p95 = lags[min(len(lags) - 1, int(0.95 * len(lags)))] if lags else 0.0
        return {'max_lag_ms': round(self.max_lag_ms, 1), 'p95_lag_ms': round(p95, 1), 'wakeups': len(lags),
                'tolerance_ms': self.tolerance_ms, 'p95_tolerance_ms': SUSTAINED_TOLERANCE_MS,
                'distorted': self.max_lag_ms > self.tolerance_ms or p95 > SUSTAINED_TOLERANCE_MS}


def tolerance_for(expect: Any, default_ms: float = TOLERANCE_MS) -> float:
    """The max-lag tolerance (ms) of a run whose expectations are ``expect`` (a scenario's ``expect`` as plain
    data): ``default_ms``, or the tightest ``within_ms`` bound in them when that is smaller. A loop that woke up
    later than an expectation's own bound cannot tell whether the app met it (measured beside two busy loops: the
    fixed progress_resume ``progress_at_open within_ms: 50`` saw 106 ms while its p95 lag was 43 ms, under both
    tolerances, and was reported FAIL instead of timing distorted)."""
    bounds: list[float] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key == 'within_ms' and isinstance(item, (int, float)):
                    bounds.append(float(item))
                else:
                    walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
    walk(expect)
    return min([default_ms, *bounds])


def distortion_of(report: Any) -> Optional[dict[str, Any]]:
    """The report's ``loop_lag`` summary when the run was timing distorted, else None. ``report``: a
    :class:`~clientsim.simulator.run_report.RunReport` or its dict (the one place that reads the field)."""
    lag = report.get('loop_lag') if isinstance(report, dict) else getattr(report, 'loop_lag', None)
    return lag if lag and lag.get('distorted') else None
