"""Calibrate the single-use route removal model (server/removal.py) against real NiceGUI 2.11.0.

For each configuration (per-window download delays in ms, windows on the auto-index page, bob clicks) the
download race is played ``--runs`` times against real 2.11.0 (``assets/apps/real_app.py`` in the cached venv
``clientsim.simulator.matrix.nicegui_python('2.11.0')``, real time, one app reused) and ``--runs`` times on the
embedded server (virtual time, seeds 0..runs-1, the policy's removal model). Prints the load the machine ran
under (load average before/after, cores), per configuration both outcome distributions (statuses per window) and
their total-variation distance, and the mean TV over tie configurations (two GETs within 20 ms) and over the
others. The noise floor of two samples of ``runs`` draws from one distribution is about ``sqrt(k / (2 pi runs))``
for k outcomes; compare against it.

Run: ``python benchmarks/calibrate_removal.py [--runs 10] [--configs 6] [--set removal_wake_ms=3]``.
Needs network once to build the venv (~30 s). Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clientsim import assets  # noqa: E402
from clientsim.simulator import virtual_time  # noqa: E402
from clientsim.simulator.explore import Exploration  # noqa: E402
from clientsim.simulator.matrix import nicegui_python  # noqa: E402
from clientsim.simulator.target import TargetStartError  # noqa: E402

NAMES = ['alice', 'bob', 'carol', 'dave', 'erin']
CONFIGS = [  # download_ms per window; ties first
    [0, 0], [0, 0, 0], [50, 1, 1, 1, 100], [0, 2], [0, 5, 10], [0, 1, 20],
    [0, 50, 100], [0, 30], [10, 60, 90], [0, 100, 40], [0, 80], [5, 25],
]
SCENARIO = """
name: removal calibration {delays}
{target}
windows:
{windows}
steps:
  - open: [{names}]
  - click: {{window: bob, label: Download}}
  - wait: 400
expect:
  download_gets: true
"""


def scenario_text(delays: list[float], target: str, policy: dict[str, str]) -> str:
    names = NAMES[:len(delays)]
    windows = '\n'.join(f'  - {{name: {n}, page: /, latency: {{download_ms: {d}}}}}'
                        for n, d in zip(names, delays, strict=True))
    policy_text = ', '.join(f'{k}: {v}' for k, v in {'download_target': 'room', **policy}.items())
    head = target or f'policy: {{{policy_text}}}'
    return SCENARIO.format(delays=delays, target=head, windows=windows, names=', '.join(names))


def outcome(signature: str) -> str:
    return ' '.join(part.split('×')[1] for part in signature.split(' | ')[0].split(' ') if '×' in part)


async def runs(path: Path, count: int) -> Counter:
    results = await Exploration(path).run(count, 0, 1)
    return Counter(outcome(r.signature) for r in results)


def tv(a: Counter, b: Counter) -> float:
    na, nb = sum(a.values()) or 1, sum(b.values()) or 1
    return 0.5 * sum(abs(a[k] / na - b[k] / nb) for k in set(a) | set(b))


def mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float('nan')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--configs', type=int, default=len(CONFIGS))
    parser.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE', help='embedded policy field')
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    policy = dict(s.split('=', 1) for s in args.set)
    python = nicegui_python('2.11.0')
    app = assets.path('apps') / 'real_app.py'
    target = f"target: {{command: ['{python}', '{app}', '{{port}}'], url: 'http://127.0.0.1:{{port}}'}}"
    print(f'removal calibration: {os.cpu_count()} cores, load average before {os.getloadavg()}, '
          f'{args.runs} runs per configuration, embedded policy {policy or "defaults"}')
    tie_tv, other_tv = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, delays in enumerate(CONFIGS[:args.configs]):
            real_path, emb_path = Path(tmp) / f'real{i}.yaml', Path(tmp) / f'emb{i}.yaml'
            real_path.write_text(scenario_text(delays, target, {}), encoding='utf-8')
            emb_path.write_text(scenario_text(delays, '', policy), encoding='utf-8')
            started = time.perf_counter()
            for attempt in range(3):  # the app's free port can be taken by another process before it binds
                try:
                    real = virtual_time.run(runs(real_path, args.runs), 'real')
                    break
                except TargetStartError as e:
                    print(f'    (real app did not start, attempt {attempt + 1}: {str(e).splitlines()[0][:100]})')
            else:
                continue
            embedded = virtual_time.run(runs(emb_path, args.runs), 'virtual')
            d = tv(real, embedded)
            gaps = sorted(delays)
            tie = any(b - a <= 20 for a, b in zip(gaps, gaps[1:], strict=False))
            (tie_tv if tie else other_tv).append(d)
            print(f'{str(delays):<22} {"tie " if tie else "    "} TV {d:.2f}  ({time.perf_counter() - started:.0f} s)')
            print(f'    real 2.11.0: {dict(real.most_common())}')
            print(f'    embedded   : {dict(embedded.most_common())}')
    print(f'mean TV over tie configurations: {mean(tie_tv):.3f} ({len(tie_tv)}); over the others: '
          f'{mean(other_tv):.3f} ({len(other_tv)}); load average after {os.getloadavg()}')


if __name__ == '__main__':
    main()
