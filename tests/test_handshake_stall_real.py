"""Problem 6 against real NiceGUI 3.18.0 with Redis tab storage (issue 26): a Redis stall while a window's socket
connects pins the client (shipped FAIL, naming the client, its counted connection and the stale sid); the fix
injected through the probe (``CLIENTSIM_PROBE_PATCH=handshake_socket_check``) passes. Real redis-server (apt
package ``redis-server``), real NiceGUI from PyPI (marked ``network``), clientsim's stall proxy between them."""
from __future__ import annotations

import asyncio
import shutil

import pytest

from clientsim.simulator.dependency import StallProxy
from clientsim.simulator.matrix import play_version
from clientsim.simulator.scenario import load_scenario

from .conftest import SCENARIOS, failed_checks, nicegui_python_or_skip

SCENARIO = SCENARIOS / 'real' / 'problem6_handshake_stall.yaml'
needs_redis = pytest.mark.skipif(shutil.which('redis-server') is None,
                                 reason='needs redis-server (apt-get install redis-server)')


def _play(patch: str | None):
    python = nicegui_python_or_skip('3.18.0', extras='redis')
    scenario = load_scenario(SCENARIO)
    if patch:
        target = scenario.target.model_copy(update={'env': {**scenario.target.env, 'CLIENTSIM_PROBE_PATCH': patch}})
        scenario = scenario.model_copy(update={'target': target})
    return asyncio.run(play_version(scenario, '3.18.0', python))


def _check(report, name: str):
    return next(c for c in report.expectations if c.name == name)


@pytest.mark.network
@needs_redis
def test_redis_stall_pins_the_client_in_3_18_0():
    report = _play(None)
    assert sorted(failed_checks(report)) == ['pinned clients (app server)', 'private clients alive (app server)']
    pinned = _check(report, 'pinned clients (app server)').actual
    assert pinned.startswith('1: client ') and 'counts 1 connection(s)' in pinned and 'stale sid ' in pinned
    assert report.server_errors == []


@pytest.mark.network
@needs_redis
def test_injected_handshake_socket_check_fixes_it():
    report = _play('handshake_socket_check')
    assert report.passed, failed_checks(report)
    assert any(e.kind == 'handshake_dropped' for e in report.events)


def test_stall_proxy_holds_bytes_for_the_stall_only():
    """The proxy forwards at once without a stall and holds a reply for the stall's duration (an echo server
    upstream; real sockets on 127.0.0.1)."""
    async def run() -> tuple[float, float]:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while data := await reader.read(100):
                writer.write(data)
                await writer.drain()
            writer.close()
        upstream = await asyncio.start_server(echo, '127.0.0.1', 0)
        proxy = StallProxy(upstream.sockets[0].getsockname()[1])
        port = await proxy.start()
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        loop = asyncio.get_running_loop()
        times = []
        for stall_ms in (0, 300):
            if stall_ms:
                proxy.stall(stall_ms)
            started = loop.time()
            writer.write(b'ping')
            assert await asyncio.wait_for(reader.readexactly(4), 10) == b'ping'
            times.append(loop.time() - started)
        writer.close()
        await proxy.stop()
        upstream.close()
        await upstream.wait_closed()
        return times[0], times[1]
    fast, stalled = asyncio.run(run())
    assert fast < 0.25 and stalled >= 0.29
