"""Windows at scale: clientsim windows against raw python-socketio, in one process, alternating (issue 24).

For each count (default 1,000, 5,000 and as many windows as the open-files limit allows, 2 descriptors each) it
opens that many connections to one embedded server, keeps them all open, then closes them:

* ``raw``: a bare ``socketio.AsyncClient`` per connection (python-socketio's own engine.io client, asyncio
  queues): connect + ``handshake`` with the auto-index page's client_id (fetched once), nothing else — the
  stack's own limit. Its server side is the same embedded server as the windows' (``LeanAsyncServer``);
* ``auto`` / ``private``: a clientsim window (:class:`SimulatedBrowser` through :class:`Lab`) on the auto-index page
  ``/`` / the private page ``/private``: page GET, parse, socket, handshake, timeline.

Rounds alternate ``raw, auto, raw, private`` so the machine's drifting load hits both sides alike; a mode's
ratio is taken against the mean of the raw runs of the same count. Figures per run:

* ``ms/win``: wall time of opening all windows divided by their number (``--concurrency`` opens in flight);
* ``KB/win``: RSS after opening minus RSS before, divided by the number of windows (the RSS slope; only exact in a
  fresh process: run with ``--fresh`` to start a child process per run, as the issue's memory target asks);
* ``GC %``: share of the open phase's wall time spent in the garbage collector (``gc.callbacks``);
* ``report s`` (clientsim runs): building the run's measurements from its events (``measurements_of``).

    python benchmarks/bench_scale.py                       # 1,000, 5,000, the limit's maximum
    python benchmarks/bench_scale.py --counts 500 2000 --fresh
    python benchmarks/bench_scale.py --max 3000             # cap the largest count (quick runs while developing)
    python benchmarks/bench_scale.py --load-model chromium  # see LOAD_MODELS below

Targets (issue 24): 1,000 windows <= 1.3x raw (auto and private); the largest count <= 1.6x raw; <= 64 KB per
window; per-window cost at 5,000 within 1.2x of at 500; the report of a 3,000-window run built in < 1 s.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import socketio  # noqa: E402

from clientsim.server.wire import SOCKETIO_PATH_RELATIVE, WINDOW_QUERY  # noqa: E402
from clientsim.simulator.browser import HANDSHAKE_DONE, SimulatedBrowser  # noqa: E402
from clientsim.simulator.browser.page import parse_page  # noqa: E402
from clientsim.simulator.fdlimit import FDS_PER_WINDOW, raise_open_files_limit  # noqa: E402
from clientsim.simulator.lab import Lab  # noqa: E402
from clientsim.simulator.measurements import measurements_of  # noqa: E402

PAGES = {'auto': '/', 'private': '/private'}
WARM_UP = 20
"""Raw connections opened (and kept) before each measured run, so first-use costs stay out of the figures."""

LOAD_MODELS = ('instant', 'chromium')
"""The windows' page load model (issue 18, :mod:`clientsim.simulator.browser.boot`): ``instant`` connects the socket
as soon as the page HTML is parsed (the lab's default on the embedded server); ``chromium`` first fetches the page's
static files and waits the boot time measured in Chromium 156 (436-575 ms on 3.x, 787-1434 ms on 2.x, drawn per
window), so ms/win there is mostly that wait divided by ``--concurrency``."""


def rss_kb() -> int:
    """Resident set size of this process in KB (Linux /proc)."""
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024


class GcClock:
    """Seconds spent in the garbage collector while :attr:`on` (``gc.callbacks`` start/stop pairs)."""

    def __init__(self) -> None:
        self.total_s, self._start, self.on = 0.0, 0.0, False
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if not self.on:
            return
        if phase == 'start':
            self._start = time.perf_counter()
        else:
            self.total_s += time.perf_counter() - self._start


async def _bounded(concurrency: int, count: int, open_one) -> list[Any]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(i: int) -> Any:
        async with semaphore:
            return await open_one(i)
    return await asyncio.gather(*(one(i) for i in range(count)))


async def _raw_one(url: str, client_id: str, i: int) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    await sio.connect(f'{url}?client_id={client_id}&{WINDOW_QUERY}=raw{i}', socketio_path=SOCKETIO_PATH_RELATIVE,
                      transports=['websocket'], wait_timeout=30)
    ok = await sio.call('handshake', {'client_id': client_id, 'document_id': str(uuid.uuid4()),
                                      'tab_id': str(uuid.uuid4()), 'old_tab_id': None, 'next_message_id': 0},
                        timeout=30)
    assert ok, 'raw handshake refused'
    return sio


async def run_once(mode: str, count: int, concurrency: int, load_model: str = 'instant') -> dict[str, Any]:
    """Open ``count`` connections of ``mode`` (raw, auto, private) to a fresh embedded server, all at once (at most
    ``concurrency`` in flight), measure, close them. Returns the figures of one run."""
    clock = GcClock()
    async with Lab(gc_batches=mode != 'raw') as lab:  # raw is the bare stack: CPython's default GC settings
        assert lab.url is not None
        async with aiohttp.ClientSession() as session:
            async with session.get(lab.url + '/') as response:
                client_id = parse_page(await response.text())['client_id']
        warm = await _bounded(concurrency, WARM_UP, lambda i: _raw_one(lab.url, client_id, -i))  # first-use costs
        gc.collect()
        rss0 = rss_kb()
        clock.on = True
        t0 = time.perf_counter()
        if mode == 'raw':
            opened = await _bounded(concurrency, count, lambda i: _raw_one(lab.url, client_id, i))
            ok = sum(s.connected for s in opened)
        else:
            async def open_window(i: int) -> SimulatedBrowser:
                browser = lab.add(f'w{i}')
                browser.default_load = load_model  # see LOAD_MODELS
                await browser.open(lab.url_for(PAGES[mode]))
                return browser
            opened = await _bounded(concurrency, count, open_window)
            ok = sum(b.state == HANDSHAKE_DONE for b in opened)
        wall_s = time.perf_counter() - t0
        clock.on = False
        rss1 = rss_kb()
        report_s = None
        if mode != 'raw':
            t1 = time.perf_counter()
            measurements_of(lab.timeline.to_dicts())
            report_s = time.perf_counter() - t1
        await asyncio.gather(*(s.disconnect() for s in warm + (opened if mode == 'raw' else [])),
                             return_exceptions=True)
    gc.callbacks.remove(clock._callback)
    del opened
    gc.collect()
    return {'mode': mode, 'count': count, 'ok': ok, 'ms_per_window': wall_s * 1000 / count,
            'kb_per_window': (rss1 - rss0) / count, 'gc_share': clock.total_s / wall_s if wall_s else 0.0,
            'report_s': report_s}


def run_fresh(mode: str, count: int, concurrency: int, load_model: str) -> dict[str, Any]:
    """:func:`run_once` in a child process (exact RSS slope)."""
    proc = subprocess.run([sys.executable, __file__, '--one', mode, str(count), '--concurrency', str(concurrency),
                           '--load-model', load_model], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        raise SystemExit(f'child run {mode} {count} failed:\n{proc.stderr[-2000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(run: dict[str, Any], raw: Optional[dict[str, float]]) -> str:
    ratio = f'{run["ms_per_window"] / raw["ms"]:5.2f}x' if raw and run['mode'] != 'raw' else '     '
    kb_ratio = f'{run["kb_per_window"] / raw["kb"]:5.2f}x' if raw and run['mode'] != 'raw' and raw['kb'] > 0 \
        else '     '
    report = f'{run["report_s"]:7.2f}' if run.get('report_s') is not None else '       '
    return (f'{run["mode"]:8} {run["count"]:>7,} {run["ok"]:>7,} {run["ms_per_window"]:8.3f} {ratio} '
            f'{run["kb_per_window"]:8.1f} {kb_ratio} {run["gc_share"] * 100:6.1f} {report}')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--counts', type=int, nargs='*', default=None,
                        help='window counts (default: 1000 5000 and the largest the open-files limit allows)')
    parser.add_argument('--max', type=int, default=None, help='cap every count (and the largest) at this many')
    parser.add_argument('--modes', nargs='*', default=['auto', 'private'], choices=['auto', 'private'])
    parser.add_argument('--concurrency', type=int, default=100, help='opens in flight at once (default 100)')
    parser.add_argument('--fresh', action='store_true', help='each run in a fresh child process (exact KB/win)')
    parser.add_argument('--load-model', default='instant', choices=LOAD_MODELS,
                        help='window page load model (issue 18; default instant)')
    parser.add_argument('--one', nargs=2, metavar=('MODE', 'COUNT'), help=argparse.SUPPRESS)
    args = parser.parse_args()
    budget = raise_open_files_limit()
    if args.one:
        result = asyncio.run(run_once(args.one[0], int(args.one[1]), args.concurrency, args.load_model))
        print(json.dumps(result))
        return
    print(budget.message())
    # 2 descriptors per window; the pooled page-GET connections (up to --concurrency, 2 each) and the warm-up
    # sockets need room too
    largest = budget.windows(FDS_PER_WINDOW) - args.concurrency - WARM_UP
    counts = args.counts if args.counts is not None else [1000, 5000, largest]
    if args.max is not None:
        counts = [min(c, args.max) for c in counts]
    counts = sorted(set(min(c, largest) for c in counts))
    print(f'counts {counts}, concurrency {args.concurrency}, load model {args.load_model}, '
          f'{"fresh process per run" if args.fresh else "one process"}\n')
    print(f'{"mode":8} {"windows":>7} {"ok":>7} {"ms/win":>8} {"ratio":>6} {"KB/win":>8} {"ratio":>6} '
          f'{"GC %":>6} {"report s":>8}')
    runner = (lambda m, c: run_fresh(m, c, args.concurrency, args.load_model)) if args.fresh else (
        lambda m, c: asyncio.run(run_once(m, c, args.concurrency, args.load_model)))
    summary: dict[int, dict[str, float]] = {}
    for count in counts:
        raws: list[dict[str, Any]] = []
        mine: list[dict[str, Any]] = []
        for mode in args.modes:
            raws.append(runner('raw', count))
            print(_fmt(raws[-1], None), flush=True)
            mine.append(runner(mode, count))
            raw = {'ms': statistics.mean(r['ms_per_window'] for r in raws),
                   'kb': statistics.mean(r['kb_per_window'] for r in raws)}
            print(_fmt(mine[-1], raw), flush=True)
        raw = {'ms': statistics.mean(r['ms_per_window'] for r in raws),
               'kb': statistics.mean(r['kb_per_window'] for r in raws)}
        for run in mine:
            summary.setdefault(count, {})[run['mode']] = run['ms_per_window'] / raw['ms']
            summary[count][run['mode'] + '_ms'] = run['ms_per_window']
        print()
    print('ratios to raw (ms/win, against the mean of the raw runs of the same count):')
    for count, ratios in summary.items():
        print(f'  {count:>7,}: ' + '  '.join(f'{m} {ratios[m]:.2f}x' for m in args.modes if m in ratios))
    if len(summary) > 1:
        first, last = min(summary), max(summary)
        growth = '  '.join(f'{m} {summary[last][m + "_ms"] / summary[first][m + "_ms"]:.2f}x' for m in args.modes
                           if m in summary[first] and m in summary[last])
        print(f'per-window cost at {last:,} vs {first:,}: {growth}')


if __name__ == '__main__':
    main()
