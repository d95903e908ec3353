"""A window's drawn latencies, slept and measured: the gap between the drawn and the achieved delay (lag).

Every latency knob (``page_get_ms``, ``handshake_ms``, ``download_ms``; ms) is slept through :func:`latency_sleep`,
which stamps a ``latency`` event ``{knob, drawn_ms, achieved_ms, lag_ms}`` on the window's timeline. In virtual
time (:mod:`clientsim.simulator.virtual_time`) the lag is 0 by construction; in real time (real targets, the GUI,
``--time real``) a busy machine wakes the window late and the run no longer plays the drawn delays:
:func:`max_lag_ms` reads the worst lag of a run from its events, and ``clientsim explore`` marks runs whose lag
exceeds its tolerance as distorted (:mod:`clientsim.simulator.distortion`).
"""
from __future__ import annotations

import asyncio
from typing import Any, Iterable

from ..timeline import now_ns
from .state import WindowView


async def latency_sleep(window: WindowView, knob: str, drawn_ms: float) -> None:
    """Sleep ``drawn_ms`` ms (nothing for 0) and stamp the achieved delay as a ``latency`` event."""
    if not drawn_ms:
        return
    started = now_ns()
    await asyncio.sleep(drawn_ms / 1000)
    achieved_ms = (now_ns() - started) / 1e6
    window.ports.record('latency', knob=knob, drawn_ms=drawn_ms, achieved_ms=round(achieved_ms, 3),
                   lag_ms=round(achieved_ms - drawn_ms, 3))


def max_lag_ms(events: Iterable[dict[str, Any]]) -> float:
    """The largest ``lag_ms`` of the ``latency`` events in report ``events`` (0.0 without any), in ms."""
    return max((e['detail'].get('lag_ms', 0.0) for e in events if e.get('kind') == 'latency'), default=0.0)
