"""Windows opened per second: in one asyncio process vs through Locust with 1 and 2 workers.

Every figure runs against a fresh `clientsim serve` process (fix policy) on 127.0.0.1: USERS windows each
loop open (page GET + socket + handshake) → close for RUN_S seconds; a window counts when its handshake was
acknowledged. The in-process rate is measured before and after the Locust runs (the machine's other load
drifts) and the Locust figures are compared with their mean. Also prints the round trip of one request through
the gevent ↔ asyncio bridge (a JSON line to the engine child process and back; a Locust user sends one per
iteration of its steps, not one per step). Goal (issue 14): each Locust worker at least 80 % of the in-process
rate.

    .venv/bin/python benchmarks/bench_locust.py [USERS] [RUN_S]
"""
from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from clientsim.simulator.browser import SimulatedBrowser  # noqa: E402
from clientsim.simulator.timeline import Timeline  # noqa: E402

SCENARIO = '''name: open and close
policy: {download_target: sender, disconnect_guard: true}
load:
  page: /private
  settle_ms: 0
  steps:
    - open: {}
    - close: {}
'''


async def in_process(url: str, users: int, run_s: float) -> float:
    """Handshakes per second of ``users`` windows looping open → close in this process."""
    done = 0
    deadline = time.perf_counter() + run_s

    async def loop(i: int) -> None:
        nonlocal done
        browser = SimulatedBrowser(f'bench-{i}', Timeline())
        while time.perf_counter() < deadline:
            await browser.open(url + '/private')
            done += browser.state == 'handshake done'
            await browser.close()
            browser.timeline.events.clear()
            browser.frames.clear()
    t0 = time.perf_counter()
    await asyncio.gather(*(loop(i) for i in range(users)))
    return done / (time.perf_counter() - t0)


def bridge_round_trip_us(url: str, scenario: str, n: int = 2000) -> float:
    """Mean µs of one request → answer through the engine child process (plain pipes, no Locust)."""
    engine = subprocess.Popen([sys.executable, '-m', 'clientsim.simulator.load.engine', url, scenario, 'bench-'],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT)
    assert engine.stdin and engine.stdout
    t0 = time.perf_counter()
    for i in range(n):
        engine.stdin.write(json.dumps({'id': i, 'op': 'open_window', 'number': i}).encode() + b'\n')
        engine.stdin.flush()
        while json.loads(engine.stdout.readline()).get('id') != i:
            pass
    elapsed = time.perf_counter() - t0
    engine.stdin.close()
    engine.wait(timeout=30)
    return elapsed / n * 1e6


def through_locust(url: str, scenario: str, users: int, run_s: int, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        prefix = f'{tmp}/bench'
        subprocess.run([sys.executable, '-m', 'clientsim.simulator.cli', 'load', scenario, '--host', url, '--users',
                        str(users), '--spawn-rate', str(users), '--run-time', f'{run_s}s', '--workers',
                        str(workers), '--csv', prefix], cwd=ROOT, capture_output=True, timeout=run_s + 120)
        with open(f'{prefix}_stats.csv', newline='') as f:
            rows = {r['Name']: r for r in csv.DictReader(f)}
        return float(rows['handshake']['Requests/s'])


@contextlib.contextmanager
def serving(scenario: str) -> Iterator[str]:
    """A fresh `clientsim serve` for one figure (its URL): a server that already served thousands of windows is
    slower (the in-process rate measured after the Locust runs on the same server was 10-25 % lower)."""
    serve = subprocess.Popen([sys.executable, '-m', 'clientsim.simulator.cli', 'serve', '--policy', scenario],
                             stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert serve.stdout is not None
        yield serve.stdout.readline().split(': ', 1)[1].strip()
    finally:
        serve.send_signal(2)
        serve.wait(timeout=30)


def main() -> None:
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    run_s = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    with tempfile.NamedTemporaryFile('w', suffix='.yaml', delete=False) as f:
        f.write(SCENARIO)
        scenario = f.name
    with serving(scenario) as url:
        rtt = bridge_round_trip_us(url, scenario)
    with serving(scenario) as url:
        before = asyncio.run(in_process(url, users, run_s))
    with serving(scenario) as url:
        one = through_locust(url, scenario, users, run_s, 1)
    with serving(scenario) as url:
        two = through_locust(url, scenario, users, run_s, 2)
    with serving(scenario) as url:
        after = asyncio.run(in_process(url, users, run_s))
    base = (before + after) / 2
    print(f'{users} windows looping open -> close for {run_s} s, each figure against a fresh clientsim serve '
          '(127.0.0.1)')
    print(f'bridge round trip (pipe -> engine process -> back): {rtt:.0f} us per request')
    print(f'in-process (one asyncio process):   {base:7.1f} windows opened/s  (before {before:.1f}, after {after:.1f})')
    print(f'Locust, 1 worker:                   {one:7.1f} windows opened/s  ({one / base:.0%} of in-process)')
    print(f'Locust, 2 workers:                  {two:7.1f} windows opened/s  ({two / base:.0%} of in-process, '
          f'{two / 2 / base:.0%} per worker)')
    Path(scenario).unlink()


if __name__ == '__main__':
    main()
