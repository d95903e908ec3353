"""A run's timing is distorted when the loop woke up later than the scenario's own tightest bound (issue 26): a
fixed progress_resume whose re-attached bar must show ``within_ms: 50`` is "timing distorted" after a loop stall
of 100 ms during its steps, though that stall is under the default 150 ms tolerance. Real sockets on 127.0.0.1,
real time. (The library's progress_resume allows 1000 ms: 50 ms failed in the GUI beside a busy suite at 53 ms,
max lag 41 ms, and 200 ms at 352 ms, max lag 83 ms, beside two busy loops: the bound was tighter than what it
checks, that the bar shows at all. A CPU-starved process stretches the page-load chain without late wake-ups.)"""
from __future__ import annotations

import asyncio
import time

from clientsim.simulator.loop_lag import TOLERANCE_MS, tolerance_for
from clientsim.simulator.player import ScenarioPlayer
from clientsim.simulator.scenario import parse_scenario

from .conftest import SCENARIOS


def _progress_resume(within_ms: int):
    """progress_resume.yaml's (fixed, shipped) variants with the re-attached bar's bound set to ``within_ms``."""
    text = (SCENARIOS / 'progress_resume.yaml').read_text(encoding='utf-8')
    assert 'within_ms: 1000' in text
    variants = dict(parse_scenario(text.replace('within_ms: 1000', f'within_ms: {within_ms}')).variants())
    return variants['fixed'], variants['shipped']


def test_the_tightest_within_ms_bound_is_the_tolerance():
    fixed, shipped = _progress_resume(50)
    assert tolerance_for(fixed.expect.model_dump(mode='json')) == 50.0
    assert tolerance_for(shipped.expect.model_dump(mode='json')) == TOLERANCE_MS
    library_fixed, _ = _progress_resume(200)
    assert tolerance_for(library_fixed.expect.model_dump(mode='json')) == TOLERANCE_MS  # 200 > the default


def test_a_stall_beyond_the_scenarios_own_bound_marks_the_run_distorted():
    fixed, _ = _progress_resume(50)

    async def run():
        player = ScenarioPlayer(fixed)

        async def stall() -> None:  # the loop blocked once for 100 ms, as a busy machine does
            while not player.loop_lag.lags_ms:
                await asyncio.sleep(0.005)
            time.sleep(0.1)
        staller = asyncio.ensure_future(stall())
        report = await player.run()
        staller.cancel()
        return report

    report = asyncio.run(run())
    lag = report.loop_lag
    assert lag['tolerance_ms'] == 50.0 and lag['max_lag_ms'] > 50, lag  # under the default 150 ms when idle
    assert lag['distorted'] is True, lag
