"""Race explorer benchmark: runs per second of ``clientsim explore download_race_auto_index.yaml --runs 200
--jobs 8`` and the wall time of the whole library with ``clientsim play --headless --jobs 4`` (and sequential).

Run: ``python benchmarks/bench_explore.py [--runs 200] [--jobs 8]``. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clientsim.simulator.explore import Exploration, outcomes, play_many, table  # noqa: E402
from clientsim.simulator.scenario import library, library_dir, load_scenario  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--runs', type=int, default=200)
    parser.add_argument('--jobs', type=int, default=8)
    parser.add_argument('--library-jobs', type=int, default=4)
    parser.add_argument('--sequential', action='store_true', help='also time the library played one by one')
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # as the clientsim command: server errors are in the reports
    print(f'clientsim explore benchmark, {os.cpu_count()} cores')
    exploration = Exploration(library_dir() / 'download_race_auto_index.yaml')
    started = time.perf_counter()
    results = asyncio.run(exploration.run(args.runs, 0, args.jobs))
    elapsed = time.perf_counter() - started
    print(table(outcomes(results), len(results)))
    print(f'explore download_race_auto_index.yaml --runs {args.runs} --jobs {args.jobs}: {elapsed:.1f} s, '
          f'{len(results) / elapsed:.1f} runs/s')
    scenarios = [load_scenario(p) for p in library()]
    started = time.perf_counter()
    reports = play_many(scenarios, jobs=args.library_jobs)
    elapsed = time.perf_counter() - started
    print(f'library ({len(reports)} files) play --jobs {args.library_jobs}: {elapsed:.1f} s wall, '
          f'{sum(r.passed for r in reports)}/{len(reports)} passed')
    if args.sequential:
        started = time.perf_counter()
        reports = play_many(scenarios, jobs=1)
        print(f'library sequential: {time.perf_counter() - started:.1f} s wall, '
              f'{sum(r.passed for r in reports)}/{len(reports)} passed')


if __name__ == '__main__':
    main()
