"""Explore runs spread over worker processes: ``clientsim explore --jobs J`` on the embedded server.

One asyncio loop plays about 50 runs per second of CPU (the download race: ~20 ms of CPU a run, most of it the
wire: aiohttp, engine.io, asyncio), so a single process cannot use a second core. :func:`run_in_processes`
plays the seeds on ``processes`` worker processes (:class:`concurrent.futures.ProcessPoolExecutor` on a
``forkserver`` context: the workers fork from a fresh interpreter that imported clientsim once, never from the
caller, whose loop and threads must not be forked). Each worker rebuilds the
:class:`~clientsim.simulator.explore.Exploration` from its :class:`ExploreSpec` once and plays chunks of
consecutive seeds on its own loop (virtual time when the caller's loop is virtual), ``jobs_per_process`` runs at
once, each on its own embedded server, exactly as ``--jobs`` does in one process. A run depends only on its seed
(virtual time, seeded ties), so ``clientsim play FILE --seed S`` replays run S whatever process played it.

Results come back in seed order: a chunk's results are handed to ``on_result`` once every earlier chunk's are.
At most one chunk per worker and one more are in flight, so :attr:`Exploration.stop_requested` (Stop,
``--until-covered``) ends the exploration after the chunks under way (at most ``(processes + 1) * MAX_CHUNK`` more
runs), and the results are always the seeds ``seed .. seed + k - 1``.
Workers ignore SIGINT (the caller handles Ctrl+C and shuts the pool down) and exit when the caller dies. A
script that calls this needs multiprocessing's usual ``if __name__ == '__main__':`` guard (the workers import the
caller's main module). No Qt import here.
"""
from __future__ import annotations

import asyncio
import gc
import importlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional

from . import virtual_time
from .virtual_time import TimeMode

RunResult = Any
"""A :class:`clientsim.simulator.explore.RunResult` (this module does not import explore: explore imports it)."""

MAX_CHUNK = 10
"""Most seeds a worker plays per task: results stream back (and a stop takes effect) at least this often."""


@dataclass(frozen=True)
class ExploreSpec:
    """What a worker needs to rebuild an :class:`~clientsim.simulator.explore.Exploration` (picklable): the
    file ``path``, the ``--vary`` texts, ``variant``, ``strategy``, ``depth`` and ``lag_tolerance_ms`` (ms)."""
    path: str
    cli_vary: tuple[str, ...]
    variant: str
    strategy: str
    depth: int
    lag_tolerance_ms: float


def cores() -> int:
    """The cores this process may run on (``sched_getaffinity``; ``os.cpu_count()`` where it is missing)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def processes_for(jobs: int, runs: int) -> int:
    """Worker processes for ``jobs`` runs at once: ``min(jobs, cores(), runs)``, at least 1 (1 = in process)."""
    return max(1, min(jobs, cores(), runs))


def chunk_size(runs: int, processes: int) -> int:
    """Seeds per task: about 4 tasks per worker, 1 .. :data:`MAX_CHUNK`."""
    return max(1, min(MAX_CHUNK, runs // (processes * 4)))


_CACHE: dict[tuple[type, ExploreSpec], Any] = {}


GC_THRESHOLD = (20000, 20, 20)
"""A worker's ``gc.set_threshold``: a run allocates tens of thousands of short-lived objects (frames, futures,
aiohttp messages) and with Python's default (700, 10, 10) the cyclic collector ran 3.3 times a run and took about
2 ms of its ~20 ms of CPU; with this and ``gc.freeze()`` of the imported modules, 0.1 times and about 0.5 ms."""


def _init_worker(module: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the caller's: it shuts the pool down
    parent = multiprocessing.parent_process()
    if parent is not None:  # the caller killed (SIGTERM, SIGKILL): end with it, never an orphan
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True, name='parent-watch').start()
    importlib.import_module(module)  # the exploration's module, before the freeze (the forkserver preloaded it)
    gc.freeze()  # the modules' objects never become garbage: keep them out of every collection
    gc.set_threshold(*GC_THRESHOLD)


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _play_chunk(factory: type, spec: ExploreSpec, seeds: list[int], jobs: int,
                mode: TimeMode) -> tuple[list[RunResult], float]:
    """In a worker: play ``seeds`` (``jobs`` at once) on a fresh loop with the exploration ``factory(*spec)``
    (built once per worker); their results in seed order and the CPU seconds it took."""
    started = time.process_time()
    exploration = _CACHE.get((factory, spec))
    if exploration is None:
        exploration = _CACHE[factory, spec] = factory(spec.path, spec.cli_vary, spec.variant, spec.strategy,
                                                      spec.depth, spec.lag_tolerance_ms)
    results = virtual_time.run(exploration.run_seeds(seeds, jobs), mode)
    return results, time.process_time() - started


def _context(module: str) -> multiprocessing.context.BaseContext:
    if 'forkserver' in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context('forkserver')
        context.set_forkserver_preload([module])
        return context
    return multiprocessing.get_context('spawn')  # pragma: no cover - not POSIX


async def run_in_processes(exploration: Any, seeds: list[int], jobs: int, processes: int,
                           on_result: Optional[Callable[[RunResult, int], None]] = None) -> list[RunResult]:
    """Play ``seeds`` (consecutive) of ``exploration`` (an :class:`~clientsim.simulator.explore.Exploration`;
    each worker rebuilds its class from ``exploration.spec()`` and plays with ``run_seeds``) on ``processes``
    worker processes, ``ceil(jobs / processes)`` runs at once in each; call ``on_result(result, done)`` in seed
    order; stop handing out seeds once ``exploration.stop_requested`` is set. Returns the results in seed order
    and adds the workers' CPU seconds to ``exploration.worker_cpu_s``. Exceptions of a run propagate."""
    spec, factory = exploration.spec(), type(exploration)
    mode: TimeMode = 'virtual' if virtual_time.is_virtual() else 'real'
    per_process = -(-jobs // processes)
    size = chunk_size(len(seeds), processes)
    chunks = [seeds[i:i + size] for i in range(0, len(seeds), size)]
    loop = asyncio.get_running_loop()
    results: list[RunResult] = []
    finished: dict[int, list[RunResult]] = {}
    in_flight: dict[asyncio.Future[tuple[list[RunResult], float]], int] = {}
    with ProcessPoolExecutor(processes, mp_context=_context(factory.__module__), initializer=_init_worker,
                             initargs=(factory.__module__,)) as pool:
        try:
            following = 0
            while True:
                while following < len(chunks) and len(in_flight) <= processes and not exploration.stop_requested:
                    task: Future[tuple[list[RunResult], float]] = pool.submit(
                        _play_chunk, factory, spec, chunks[following], per_process, mode)
                    in_flight[asyncio.wrap_future(task, loop=loop)] = following
                    following += 1
                if not in_flight:
                    break
                done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    finished[in_flight.pop(future)], cpu_s = future.result()
                    exploration.worker_cpu_s += cpu_s
                while len(results) // size in finished and len(results) < len(seeds):  # in seed order
                    for result in finished.pop(len(results) // size):
                        results.append(result)
                        if on_result is not None:
                            on_result(result, len(results))
        finally:
            for future in in_flight:
                future.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
    return results
