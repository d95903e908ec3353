"""LoadEngine: the asyncio side of the Locust bridge. It owns the SimulatedBrowser windows of one Locust
process, runs their steps and turns each window's timeline into Locust request reports.

A report is a dict ``{'type': str, 'name': str, 'ms': float, 'length': int, 'error': str | None}``; the gevent
side (:mod:`clientsim.simulator.load.bridge`) fires one ``environment.events.request`` per report. Names:

* ``page_get`` — page GET sent → answered (error: HTTP status other than 200, or no answer);
* ``handshake`` — page answered (or reconnect started) → handshake ack (error: ack ``false``, no ack, the
  socket did not connect). It includes the window's ``handshake_ms`` latency knob;
* ``event`` — click sent → the first message the server sent back to this window (``event (no reply)`` when
  none came within ``react_ms``; its time is then only the emit);
* ``download`` — ``download`` message → its GET answered (error: not 200, or a download the window did not
  ask for: the room-wide download of NiceGUI 2.11.0, #4016);
* ``disconnect`` — a close step, until the socket and session are closed;
* ``message_dropped`` / ``disconnected by server`` — failures seen by a window;
* ``server_error`` named by exception type — errors of the server, claimed through ``clientsim serve``'s
  error feed (:mod:`clientsim.simulator.serve`); none for servers without it (a real NiceGUI app).

Run as a child process (``python -m simulator.load.engine``) it speaks JSON lines: requests on stdin
``{"id": n, "op": ..., ...}``, answers ``{"id": n, ...}`` and unsolicited ``{"op": "reports", ...}`` on stdout.
Ops: ``open_window`` (``number`` → ``window``), ``iteration`` (``window`` → the ``reports`` of every step, in
order), ``step`` (``window``, ``index`` → ``reports``), ``close_window`` (``window`` → ``reports``), ``shutdown``
(→ ``reports``, ``handshakes``, ``failures``). The answers of one turn of the event loop leave in one write.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import signal
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from clientsim.simulator.browser import Latency, SimulatedBrowser
from clientsim.simulator.outcome import received
from clientsim.simulator.tasks import TaskGroup
from clientsim.simulator.timeline import Timeline, now_ns

from ..event_kinds import EventKind
from ..steps import STEP_TYPES, WaitStep
from .feed import ErrorFeedClient
from .spec import USER, LoadScenario, draw_ms

log = logging.getLogger('clientsim.load')

_REPLIES = (EventKind.DOWNLOAD_EVENT, EventKind.UPDATE_RECEIVED, EventKind.NOTIFY_RECEIVED, EventKind.MESSAGE_RECEIVED)


def report(type_: str, name: str, ms: float, error: Optional[str] = None, length: int = 0) -> dict[str, Any]:
    """One Locust request report (``ms``: response time in milliseconds)."""
    return {'type': type_, 'name': name, 'ms': round(max(ms, 0.0), 3), 'length': length, 'error': error}


@dataclass
class _Window:
    browser: SimulatedBrowser
    does: list[bool]                      # per step: whether this user runs it (its share)
    rng: random.Random
    cursor: int = 0
    t_get_ns: Optional[int] = None
    t_connect_ns: Optional[int] = None
    t_event_ns: Optional[int] = None
    t_download_ns: list[tuple[int, bool]] = field(default_factory=list)  # (t_ns, asked for) per download
    clicks_pending: int = 0
    frames: int = 0                       # before the last click: frames, downloads and download events seen
    downloads: int = 0
    events: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)  # reports of the iteration running now


class _UserRunner:
    """The :class:`clientsim.simulator.steps.StepRunner` of one Locust user: its one window is :data:`USER`, pages
    are paths on the engine's ``base_url`` (``open: {}`` opens ``load.page``), draws come from the user's rng."""

    def __init__(self, engine: LoadEngine, window: _Window) -> None:
        self.browsers = {USER: window.browser}
        self.rng = window.rng
        self.target = None
        self.lab = None  # `duplicate` is not a load step
        self._engine = engine

    def windows(self, names: list[str]) -> list[SimulatedBrowser]:
        return [self.browsers[name] for name in names]

    def url_for(self, page: str) -> str:
        return page if page.startswith(('http://', 'https://')) else urllib.parse.urljoin(
            self._engine.base_url + '/', page)

    def page_of(self, window: str) -> str:
        return self._engine.scenario.load.page


class LoadEngine:
    """The windows of one Locust process against ``base_url`` (``http://host:port``).

    ``prefix`` starts every window name (unique per process, so the server's error feed can attribute errors).
    All methods are coroutines on one asyncio loop; step errors become failure reports, never exceptions.
    """

    def __init__(self, base_url: str, scenario: LoadScenario, prefix: str) -> None:
        self.base_url = base_url.rstrip('/')
        self.scenario = scenario
        self.prefix = prefix
        self.windows: dict[str, _Window] = {}
        self.handshakes = 0
        self.failures = 0
        self._feed = ErrorFeedClient(self.base_url, prefix)
        self._steps: dict[str, asyncio.Task] = {}  # window name → the task running its step now

    # ---- windows ---------------------------------------------------------------------------------------
    def open_window(self, number: int) -> str:
        """Create user ``number``'s window (not yet opened) and return its name."""
        load = self.scenario.load
        rng = random.Random(load.seed * 1_000_003 + number)
        does = [rng.random() < step.share for step in load.steps]
        latency = Latency(page_get_ms=draw_ms(load.latency.page_get_ms, rng),
                          handshake_ms=draw_ms(load.latency.handshake_ms, rng),
                          download_ms=draw_ms(load.latency.download_ms, rng),
                          load='instant')  # a load test's users connect at once (no static files, no boot time)
        name = f'{self.prefix}u{number}'
        self.windows[name] = _Window(SimulatedBrowser(name, Timeline(), latency), does, rng)
        return name

    async def run_step(self, name: str, index: int) -> list[dict[str, Any]]:
        """Run step ``index`` of the scenario in window ``name``; return the reports it produced. A
        :meth:`close_window` of the same window meanwhile cancels it (CancelledError)."""
        window = self.windows[name]
        task = asyncio.current_task()
        assert task is not None
        self._steps[name] = task
        try:
            return await self._run_step(window, index)
        finally:
            if self._steps.get(name) is task:
                del self._steps[name]

    async def run_iteration(self, name: str) -> list[dict[str, Any]]:
        """Run every step of the scenario in window ``name``, one after the other; return their reports in order
        (one message per iteration on the pipe instead of one per step). A :meth:`close_window` meanwhile
        cancels it and returns the reports of the steps already done."""
        window = self.windows[name]
        task = asyncio.current_task()
        assert task is not None
        self._steps[name] = task
        try:
            for index in range(len(self.scenario.load.steps)):
                window.pending += await self._run_step(window, index)
            out, window.pending = window.pending, []
            return out
        finally:
            if self._steps.get(name) is task:
                del self._steps[name]

    async def _run_step(self, window: _Window, index: int) -> list[dict[str, Any]]:
        step = self.scenario.load.steps[index]
        if not window.does[index]:
            return []
        if step.kind == 'wait':  # the player's wait, of a duration drawn per run
            await STEP_TYPES['wait'].handler(_UserRunner(self, window), WaitStep(ms=draw_ms(step.wait_ms, window.rng)))
            return self._scan(window)
        out: list[dict[str, Any]] = []
        if step.kind == 'click':  # what the click's reply is measured from (see _await_reply)
            browser = window.browser
            window.frames, window.downloads, window.events = browser.frames.appended, len(browser.downloads), \
                browser.download_events
            window.clicks_pending += 1
        t0 = time.perf_counter()
        try:  # the player's handler of this step (steps.STEP_TYPES) on this user's window
            await STEP_TYPES[step.kind].handler(_UserRunner(self, window), step.args)
            if step.kind == 'click':
                await self._await_reply(window, step.extras.react_ms)
            elif step.kind == 'close':
                out.append(report('socket.io', 'disconnect', (time.perf_counter() - t0) * 1000))
        except (LookupError, RuntimeError, OSError, asyncio.TimeoutError) as e:
            out.append(report('step', step.kind, (time.perf_counter() - t0) * 1000, f'{type(e).__name__}: {e}'))
        return self._scan(window) + out

    async def _await_reply(self, window: _Window, react_ms: float) -> None:
        """After a click: wait up to ``react_ms`` for the server's first reply and, when it is a download, its
        GET (the ``event`` and ``download`` reports measure them)."""
        browser = window.browser
        try:
            await browser.wait_for(lambda b: any(f.direction == 'received' for f in b.frames.since(window.frames)),
                                   react_ms / 1000)
            await browser.wait_for(lambda b: b.download_events == window.events or len(b.downloads) > window.downloads,
                                   react_ms / 1000 + 5)
        except asyncio.TimeoutError:
            pass

    async def close_window(self, name: str) -> list[dict[str, Any]]:
        """Close and forget window ``name``; return its last reports.

        A step still running in the window is cancelled and awaited first: Locust kills a user mid-step at the
        end of a run and its ``on_stop`` closes the window while the step's page load goes on, which would
        otherwise open a new HTTP session or socket after the close (left unclosed at exit)."""
        step = self._steps.pop(name, None)
        if step is not None and step is not asyncio.current_task() and not step.done():
            step.cancel()
            await asyncio.gather(step, return_exceptions=True)
        window = self.windows.pop(name, None)
        if window is None:
            return []
        await window.browser.close()
        return window.pending + self._scan(window)

    # ---- timeline → reports --------------------------------------------------------------------------
    def _scan(self, w: _Window) -> list[dict[str, Any]]:
        """Turn the window's new timeline events into reports, then drop them (a long run stays bounded)."""
        out: list[dict[str, Any]] = []
        events = w.browser.timeline.events
        for ev in events[w.cursor:]:
            kind, detail, t = ev.kind, ev.detail, ev.t_ns
            if kind == EventKind.PAGE_GET_SENT:
                w.t_get_ns = t
            elif kind == EventKind.PAGE_GET_ANSWERED and w.t_get_ns is not None:
                status = detail.get('status')
                out.append(report('http', 'page_get', (t - w.t_get_ns) / 1e6,
                                  None if received(status) else f'HTTP {status}'))
                w.t_get_ns, w.t_connect_ns, w.clicks_pending = None, t, 0
            elif kind == EventKind.PAGE_LOAD_FAILED and w.t_get_ns is not None:
                out.append(report('http', 'page_get', (t - w.t_get_ns) / 1e6, str(detail.get('error'))))
                w.t_get_ns = None
            elif kind == EventKind.RECONNECT_STARTED:
                w.t_connect_ns = t
            elif kind == EventKind.HANDSHAKE_ACKED and w.t_connect_ns is not None:
                ok = bool(detail.get('ok'))
                self.handshakes += ok
                out.append(report('socket.io', 'handshake', (t - w.t_connect_ns) / 1e6,
                                  None if ok else 'handshake rejected: the server does not know this client_id'))
                w.t_connect_ns = None
            elif kind in (EventKind.HANDSHAKE_FAILED, EventKind.SOCKET_CONNECT_FAILED) and w.t_connect_ns is not None:
                out.append(report('socket.io', 'handshake', (t - w.t_connect_ns) / 1e6, str(detail.get('error'))))
                w.t_connect_ns = None
            elif kind == EventKind.EVENT_SENT:
                w.t_event_ns = t
            elif kind in _REPLIES and w.t_event_ns is not None:
                out.append(report('socket.io', 'event', (t - w.t_event_ns) / 1e6))
                w.t_event_ns = None
            if kind == EventKind.DOWNLOAD_EVENT:
                w.t_download_ns.append((t, w.clicks_pending > 0))
                w.clicks_pending = max(0, w.clicks_pending - 1)
            elif kind == EventKind.DOWNLOAD_GET and w.t_download_ns:
                t_event, asked = w.t_download_ns.pop(0)
                status = detail.get('status')
                error = None if received(status) else f'HTTP {status} for the download of this window\'s click'
                if not asked:
                    error = f'a download this window did not ask for (HTTP {status}): sent to the whole room'
                out.append(report('http', 'download', (t - t_event) / 1e6, error, int(detail.get('bytes') or 0)))
            elif kind == EventKind.MESSAGE_DROPPED:
                out.append(report('socket.io', 'message_dropped', 0.0, f"message {detail.get('message_id')} "
                                  f"dropped (next_message_id {detail.get('next_message_id')})"))
            elif kind == EventKind.DISCONNECT_CLIENT and detail.get('by') == 'server':
                out.append(report('socket.io', 'disconnected by server', 0.0, f"reason: {detail.get('reason')}"))
        del events[:]
        w.cursor = 0
        w.browser.frames.clear()
        if w.t_event_ns is not None:  # a click that got no reply within react_ms
            out.append(report('socket.io', 'event (no reply)', (now_ns() - w.t_event_ns) / 1e6))
            w.t_event_ns = None
        self.failures += sum(r['error'] is not None for r in out)
        return out

    # ---- server errors (clientsim serve's error feed) ------------------------------------------------
    async def connect_error_feed(self) -> bool:
        """Join ``clientsim serve``'s error feed (:class:`.feed.ErrorFeedClient`); False when the server has none
        (a real NiceGUI app) or refused the token."""
        return await self._feed.connect()

    async def claim_server_errors(self) -> list[dict[str, Any]]:
        """Reports for the server errors of this process's windows (and unattributed ones) since the last call,
        each error once (:meth:`.feed.ErrorFeedClient.claim`)."""
        out = [report('server', 'server_error ' + str(e.get('type')), 0.0,
                      f"{e.get('type')} in the server's {e.get('where')} handler")
               for e in await self._feed.claim()]
        self.failures += len(out)
        return out

    async def aclose(self) -> list[dict[str, Any]]:
        """Close every window and the error feed; return the last reports."""
        out: list[dict[str, Any]] = []
        for name in list(self.windows):
            out += await self.close_window(name)
        await self._feed.wait_settled(self.scenario.load.settle_ms / 1000)
        out += await self.claim_server_errors()
        await self._feed.close()
        return out


# ---- child process: JSON lines on stdin/stdout ----------------------------------------------------------
class _Out:
    """stdout in JSON lines, flushed once per turn of the event loop: the answers of every window that finished
    in the same turn leave in one ``write`` (one wake-up of the Locust process instead of one each)."""

    def __init__(self) -> None:
        self._lines: list[bytes] = []

    def send(self, message: dict[str, Any]) -> None:
        if not self._lines:
            asyncio.get_running_loop().call_soon(self.flush)
        self._lines.append(json.dumps(message).encode() + b'\n')

    def flush(self) -> None:
        data, self._lines = b''.join(self._lines), []
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except BrokenPipeError:  # the Locust process is gone; nobody is left to read
            pass


class _Lines(asyncio.Protocol):
    """stdin split into lines (``on_line(bytes)``); ``on_eof()`` when the pipe closes."""

    def __init__(self, on_line: Callable[[bytes], None], on_eof: Callable[[], None]) -> None:
        self.on_line, self.on_eof, self._rest = on_line, on_eof, b''

    def data_received(self, data: bytes) -> None:
        *lines, self._rest = (self._rest + data).split(b'\n')
        for line in lines:
            if line.strip():
                self.on_line(line)

    def eof_received(self) -> None:
        self.on_eof()

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.on_eof()


async def _handle(engine: LoadEngine, out: _Out, msg: dict[str, Any]) -> None:
    op, answer = msg.get('op'), {'id': msg.get('id')}
    try:
        if op == 'iteration':
            answer['reports'] = await engine.run_iteration(msg['window'])
        elif op == 'open_window':
            answer['window'] = engine.open_window(int(msg['number']))
        elif op == 'step':
            answer['reports'] = await engine.run_step(msg['window'], int(msg['index']))
        elif op == 'close_window':
            answer['reports'] = await engine.close_window(msg['window'])
        else:
            answer['error'] = f'unknown op {op!r}'
    except Exception as e:  # answer every request: a greenlet waits for it
        log.exception('load engine: %s failed', op)
        answer['error'] = f'{type(e).__name__}: {e}'
    out.send(answer)


async def serve_pipe(base_url: str, scenario_file: str, prefix: str, poll_s: float = 0.3) -> None:
    """The child process: read requests from stdin until ``shutdown``, EOF, SIGINT or SIGTERM, then close every
    window (a Ctrl+C in the terminal reaches the engine too: it closes its windows and exits cleanly). After a
    signal the last reports go out unsolicited (``{"op": "reports", ...}``)."""
    from .spec import load_load_scenario
    engine = LoadEngine(base_url, load_load_scenario(scenario_file), prefix)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if not await engine.connect_error_feed() and os.environ.get('CLIENTSIM_LOAD_DEBUG'):
        logging.getLogger(__name__).warning('clientsim: engine %s: no error feed at %s', os.getpid(), base_url)
    out = _Out()
    tasks = TaskGroup('load engine')
    shutdown: dict[str, Any] = {}

    def on_line(line: bytes) -> None:
        if stop.is_set():  # requests after shutdown (or a signal) are not read, as before
            return
        msg = json.loads(line)
        if msg.get('op') == 'shutdown':
            shutdown['id'] = msg.get('id')
            stop.set()
        else:
            tasks.spawn(_handle(engine, out, msg))
    pipe, _ = await loop.connect_read_pipe(lambda: _Lines(on_line, stop.set), sys.stdin)

    async def poll_errors() -> None:
        # ends on `stop` too, not only by its cancel: python-socketio's call() awaits CPython 3.11's
        # asyncio.wait_for, which drops a cancel that lands as the answer arrives (clientsim.simulator.tasks.wait_for)
        while not stop.is_set():
            await asyncio.sleep(poll_s)
            if reports := await engine.claim_server_errors():
                out.send({'op': 'reports', 'reports': reports})
    tasks.spawn(poll_errors())
    await stop.wait()
    pipe.close()
    await tasks.cancel_all()
    last = await engine.aclose()
    totals = {'reports': last, 'handshakes': engine.handshakes, 'failures': engine.failures}
    out.flush()
    out.send({'id': shutdown['id'], **totals} if 'id' in shutdown else {'op': 'reports', **totals})
    out.flush()


def main() -> None:
    """``python -m clientsim.simulator.load.engine BASE_URL SCENARIO_FILE PREFIX``."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr, format='%(levelname)s %(name)s: %(message)s')
    if os.environ.get('CLIENTSIM_LOAD_DEBUG'):
        logging.getLogger(__name__).setLevel(logging.WARNING)  # serve_pipe's debug lines
    base_url, scenario_file, prefix = sys.argv[1:4]
    asyncio.run(serve_pipe(base_url, scenario_file, prefix))


if __name__ == '__main__':
    main()
