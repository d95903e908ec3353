"""Busy processes beside the code under test: the load a shared CI machine puts on it (issue 26).

:func:`busy_processes` starts ``n`` ``python -c "while True: pass"`` processes and kills exactly those (by their
process object) when the ``with`` block ends, also on an exception. Used by the stress mode of tests/conftest.py
(``CLIENTSIM_STRESS=N``), by tests/test_storm_under_load.py and by benchmarks/bench_storm_under_load.py."""
from __future__ import annotations

import contextlib
import subprocess
import sys
from typing import Iterator

BUSY_LOOP = 'while True: pass'


def start_busy(n: int) -> list[subprocess.Popen]:
    """Start ``n`` busy-loop processes (``sys.executable -c 'while True: pass'``); stop them with :func:`stop_busy`."""
    return [subprocess.Popen([sys.executable, '-c', BUSY_LOOP], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(max(0, n))]


def stop_busy(processes: list[subprocess.Popen]) -> None:
    """Kill and reap the given processes (only those)."""
    for proc in processes:
        if proc.poll() is None:
            proc.kill()
    for proc in processes:
        proc.wait(timeout=10)


@contextlib.contextmanager
def busy_processes(n: int) -> Iterator[list[subprocess.Popen]]:
    """``with busy_processes(2):`` — ``n`` busy loops run for the block's duration."""
    processes = start_busy(n)
    try:
        yield processes
    finally:
        stop_busy(processes)
