"""Virtual time on the embedded server (simulator.virtual_time): sleeps are instant, the wire is real, stamps exact."""
from __future__ import annotations

import asyncio
import time

import aiohttp

from clientsim.server.app import EmbeddedServer
from clientsim.simulator import virtual_time
from clientsim.simulator.player import ScenarioPlayer
from clientsim.simulator.scenario import parse_scenario
from clientsim.simulator.timeline import now_ns

RACE = """
name: virtual time
policy: {download_target: room, single_use_grace_s: 0, removal_busy_share: 0, removal_wake_ms: 1}
windows:
  - {name: alice, page: /, latency: {download_ms: 0}}
  - {name: bob,   page: /, latency: {download_ms: 50}}
  - {name: carol, page: /, latency: {download_ms: 137.3}}
steps:
  - open: [alice, bob, carol]
  - click: {window: bob, label: Download}
  - wait: 20000
  - close: carol
settle_ms: 5000
"""


def _gaps_ms(report: dict) -> dict[str, float]:
    """Per window: ms from its download event to its download GET being sent, read from the timeline."""
    events = report['events']
    gaps = {}
    for name in ('alice', 'bob', 'carol'):
        got = next(e['t_ms'] for e in events if e['source'] == name and e['kind'] == 'download_event')
        sent = next(e['t_ms'] for e in events if e['source'] == name and e['kind'] == 'download_get_sent')
        gaps[name] = round(sent - got, 3)
    return gaps


def test_sleeps_cost_no_wall_time_and_latencies_are_exact_on_the_timeline():
    """25 s of waits play in well under a second of wall time; the drawn download delays are exact on the timeline;
    the GETs really crossed the socket (the server served one 200 and stamped each GET)."""
    started = time.perf_counter()
    report = virtual_time.run(ScenarioPlayer(parse_scenario(RACE)).run(), 'virtual').model_dump()
    wall_s = time.perf_counter() - started
    assert wall_s < 5, wall_s  # generous for a busy machine; real time would need 25 s
    assert _gaps_ms(report) == {'alice': 0.0, 'bob': 50.0, 'carol': 137.3}
    statuses = {w['name']: [d['status'] for d in w['downloads']] for w in report['windows']}
    assert statuses == {'alice': [200], 'bob': [404], 'carol': [404]}
    served = [e for e in report['events'] if e['source'] == 'server' and e['kind'] == 'download_served']
    assert sorted((e['window'], e['detail']['status']) for e in served) == [
        ('alice', 200), ('bob', 404), ('carol', 404)]
    closed = [e['t_ms'] for e in report['events'] if e['kind'] == 'step' and 'close' in e['detail']['step']]
    assert closed and closed[0] >= 20000  # the virtual clock went through the wait


def test_real_mode_sleeps_for_real():
    """``--time real``: the same kind of scenario takes its waits in wall time."""
    text = RACE.replace('wait: 20000', 'wait: 300').replace('settle_ms: 5000', 'settle_ms: 0')
    started = time.perf_counter()
    report = virtual_time.run(ScenarioPlayer(parse_scenario(text)).run(), 'real').model_dump()
    assert time.perf_counter() - started >= 0.3
    assert report['windows'][0]['downloads'][0]['status'] == 200


def test_timers_jump_only_when_no_io_is_pending():
    """A 10 s sleep runs beside 200 real HTTP round trips to the embedded server: every request completes, the
    sleep ends at exactly +10 s virtual, and wall time stays small."""
    async def main() -> tuple[int, int, list[int]]:
        server = EmbeddedServer()
        url = await server.start()
        try:
            t0 = now_ns()
            sleeper = asyncio.ensure_future(asyncio.sleep(10))
            async with aiohttp.ClientSession() as session:
                async def get() -> int:
                    async with session.get(url + '/') as response:
                        await response.read()
                        return response.status
                statuses = await asyncio.gather(*(get() for _ in range(200)))
            during = now_ns() - t0
            await sleeper
            return during, now_ns() - t0, statuses
        finally:
            await server.stop()
    started = time.perf_counter()
    during_ns, total_ns, statuses = virtual_time.run(main(), 'virtual')
    assert statuses == [200] * 200
    assert during_ns < 10_000_000_000  # the requests did not wait for the sleep's jump
    assert total_ns == 10_000_000_000
    assert time.perf_counter() - started < 5


def test_outside_a_virtual_loop_the_clock_is_real():
    async def stamp() -> tuple[int, int]:
        return now_ns(), time.perf_counter_ns()
    ours, real = asyncio.run(stamp())
    assert abs(ours - real) < 50_000_000
    assert not virtual_time.is_virtual(asyncio.new_event_loop())
