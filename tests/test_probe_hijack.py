"""The probe cannot be hijacked (issue 20, item 1): a connection to the probe receiver must send the per-run token
as its first line. A local process that connects first (as it could while the app starts through a wrapper such
as ``sh -c 'sleep 1; exec …'``) is refused and recorded as ``probe_refused``; its injected events are not
recorded; the real probe is still accepted afterwards; a malformed line is a ``bad_probe_line`` and reading goes on.
Real TCP sockets on 127.0.0.1."""
from __future__ import annotations

import asyncio
import json
import sys
import time

import pytest

from clientsim.simulator.player import ScenarioPlayer
from clientsim.simulator.probe import ProbeReceiver
from clientsim.simulator.scenario import parse_scenario
from clientsim.simulator.timeline import Timeline

from .conftest import ROOT, until


def _line(kind: str, **fields) -> bytes:
    return (json.dumps({'kind': kind, 't_ns': time.perf_counter_ns(), **fields}) + '\n').encode()


def test_hijacker_is_refused_and_the_real_probe_still_accepted():
    async def go() -> tuple[Timeline, ProbeReceiver]:
        timeline = Timeline()
        receiver = ProbeReceiver(timeline)
        host, port = (await receiver.start()).rsplit(':', 1)
        try:
            for first in (b'', b'not-the-token\n'):  # no token (straight to JSON), a wrong one
                _, hijacker = await asyncio.open_connection(host, int(port))
                hijacker.write(first + _line('probe_hello', pid=1, version='9.9.9-hijacked')
                               + _line('server_error', type='KeyError', message='injected'))
                await hijacker.drain()
                hijacker.close()
            assert await until(lambda: receiver.refused == 2, 10)
            _, real = await asyncio.open_connection(host, int(port))
            real.write(f'{receiver.token}\n'.encode() + _line('probe_hello', pid=2, version='3.18.0'))
            real.write(b'not json\n' + b'[1, 2]\n' + b'{"no": "kind"}\n' + b'{"kind": "made_up", "t_ns": 1}\n'
                       + b'{"kind": "server_error", "t_ns": "soon"}\n')
            real.write(_line('client_created', client_id='c1', shared=False))
            await real.drain()
            assert await until(lambda: 'c1' in receiver.clients, 10)
            real.close()
        finally:
            await receiver.stop()
        return timeline, receiver

    timeline, receiver = asyncio.run(go())
    kinds = [e.kind for e in timeline.events]
    assert kinds.count('probe_refused') == 2
    assert receiver.hello == {'pid': 2, 'version': '3.18.0'}  # the real probe's hello, not the hijacker's
    assert receiver.errors == [] and 'server_error' not in kinds  # nothing injected
    assert kinds.count('bad_probe_line') == 5, [e.detail for e in timeline.events if e.kind == 'bad_probe_line']
    assert receiver.clients == {'c1': False}  # the line after the malformed ones was still read


HIJACK = r'''
import json, os, socket, time
host, port = os.environ['CLIENTSIM_PROBE'].rsplit(':', 1)
s = socket.create_connection((host, int(port)))  # first, before the app: it knows the port, not the token
for kind, fields in (('probe_hello', {'pid': 1, 'version': '9.9.9-hijacked'}),
                     ('server_error', {'type': 'KeyError', 'message': 'injected', 'where': 'disconnect'})):
    s.sendall((json.dumps({'kind': kind, 't_ns': time.perf_counter_ns(), **fields}) + '\n').encode())
time.sleep(0.5)
s.close()
'''


@pytest.mark.network
def test_a_hijacker_started_by_the_apps_wrapper_changes_nothing_in_the_report(tmp_path, nicegui_2110):
    """End to end, as the issue found it: the app starts through a wrapper (``sh -c '…; exec app'``, as ``uv run``
    or ``poetry run`` do) and a process reaches the probe port first. It was accepted and the report showed a
    KeyError that never happened, on NiceGUI "9.9.9-hijacked" (1 of 1 runs); now it is refused."""
    hijack = tmp_path / 'hijack.py'
    hijack.write_text(HIJACK)
    app = ROOT / 'assets' / 'apps' / 'real_app.py'
    # -S: no site, so the hijacker does not load clientsim's injected probe; it only knows CLIENTSIM_PROBE's port
    wrapper = f'"{sys.executable}" -S "{hijack}" && exec "{{python}}" "{app}" {{port}}'
    scenario = parse_scenario(f'''
name: hijack through a wrapper
target: {{command: [sh, -c, '{wrapper}'], url: 'http://127.0.0.1:{{port}}', ready_timeout_s: 60}}
windows:
  - {{name: alice, page: /}}
steps:
  - open: all
  - wait: 200
''')
    player = ScenarioPlayer(scenario)
    player.target.python = nicegui_2110
    report = asyncio.run(player.run())
    kinds = [e.kind for e in report.events]
    assert 'probe_refused' in kinds, kinds
    assert report.target.probe.installed and report.target.probe.nicegui == '2.11.0'  # the app's, not 9.9.9
    assert report.server_errors == [] and 'server_error' not in kinds
