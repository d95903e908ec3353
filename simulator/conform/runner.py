"""The conformance run of one NiceGUI version: the same actions in a real headless Chromium tab and in clientsim
windows against one real app, each side behind its own :class:`~.proxy.RecordingProxy`, observed on one clock
(perf_counter_ns; CDP timestamps are the same CLOCK_MONOTONIC on Linux, checked against the proxy's stamps).

Phases (:func:`observe`): first loads with an empty cache → a click on ``/counter`` and the ack cadence →
navigation to ``/private`` → a download → a reload → a server kill and restart with both sides on the page →
(NiceGUI 2.x) the two-tab auto-index download race. Everything waits with deadlines. :mod:`.checks` turns the
observations into rows.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Optional

from clientsim.simulator.browser import SimulatedBrowser
from clientsim.simulator.timeline import Timeline, now_ns

from .app import RealApp
from .chromium import ChromiumSession
from .proxy import RecordingProxy, Request
from .tabs import ChromiumTab, SimTab

SIDES = ('chromium', 'clientsim')
Tab = Any  # ChromiumTab | SimTab


async def until(probe: Callable[[], Any], timeout_s: float, step_s: float = 0.05) -> Any:
    """Await ``probe()`` (sync or async) until it returns something truthy or ``timeout_s`` **seconds** passed;
    returns the last value (None/False on a timeout)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(step_s)


def gets(proxy: RecordingProxy, path: str, since_ns: int) -> list[Request]:
    """The proxy's GETs of ``path`` (exact path, websockets excluded) since ``since_ns``."""
    return [r for r in proxy.requests if r.t_ns >= since_ns and r.method == 'GET' and r.path == path
            and not r.websocket]


def sockets(proxy: RecordingProxy, since_ns: int = 0) -> list[Request]:
    """The proxy's websocket upgrades since ``since_ns``."""
    return [r for r in proxy.requests if r.websocket and r.t_ns >= since_ns]


class Run:
    """State of one version's run: the app, a proxy per side, Chromium, the clientsim timeline and windows."""

    def __init__(self, version: str, seed: int) -> None:
        self.version = version
        self.seed = seed
        self.app = RealApp(version)
        self.proxies = {side: RecordingProxy(self.app.port) for side in SIDES}
        self.chromium: Optional[ChromiumSession] = None
        self.timeline = Timeline()
        self.windows: list[SimulatedBrowser] = []
        self.obs: dict[str, dict[str, Any]] = {side: {} for side in SIDES}
        self.warnings: list[str] = []

    def url(self, side: str, path: str) -> str:
        """``path`` on ``side``'s proxy."""
        return f'http://127.0.0.1:{self.proxies[side].port}{path}'

    def window(self, name: str) -> SimTab:
        """A new clientsim window (default load profile, its rng seeded from the run's seed) as a tab."""
        window = SimulatedBrowser(name, self.timeline)
        if hasattr(window, 'rng'):
            window.rng.seed(f'{self.seed}:{name}')
        self.windows.append(window)
        return SimTab(window)

    async def start(self) -> None:
        """Start the app, the proxies and Chromium."""
        await self.app.start()
        for proxy in self.proxies.values():
            await proxy.start()
        self.chromium = await asyncio.to_thread(ChromiumSession.start)

    async def stop(self) -> None:
        """Close every window, Chromium, the proxies and the app (errors ignored)."""
        await asyncio.gather(*(w.close() for w in self.windows), return_exceptions=True)
        if self.chromium is not None:
            await asyncio.to_thread(self.chromium.close)
        for proxy in self.proxies.values():
            await proxy.stop()
        await self.app.stop()


async def observe(run: Run, *, loads: int = 3, race_runs: int = 2) -> None:
    """Play every phase on both sides and fill ``run.obs``; see the module docstring."""
    assert run.chromium is not None
    tabs: dict[str, Tab] = {'chromium': ChromiumTab(run.chromium, run.chromium.driver.current_window_handle)}
    for side in SIDES:  # one side after the other: the page load times are the most timing-sensitive figures
        run.obs[side]['loads'] = []
        for i in range(loads):
            if side == 'clientsim':  # a fresh window is a first load; the previous one closes (one tab each)
                if side in tabs:
                    await tabs[side].window.close()
                tabs[side] = run.window(f'load{i}')
            tab = tabs[side]
            await tab.clear_cache()
            run.obs[side]['loads'].append(await _load(run, side, tab, '/counter'))
    await asyncio.gather(*(_counter(run, side, tabs[side]) for side in SIDES))
    await asyncio.gather(*(_navigate(run, side, tabs[side], 'navigation') for side in SIDES))
    await asyncio.gather(*(_download(run, side, tabs[side]) for side in SIDES))
    await asyncio.gather(*(_navigate(run, side, tabs[side], 'reload') for side in SIDES))
    await _restart(run, tabs)
    if run.version.split('.')[0] == '2':
        for side in SIDES:
            run.obs[side]['race'] = []
        for i in range(race_runs):
            await asyncio.gather(*(_race(run, side, tabs[side], i) for side in SIDES))


async def _load(run: Run, side: str, tab: Tab, path: str) -> dict[str, Any]:
    t0 = now_ns()
    await tab.open(run.url(side, path))
    done = await until(lambda: tab.handshake_done_after(t0), 10.0)
    page = gets(run.proxies[side], path, t0)
    result: dict[str, Any] = {'get_ns': page[0].t_ns if page else None, 'done_ns': done}
    result['ms'] = round((done - page[0].t_ns) / 1e6, 1) if done and page else None
    statics = [r.path for r in run.proxies[side].requests if r.t_ns >= t0 and not r.websocket and r.path != path
               and r.path.startswith('/_nicegui/') and (done is None or r.t_ns <= done + 200_000_000)]
    result['static'] = sorted(set(statics))
    ws = sockets(run.proxies[side], t0)
    result['socket'] = ws[0] if ws else None
    if side == 'chromium' and page:
        run.chromium.poll()
        stamps = [e.t_ns for e in run.chromium.events if e.method == 'Network.requestWillBeSent'
                  and e.params.get('type') == 'Document' and e.t_ns >= t0 - 1_000_000_000
                  and e.params.get('request', {}).get('url', '').endswith(path)]
        if stamps:  # CDP's stamp of the page request must lie just before the proxy's: one clock
            result['clock_skew_ms'] = round((page[0].t_ns - stamps[-1]) / 1e6, 1)
    return result


async def _counter(run: Run, side: str, tab: Tab) -> None:
    load = run.obs[side]['loads'][-1]
    t_get = load['get_ns'] or now_ns()
    acks = lambda frames: [f for f in frames if f[1] == 'sent' and f[2] == 'ack']  # noqa: E731
    await until(lambda: _frames_where(tab, t_get, acks), 6.0)
    t_click = now_ns()
    await tab.click('+1')
    updates = await until(lambda: _frames_where(tab, t_click, lambda fs: [f for f in fs if f[2] == 'update']), 5.0)
    changed = [k for k in (updates[0][3] if updates else {}) if not k.startswith('_')]
    text = None
    if changed:
        text = await until(lambda: _text_is(tab, changed[0], '1'), 3.0) or await tab.text_of(changed[0])
    await until(lambda: _second_ack(tab, t_get, acks), 5.0)
    frames = await tab.frames(t_get)
    events = [f for f in frames if f[1] == 'sent' and f[2] == 'event']
    run.obs[side]['counter'] = {
        'event': events[0][3] if events else None,
        'update': updates[0][3] if updates else None,
        'text': text,
        'acks': [(round((f[0] - t_get) / 1e6), f[3]) for f in acks(frames)],
    }


async def _frames_where(tab: Tab, since_ns: int, select: Callable) -> list:
    return select(await tab.frames(since_ns))


async def _text_is(tab: Tab, element_id: str, text: str) -> Optional[str]:
    shown = await tab.text_of(element_id)
    return shown if shown == text else None


async def _second_ack(tab: Tab, since_ns: int, acks: Callable) -> bool:
    return len(acks(await tab.frames(since_ns))) >= 2


async def _navigate(run: Run, side: str, tab: Tab, kind: str) -> None:
    proxy = run.proxies[side]
    old = sockets(proxy)[-1] if sockets(proxy) else None
    t0 = now_ns()
    if kind == 'reload':
        await tab.reload()
    else:
        await tab.open(run.url(side, '/private'))
    await until(lambda: tab.handshake_done_after(t0), 10.0)
    await until(lambda: old is None or old.closed_ns is not None, 3.0)
    page = gets(proxy, '/private', t0)
    new = sockets(proxy, t0)
    get_ns = page[0].t_ns if page else None
    def ms(t):
        return (None if t is None or get_ns is None else round((t - get_ns) / 1e6, 1))
    run.obs[side][kind] = {
        'close_after_get_ms': ms(old.closed_ns if old else None), 'close_code': old.close_code if old else None,
        'new_socket_after_get_ms': ms(new[0].t_ns if new else None),
    }


async def _download(run: Run, side: str, tab: Tab) -> None:
    proxy = run.proxies[side]
    t0 = now_ns()
    await tab.click('Download')
    fetched = await until(lambda: [r for r in proxy.requests if r.t_ns >= t0 and '/_nicegui/auto/' in r.path], 5.0)
    names = await until(lambda: tab.download_names(t0), 3.0)
    frames = await tab.frames(t0)
    message = [f for f in frames if f[2] == 'download']
    request = fetched[0] if fetched else None
    run.obs[side]['download'] = {
        'fetched': len(fetched or []), 'filename': (names or [None])[0],
        'headers': dict(request.headers) if request else {},
        'message_to_get_ms': round((request.t_ns - message[0][0]) / 1e6, 1) if request and message else None,
    }


def _down_attempts(proxy: RecordingProxy, since_ns: int) -> list[Request]:
    """Requests the proxy refused because the app was down (websocket upgrades and polling GETs)."""
    return [r for r in proxy.requests if r.t_ns >= since_ns and r.upstream_down]


async def _restart(run: Run, tabs: dict[str, Tab]) -> None:
    """Kill the app, keep it down until each side has retried at least once (and 0.5 s more for a fallback
    transport), then start it again. Every figure is taken relative to the kill and to the proxy's own
    ``upstream_down`` flag, not to the app's readiness probe, which lags on a busy machine."""
    t_kill = now_ns()
    await run.app.kill()

    def tried() -> bool:
        firsts = [_down_attempts(run.proxies[side], t_kill) for side in SIDES]
        return all(f and now_ns() - f[0].t_ns >= 500_000_000 for f in firsts)

    await asyncio.sleep(0.5)
    await until(tried, 8.0)
    await run.app.start()
    back = await asyncio.gather(*(until(lambda tab=tabs[side]: tab.handshake_done_after(t_kill), 15.0)
                                  for side in SIDES))
    for side, done in zip(SIDES, back, strict=False):
        proxy = run.proxies[side]
        first_attempt = next((r for r in sockets(proxy, t_kill) if not r.upstream_down), None)
        down = _down_attempts(proxy, t_kill)
        run.obs[side]['restart'] = {
            'back': done is not None,
            'reloaded': bool(gets(proxy, '/private', t_kill)),
            'back_after_first_attempt_ms': round((done - first_attempt.t_ns) / 1e6, 1)
            if done and first_attempt else None,
            'polling_attempts_while_down': sum(1 for r in down if 'transport=polling' in r.target),
            'websocket_attempts_while_down': sum(1 for r in down if r.websocket),
        }


async def _race(run: Run, side: str, first: Tab, number: int) -> None:
    proxy = run.proxies[side]
    if side == 'chromium':
        assert run.chromium is not None
        second: Tab = ChromiumTab(run.chromium, await asyncio.to_thread(run.chromium.new_tab))
    else:
        first, second = run.window(f'race{number}a'), run.window(f'race{number}b')
    for tab in (first, second):
        await tab.open(run.url(side, '/'))
    t0 = now_ns()
    await first.click('Download')
    fetched = await until(lambda: len([r for r in proxy.requests if r.t_ns >= t0
                                       and '/_nicegui/auto/' in r.path]) >= 2, 4.0)
    count = len([r for r in proxy.requests if r.t_ns >= t0 and '/_nicegui/auto/' in r.path])
    run.obs[side]['race'].append({'both_fetched': bool(fetched), 'fetches': count})
    if side == 'chromium':
        await asyncio.to_thread(_close_tab, run.chromium, second.handle, first.handle)


def _close_tab(session: ChromiumSession, handle: str, back_to: str) -> None:
    session.driver.switch_to.window(handle)
    session.driver.close()
    session.driver.switch_to.window(back_to)
