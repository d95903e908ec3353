"""Load testing with Locust: `clientsim serve`, `clientsim load` (a master and workers on loopback) and the
load scenario format. Every run is bounded (Locust's --run-time) and talks to 127.0.0.1 only."""
from __future__ import annotations

import csv
import importlib.util
import re
import signal
import subprocess

import pytest

from clientsim.simulator.load.spec import LOAD_LIBRARY, LoadScenarioError, load_load_scenario

from .conftest import CLEAN_EXIT_MARKERS, CLI, ROOT, run_cli

# never import locust here: it monkey-patches the whole test process with gevent
pytestmark = pytest.mark.skipif(importlib.util.find_spec('locust') is None, reason='needs the load extra')

FIXES = ['--set', 'download_target=sender', '--set', 'disconnect_guard=true', '--set', 'idempotent_delete=true',
         '--set', 'prune_skips_pending_delete=true']


def stats(prefix) -> dict[str, dict[str, str]]:
    with open(f'{prefix}_stats.csv', newline='') as f:
        return {row['Name']: row for row in csv.DictReader(f)}


def assert_no_unclean_markers(output: str) -> None:
    for marker in CLEAN_EXIT_MARKERS:
        assert marker not in output, f'{marker!r} in output:\n{output[-3000:]}'


def test_distributed_run_in_fix_mode_has_no_failures(tmp_path):
    """Master + 2 workers, 100 users, ~12 s against `clientsim serve` with every fix switched on."""
    prefix = tmp_path / 'fix'
    proc = run_cli('load', 'download_race_at_scale', '--workers', '2', '--users', '100', '--spawn-rate', '50',
                   '--run-time', '12s', '--csv', str(prefix), *FIXES, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert 'exit codes: master 0, worker 1 0, worker 2 0' in proc.stdout
    workers = re.findall(r'clientsim: worker (\S+): (\d+) handshakes, (\d+) failures', proc.stdout)
    assert len(workers) == 2, output[-4000:]
    assert all(int(handshakes) > 0 and failures == '0' for _, handshakes, failures in workers), workers
    rows = stats(prefix)
    assert rows['Aggregated']['Failure Count'] == '0'
    assert int(rows['handshake']['Request Count']) >= 100  # every user opened its window at least once
    assert int(rows['download']['Request Count']) > 0 and int(rows['event']['Request Count']) > 0
    assert 'server errors: none' in proc.stdout
    assert_no_unclean_markers(output)


def test_shipped_policy_fast_navigation_keyerrors_are_locust_failures(tmp_path):
    prefix = tmp_path / 'bug'
    # 8 s: the run-time clock starts before the windows' engine process has imported (seconds on a busy machine)
    # 2 workers: at the end of --run-time Locust's master quits without waiting for the workers' last reports
    # (2,391 of 2,585 KeyErrors counted before clientsim's final handover, simulator/load/user.py)
    proc = run_cli('load', 'fast_navigation_at_scale', '--workers', '2', '--users', '20', '--spawn-rate', '20',
                   '--run-time', '8s', '--csv', str(prefix), timeout=120)
    output = proc.stdout + proc.stderr
    assert 'master 1' in proc.stdout, output[-4000:]  # Locust exits 1 when a request failed
    rows = stats(prefix)
    keyerrors = rows['server_error KeyError']
    assert int(keyerrors['Failure Count']) > 0 and keyerrors['Failure Count'] == keyerrors['Request Count']
    assert rows['handshake']['Failure Count'] == '0'  # the windows themselves are fine: only the server fails
    served = int(re.search(r'server errors: .*KeyError (\d+)', proc.stdout).group(1))
    # each server error is reported once: the feed keeps an error until a worker acknowledged it (issue 20)
    # (serve's summary says how many no worker acknowledged: lost in the feed, or counted by a worker and lost on
    # the way to the master)
    assert int(keyerrors['Failure Count']) == served, proc.stdout[-3000:]
    with open(f'{prefix}_failures.csv', newline='') as f:
        assert "KeyError in the server's disconnect handler" in f.read()
    assert_no_unclean_markers(output)


def test_serve_prints_url_and_summary_and_exits_0():
    serve = subprocess.Popen([*CLI, 'serve', '--set', 'disconnect_guard=true'],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = serve.stdout.readline()
        assert re.match(r'clientsim serve: http://127\.0\.0\.1:\d+$', line.strip()), line
        import urllib.request
        with urllib.request.urlopen(line.split(': ', 1)[1].strip() + '/private', timeout=5) as response:
            assert response.status == 200 and b'client_id' in response.read()
        serve.send_signal(signal.SIGINT)
        out, err = serve.communicate(timeout=15)
    finally:
        if serve.poll() is None:
            serve.kill()
    assert serve.returncode == 0, err
    assert 'clients created 2, alive at exit 2; server errors: none' in out  # auto-index + the private page
    assert_no_unclean_markers(out + err)


def test_serve_rejects_a_bad_policy_field():
    proc = run_cli('serve', '--set', 'disconnect_guard=maybe', timeout=30)
    assert proc.returncode == 2
    assert '--set: disconnect_guard:' in proc.stderr


def test_bad_load_scenario_names_file_step_and_field(tmp_path):
    path = tmp_path / 'bad.yaml'
    path.write_text('name: x\nload:\n  steps:\n    - open: {}\n    - click: {label: Download, share: 2}\n')
    with pytest.raises(LoadScenarioError, match=r'bad\.yaml: load\.steps\[1\]\.click\.share: .*less than or equal'):
        load_load_scenario(path)
    proc = run_cli('load', str(path), timeout=30)
    assert proc.returncode == 2 and 'load.steps[1].click.share' in proc.stderr


def test_shipped_load_scenarios_are_valid():
    names = sorted(p.stem for p in LOAD_LIBRARY.glob('*.yaml'))
    assert {'download_race_at_scale', 'reconnect_storm', 'fast_navigation_at_scale'} <= set(names)
    for name in names:
        assert load_load_scenario(name).load.steps
