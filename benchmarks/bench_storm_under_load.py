"""R1 under load: the 500-window storm of tests/test_storm_leaves_nothing_behind.py (fix mode) beside busy processes,
one run per seed. Prints per seed: sockets, routes and clients left, server errors, unhandled exceptions, seconds;
then the totals. Asserts nothing (issue 26's before/after figures come from here).

Run: ``python benchmarks/bench_storm_under_load.py [--windows 500] [--busy 2] [--seeds 1313..1322]``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.stress import busy_processes  # noqa: E402
from tests.test_storm_leaves_nothing_behind import STORM  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--windows', type=int, default=500)
    parser.add_argument('--busy', type=int, default=2, help='busy-loop processes beside the storm')
    parser.add_argument('--seeds', type=int, nargs='*', default=list(range(1313, 1323)))
    args = parser.parse_args()
    print(f'storm of {args.windows} windows (fix mode) beside {args.busy} busy processes, {os.cpu_count()} cores')
    left = []
    with busy_processes(args.busy):
        for seed in args.seeds:
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, '-c', STORM, str(args.windows), str(seed)], cwd=ROOT,
                                  capture_output=True, text=True, timeout=600)
            try:
                f = json.loads(proc.stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                print(f'seed {seed}: no figures (exit {proc.returncode}): {proc.stderr[-500:]}')
                continue
            left.append(f['sockets_left'])
            print(f"seed {seed}: sockets_left {f['sockets_left']}, routes_left {f['routes_left']}, "
                  f"clients_left {len(f['clients_left'])}, server_errors {len(f['server_errors'])}, "
                  f"unhandled {len(f['unhandled'])}, tasks_left {len(f['tasks_left'])}, "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
    print(f'sockets left over {len(left)} seeds: total {sum(left)}, max {max(left, default=0)}, '
          f'runs with a leak {sum(1 for n in left if n)}')


if __name__ == '__main__':
    main()
