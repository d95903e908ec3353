"""Race explorer benchmark, virtual time beside real time (simulator.virtual_time) in the same run:

1. ``explore download_race_auto_index.yaml`` runs per second (``--runs`` virtual, ``--real-runs`` real, ``--jobs``);
2. the scenario library played sequentially (wall seconds);
3. a download race of ``--windows`` windows on ``/``: wall seconds and whether every GET is accounted for (download
   events = finished GETs in the windows = GETs the server stamped ``download_served``).

Each line prints virtual, real and the ratio real/virtual. Run:
``python benchmarks/bench_explore.py [--runs 400] [--real-runs 40] [--jobs 8] [--windows 1000]``. Asserts nothing.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clientsim.simulator import virtual_time  # noqa: E402
from clientsim.simulator.explore import Exploration, play_many  # noqa: E402
from clientsim.simulator.player import ScenarioPlayer  # noqa: E402
from clientsim.simulator.scenario import library, library_dir, load_scenario, parse_scenario  # noqa: E402


def explore_rate(runs: int, jobs: int, mode: str) -> float:
    exploration = Exploration(library_dir() / 'download_race_auto_index.yaml')
    started = time.perf_counter()
    virtual_time.run(exploration.run(runs, 0, jobs), mode)  # type: ignore[arg-type]
    return runs / (time.perf_counter() - started)


def library_s(mode: str) -> tuple[float, int, int]:
    scenarios = [load_scenario(p) for p in library()]
    started = time.perf_counter()
    reports = play_many(scenarios, jobs=1, time_mode=mode)  # type: ignore[arg-type]
    return time.perf_counter() - started, sum(r.passed for r in reports), len(reports)


def big_race(windows: int, mode: str) -> tuple[float, str]:
    names = [f'w{i}' for i in range(windows)]
    text = ('name: big race\npolicy: {download_target: room, single_use_grace_s: 0}\nwindows:\n'
            + ''.join(f'  - {{name: {n}, page: /, latency: {{download_ms: {i % 100}}}}}\n' for i, n in enumerate(names))
            + 'steps:\n  - open: all\n  - click: {window: w0, label: Download}\n  - wait: 300\n')
    started = time.perf_counter()
    report = virtual_time.run(ScenarioPlayer(parse_scenario(text)).run(), mode).model_dump()  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    events = sum(w['download_events'] for w in report['windows'])
    finished = sum(len(w['downloads']) for w in report['windows'])
    served = sum(1 for e in report['events'] if e['kind'] == 'download_served')
    verdict = 'PASS' if report['passed'] else 'FAIL'
    return elapsed, f'{events} events, {finished} GETs finished, {served} served, {verdict}, lag ≤ ' \
                    f'{report["max_lag_ms"]:.0f} ms'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--runs', type=int, default=400)
    parser.add_argument('--real-runs', type=int, default=40)
    parser.add_argument('--jobs', type=int, default=8)
    parser.add_argument('--windows', type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    print(f'clientsim explore benchmark, {os.cpu_count()} cores, load average {os.getloadavg()}')
    v, r = explore_rate(args.runs, args.jobs, 'virtual'), explore_rate(args.real_runs, args.jobs, 'real')
    print(f'1. explore download_race_auto_index --jobs {args.jobs}: virtual {v:.1f} runs/s ({args.runs} runs), '
          f'real {r:.1f} runs/s ({args.real_runs} runs), ratio {v / r:.1f}x')
    (vs, vp, n), (rs, rp, _) = library_s('virtual'), library_s('real')
    print(f'2. library ({n} files) sequential: virtual {vs:.1f} s ({vp}/{n} passed), real {rs:.1f} s ({rp}/{n} '
          f'passed), ratio {rs / vs:.1f}x')
    (vt, vtext), (rt, rtext) = big_race(args.windows, 'virtual'), big_race(args.windows, 'real')
    print(f'3. {args.windows}-window race on /: virtual {vt:.1f} s ({vtext}); real {rt:.1f} s ({rtext}); '
          f'ratio {rt / vt:.1f}x')


if __name__ == '__main__':
    main()
