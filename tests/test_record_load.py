"""A recorded session replayed by Locust users (issue 21, item 3: ``clientsim load`` replays a recording): record
a session through the recording proxy in front of a real ``clientsim serve`` (a clientsim window plays the person's
browser: open /counter, click +1 twice, close), then ``clientsim load rec.yaml`` with no ``--host`` runs it against
the recording's target in every Locust user: each iteration replays the steps, checks the final elements the
recording expects (count: 2 in the user's own client) and closes. Real sockets on 127.0.0.1."""
from __future__ import annotations

import asyncio
import csv
import importlib.util
import sys

import pytest

from clientsim.simulator.browser.state import Latency
from clientsim.simulator.browser.window import SimulatedBrowser
from clientsim.simulator.load.spec import load_load_scenario
from clientsim.simulator.record.session import RecordSession
from clientsim.simulator.steps import shows_text
from clientsim.simulator.timeline import Timeline
from clientsim.simulator.trust import trust

from .conftest import run_cli
from .test_serve_limits import _serve, _stop

pytestmark = pytest.mark.skipif(importlib.util.find_spec('locust') is None, reason='needs the load extra')


async def _record(session: RecordSession) -> None:
    """The person's session through ``session``'s proxy: open /counter, click +1 twice, close; then the recording
    is written."""
    url = await session.start()  # the proxy URL of the first page (/counter)
    person = SimulatedBrowser('person', Timeline(), Latency(load='instant'))
    try:
        await person.open(url)
        for n in (1, 2):
            await person.click('+1')
            await person.wait_for(lambda w, n=n: shows_text(w, f'count: {n}'), 10)
    finally:
        await person.close()
    await session.wait_until_done()
    scenario, _raw = await session.finish()
    assert scenario is not None


def test_a_recorded_session_runs_in_every_locust_user(tmp_path):
    with open(tmp_path / 'serve.err', 'w') as err:
        proc, url = _serve(stderr=err)
        try:
            out = str(tmp_path / 'rec.yaml')
            asyncio.run(_record(RecordSession(out, url=url + '/counter', browser='none', end_after_s=0.5)))
            scenario = load_load_scenario(out)
            kinds = [step.kind for step in scenario.load.steps]
            assert scenario.host == url and kinds[0] == 'open' and kinds.count('click') == 2, kinds
            assert kinds[-2:] == ['check', 'close'], kinds  # the recording's final elements, then a new session
            prefix = tmp_path / 'rec'
            result = run_cli('load', out, '--workers', '0', '--users', '4', '--spawn-rate', '4', '--run-time', '6s',
                             '--csv', str(prefix), timeout=120)
            output = result.stdout + result.stderr
            assert result.returncode == 0, output[-4000:]
            with open(f'{prefix}_stats.csv', newline='') as f:
                rows = {row['Name']: row for row in csv.DictReader(f)}
            assert rows['Aggregated']['Failure Count'] == '0', rows['Aggregated']
            assert int(rows['event']['Request Count']) >= 8  # 4 users, 2 clicks each, at least one iteration
            assert int(rows['handshake']['Request Count']) >= 4
        finally:
            _stop(proc)


def test_a_recording_that_started_its_app_starts_it_again(tmp_path):
    """A recording made with a target command (here `clientsim serve` on a free port, as `record --target` writes
    it, trusted as `record` trusts it): `clientsim load` without --host starts that app, runs every user against
    it and stops it; the same file edited afterwards is no longer trusted and runs nothing without --trust."""
    out = tmp_path / 'rec.yaml'
    command = [sys.executable, '-m', 'clientsim.simulator.cli', 'serve', '--port', '{port}']
    asyncio.run(_record(RecordSession(str(out), target_command=command, page='/counter', browser='none',
                                      end_after_s=0.5)))
    trust(out)
    prefix = tmp_path / 'rec'
    result = run_cli('load', str(out), '--workers', '0', '--users', '2', '--spawn-rate', '2', '--run-time', '5s',
                     '--csv', str(prefix), timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert 'started the recorded app' in output and 'exited with' in output, output[-4000:]
    with open(f'{prefix}_stats.csv', newline='') as f:
        rows = {row['Name']: row for row in csv.DictReader(f)}
    assert rows['Aggregated']['Failure Count'] == '0', rows['Aggregated']
    assert int(rows['event']['Request Count']) >= 4  # 2 users, 2 clicks each, at least one iteration

    out.write_text(out.read_text() + '# edited\n')
    result = run_cli('load', str(out), '--run-time', '1s')
    assert result.returncode == 2 and 'clientsim trust' in result.stderr and 'serve' in result.stderr, result.stderr
    assert 'started the recorded app' not in result.stdout
