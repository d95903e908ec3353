"""Benchmark: 200 windows and 100k timeline events in the GUI (offscreen), plus headless figures.

Prints figures and ratios; it asserts nothing (speed targets live here, not in timed tests).
Run:  QT_QPA_PLATFORM=offscreen python benchmarks/bench_gui.py
"""
from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')

WINDOWS = 200
EVENTS = 100_000


async def open_windows(base_url: str, timeline, n: int, adopt=None) -> tuple[float, list]:
    from clientsim.simulator.browser import SimulatedBrowser
    browsers = [SimulatedBrowser(f'w{i}', timeline) for i in range(n)]
    if adopt:
        for b in browsers:
            adopt(b)
    started = time.perf_counter()
    await asyncio.gather(*(b.open(base_url + ('/' if i % 2 else '/private')) for i, b in enumerate(browsers)))
    return time.perf_counter() - started, browsers


def handshake_ms(timeline) -> list[float]:
    connected = {e.sid: e.t_ns for e in timeline.events if e.kind == 'socket_connected_client'}
    return [(e.t_ns - connected[e.sid]) / 1e6 for e in timeline.events
            if e.kind == 'handshake_acked' and e.sid in connected]


async def headless() -> dict:
    from clientsim.server.app import EmbeddedServer
    from clientsim.simulator.timeline import Timeline
    timeline = Timeline()
    server = EmbeddedServer(timeline=timeline)
    url = await server.start()
    took, browsers = await open_windows(url, timeline, WINDOWS)
    await asyncio.gather(*(b.close() for b in browsers))
    await server.stop()
    return {'open_s': took, 'handshake_ms': statistics.median(handshake_ms(timeline))}


def gui() -> dict:
    from clientsim.simulator.gui.app import make_loop
    from clientsim.simulator.gui.main_window import MainWindow
    _app, loop = make_loop()
    window = MainWindow()
    figures: dict = {}

    async def main() -> None:
        await window.start()
        window.show()
        took, browsers = await open_windows(window.server.url, window.timeline, WINDOWS, window.adopt_browser)
        figures['open_s'] = took
        figures['handshake_ms'] = statistics.median(handshake_ms(window.timeline))
        # a 10 ms heartbeat measures how long the loop is blocked while 100k events stream in
        gaps: list[float] = []
        last = [time.perf_counter()]
        stop = asyncio.Event()

        async def heartbeat() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append((now - last[0]) * 1000 - 10)
                last[0] = now
        beat = asyncio.ensure_future(heartbeat())
        await asyncio.sleep(1.0)  # the GUI settles after opening 200 windows (first layout and paint of the tiles)
        figures['settle_max_stall_ms'] = max(gaps)
        gaps.clear()
        started = time.perf_counter()
        for i in range(EVENTS):
            window.timeline.record(f'w{i % WINDOWS}', ('event_sent', 'download_event', 'handshake_acked')[i % 3],
                                   window=f'w{i % WINDOWS}', ok=True, label='Download', status=200)
            if i % 1000 == 999:
                await asyncio.sleep(0)  # events arrive in bursts of 1000, as from busy sockets
        figures['record_s'] = time.perf_counter() - started
        t = time.perf_counter()
        window.log_model.flush()
        figures['log_flush_ms'] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        window.timeline_view.redraw()
        figures['timeline_redraw_ms'] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        window.log_model.set_filter(window='w7')
        figures['log_refilter_ms'] = (time.perf_counter() - t) * 1000
        await asyncio.sleep(0.5)
        stop.set()
        await beat
        figures['max_stall_ms'] = max(gaps)
        figures['p95_stall_ms'] = sorted(gaps)[int(len(gaps) * 0.95)]
        figures['events'] = len(window.timeline.events)
        await window.shutdown()
        window.close()

    with loop:
        loop.run_until_complete(main())
    return figures


def main() -> None:
    print(f'clientsim benchmark: {WINDOWS} windows, {EVENTS} events, {os.cpu_count()} cores')
    h = asyncio.run(headless())
    print(f'headless (plain asyncio): open {WINDOWS} windows {h["open_s"]:.2f} s, '
          f'handshake (connect→ack) p50 {h["handshake_ms"]:.2f} ms')
    g = gui()
    print(f'GUI (qasync, offscreen):  open {WINDOWS} windows {g["open_s"]:.2f} s, '
          f'handshake p50 {g["handshake_ms"]:.2f} ms')
    print(f'  ratio GUI/headless: open {g["open_s"] / h["open_s"]:.2f}x, '
          f'handshake {g["handshake_ms"] / h["handshake_ms"]:.2f}x')
    print(f'  record {EVENTS} events (with listeners): {g["record_s"]:.2f} s '
          f'({g["record_s"] / EVENTS * 1e6:.1f} µs/event)')
    print(f'  event log flush of {g["events"]} events: {g["log_flush_ms"]:.0f} ms; '
          f'refilter: {g["log_refilter_ms"]:.0f} ms')
    print(f'  timeline redraw: {g["timeline_redraw_ms"]:.0f} ms')
    print(f'  event-loop stall while streaming: p95 {g["p95_stall_ms"]:.0f} ms, max {g["max_stall_ms"]:.0f} ms '
          f'(a frame at 20 Hz is 50 ms)')
    print(f'  event-loop stall in the second after opening {WINDOWS} windows (before streaming): '
          f'max {g["settle_max_stall_ms"]:.0f} ms')


if __name__ == '__main__':
    main()
