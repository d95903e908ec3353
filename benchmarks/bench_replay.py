"""Seed replay under load: does ``clientsim play FILE --seed S`` give run S of ``explore`` at any ``--jobs``?

Starts ``--hogs`` CPU hogs (``python -c "while True: pass"``), then explores ``--seeds`` seeds of
``download_race_auto_index.yaml`` (``--file``) at ``--jobs 1`` (one process), 8 and 32 (over ``min(J, cores)``
worker processes, as ``clientsim explore``), plays every seed once more as ``play --seed S --headless`` does
(:func:`clientsim.simulator.explore.play_many`, one at a time) and prints, per ``--jobs``, how many seeds give
the same outcome signature as the play, the outcome classes and the load average it ran under. The hogs are
stopped at the end (also on Ctrl+C). Run: ``python benchmarks/bench_replay.py [--seeds 1000] [--hogs 1]
[--strategy pct]``. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clientsim.simulator import virtual_time  # noqa: E402
from clientsim.simulator.explore import Exploration, play_many, signature  # noqa: E402
from clientsim.simulator.explore_pool import cores, processes_for  # noqa: E402
from clientsim.simulator.scenario import library_dir, load_scenario  # noqa: E402


def explored(path: Path, seeds: int, jobs: int, strategy: str) -> tuple[list[str], float]:
    """Signatures of runs 0..seeds-1 at ``jobs`` and the wall seconds."""
    started = time.perf_counter()
    results = virtual_time.run(Exploration(path, strategy=strategy).run(seeds, 0, jobs,
                                                                         processes=processes_for(jobs, seeds)))
    return [r.signature for r in results], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--seeds', type=int, default=1000)
    parser.add_argument('--hogs', type=int, default=1, help='CPU hogs running meanwhile')
    parser.add_argument('--jobs', type=int, nargs='+', default=[1, 8, 32])
    parser.add_argument('--strategy', choices=('random', 'pct'), default='random')
    parser.add_argument('--file', default=str(library_dir() / 'download_race_auto_index.yaml'))
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    hogs = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(args.hogs)]
    try:
        print(f'seed replay, {args.file}: {args.seeds} seeds, {cores()} cores, {args.hogs} CPU hog(s), '
              f'load average {os.getloadavg()[0]:.1f} at the start')
        started = time.perf_counter()
        scenario = load_scenario(args.file)
        played = [signature(play_many([scenario], seed=s, strategy=args.strategy)[0]) for s in range(args.seeds)]
        print(f'  play --seed S, one at a time: {time.perf_counter() - started:.1f} s, '
              f'{len(set(played))} outcome classes')
        for jobs in args.jobs:
            signatures, wall_s = explored(Path(args.file), args.seeds, jobs, args.strategy)
            same = sum(a == b for a, b in zip(signatures, played, strict=True))
            print(f'  explore --jobs {jobs} ({processes_for(jobs, args.seeds)} processes): {same}/{args.seeds} '
                  f'seeds match play --seed S, {wall_s:.1f} s ({args.seeds / wall_s:.1f} runs/s), '
                  f'load average {os.getloadavg()[0]:.1f}')
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


if __name__ == '__main__':
    main()
