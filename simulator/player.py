"""Plays a scenario against the embedded server and simulated browsers, checks expectations, builds the report.

The same player runs headless (plain asyncio, :func:`play_headless`) and in the GUI (on a qasync loop, with an
``on_window`` callback that creates a Qt window per browser). No Qt import here.
"""
from __future__ import annotations

import asyncio
import time
import urllib.parse
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

from server.app import EmbeddedServer

from .browser import Latency, SimulatedBrowser
from .measurements import measurements_of
from .scenario import Scenario, Step
from .target import ExternalTarget
from .timeline import SERVER, Timeline

#: step kind → coroutine ``handler(player, args)``. Extend to add steps (see ``scenario.STEP_TYPES``).
STEP_HANDLERS: dict[str, Callable[['ScenarioPlayer', Any], Awaitable[None]]] = {}


def step_handler(kind: str) -> Callable:
    """Decorator registering a step handler for ``kind``."""
    def register(func: Callable[['ScenarioPlayer', Any], Awaitable[None]]) -> Callable:
        STEP_HANDLERS[kind] = func
        return func
    return register


class Checks(list):
    """Expectation results: :meth:`add` appends ``{name, expected, actual, passed}`` (a list of such dicts)."""

    def add(self, name: str, expected: Any, actual: Any, passed: bool) -> None:
        """Record one expectation; ``passed`` is stored as a bool."""
        self.append({'name': name, 'expected': expected, 'actual': actual, 'passed': bool(passed)})


class ScenarioPlayer:
    """Plays one :class:`Scenario`.

    ``ScenarioPlayer(scenario, timeline=None, server=None, on_window=None, on_step=None)``. Without ``server``
    the player starts its own :class:`EmbeddedServer` with the scenario's policy and stops it at the end; with
    one, it sets the policy on it and leaves it running (the GUI). ``on_window(browser)`` is called for each
    window before the first step; ``on_step(step, index, total)`` before each step. :meth:`run` returns the
    report dict (see :meth:`report`). Errors in steps (an unknown label, a click on a closed window) fail the
    scenario with an expectation ``step N`` that says why; they do not raise.
    """

    def __init__(self, scenario: Scenario, *, timeline: Timeline | None = None,
                 server: EmbeddedServer | None = None,
                 on_window: Callable[[SimulatedBrowser], None] | None = None,
                 on_step: Callable[[Step, int, int], None] | None = None) -> None:
        self.scenario = scenario
        self.timeline = timeline or (server.timeline if server else Timeline())
        # scenario.target: a real app (simulator.target) instead of the embedded server; then there is no server
        self.target = ExternalTarget(scenario.target, _scenario_dir(scenario),
                                     self.timeline) if scenario.target is not None else None
        self._own_server = server is None and self.target is None
        self.server: Optional[EmbeddedServer] = None if self.target is not None else (
            server or EmbeddedServer(scenario.policy.model_copy(), self.timeline))
        self.on_window = on_window
        self.on_step = on_step
        self.browsers: dict[str, SimulatedBrowser] = {}
        self.step_errors: list[dict[str, Any]] = []
        self.base_url: Optional[str] = None
        self.duration_ms = 0.0
        self.result: Optional[dict[str, Any]] = None

    def url_for(self, page: str) -> str:
        """Absolute URL of ``page`` (a path on the target, or already an http URL)."""
        return page if page.startswith(('http://', 'https://')) else urllib.parse.urljoin(self.base_url or '', page)

    def windows(self, names: list[str]) -> list[SimulatedBrowser]:
        """Browsers by name; ``all`` expands to every window."""
        if 'all' in names:
            return list(self.browsers.values())
        return [self.browsers[n] for n in names]

    async def run(self) -> dict[str, Any]:
        """Start (or configure) the server, run every step, settle, check expectations, close windows,
        stop the own server; returns :meth:`report`."""
        started = time.perf_counter()
        if self.target is not None:  # raises RuntimeError when the app does not come up
            self.base_url = await self.target.start()
        elif self._own_server:
            self.base_url = await self.server.start()
        else:
            self.server.policy = self.scenario.policy.model_copy()
            self.base_url = self.server.url
        self.timeline.record(SERVER, 'scenario_started', name=self.scenario.name,
                             policy=self.scenario.policy_summary())
        try:
            for spec in self.scenario.windows:
                browser = SimulatedBrowser(spec.name, self.timeline, Latency(**spec.latency.model_dump()))
                self.browsers[spec.name] = browser
                if self.on_window:
                    self.on_window(browser)
            steps = self.scenario.parsed_steps
            for step in steps:
                if self.on_step:
                    self.on_step(step, step.index, len(steps))
                self.timeline.record(SERVER, 'step', index=step.index, step=step.describe())
                try:
                    await STEP_HANDLERS[step.kind](self, step.args)
                except (LookupError, RuntimeError, ValueError, OSError) as e:
                    self.step_errors.append({'index': step.index, 'step': step.describe(), 'line': step.line,
                                             'error': f'{type(e).__name__}: {e}'})
                    self.timeline.record(SERVER, 'step_failed', index=step.index, error=str(e))
            await asyncio.sleep(self.scenario.settle_ms / 1000)
            self.duration_ms = (time.perf_counter() - started) * 1000
            self.result = self.report()
        finally:
            if self._own_server or self.target is not None:
                await self.close()
        if self.result is not None and self.target is not None:
            self.result['target_output'] = self.target.output  # now including the app's shutdown
            self.result['target'] = self.target.describe()  # with its return code
        return self.result

    async def close(self) -> None:
        """Close every window and, if owned, stop the server."""
        await asyncio.gather(*(b.close() for b in self.browsers.values()), return_exceptions=True)
        if self.target is not None:
            await self.target.stop()
        elif self._own_server:
            await self.server.stop()

    # ---- checks and report ----------------------------------------------------------------------------------
    def check_expectations(self) -> list[dict[str, Any]]:
        """Every expectation as ``{name, expected, actual, passed}``, step errors first."""
        checks = Checks()
        add = checks.add

        for err in self.step_errors:
            add(f"step {err['index']} ({err['step']}) runs", 'no error', err['error'], False)
        expect = self.scenario.expect
        for name, w in expect.windows.items():
            b = self.browsers[name]
            if w.download_events is not None:
                add(f'{name}: download events', str(w.download_events), b.download_events,
                    w.download_events.check(b.download_events))
            if w.received is not None:
                got = any(d.ok for d in b.downloads)
                add(f'{name}: received the file', w.received, got, got == w.received)
            if w.downloads is not None:
                statuses = [d.status for d in b.downloads]
                add(f'{name}: download statuses', w.downloads, statuses, statuses == w.downloads)
            if w.state is not None:
                add(f'{name}: state', w.state, b.state, b.state == w.state)
        counts = self.error_counts()
        for exc_type, count in expect.server_errors.items():
            actual = counts.get(exc_type, 0)
            add(f'server errors {exc_type}', str(count), actual, count.check(actual))
        if self.server is not None:  # an external target has no registry (rejected at load time)
            alive = len(self.server.registry.instances)
            if expect.clients_alive is not None:
                add('clients alive', str(expect.clients_alive), alive, expect.clients_alive.check(alive))
            private = sum(1 for c in self.server.registry.instances.values() if not c.shared)
            if expect.private_clients_alive is not None:
                add('private clients alive', str(expect.private_clients_alive), private,
                    expect.private_clients_alive.check(private))
        for extra in EXTRA_CHECKS:
            checks.extend(extra(self))
        return checks

    def error_counts(self) -> dict[str, int]:
        """Server errors so far by exception type name; against an external target the tracebacks in the app's
        output (:func:`simulator.target.count_exceptions`)."""
        if self.target is not None:
            return self.target.error_counts()
        counts: dict[str, int] = {}
        for e in self.server.errors:
            counts[e['type']] = counts.get(e['type'], 0) + 1
        return counts

    def report(self) -> dict[str, Any]:
        """The JSON report: ``scenario``, ``file``, ``policy``, ``passed``, ``expectations``, ``windows``,
        ``server_errors``, ``events`` (each with ``t_ms``), ``clients_alive``, ``duration_ms``."""
        checks = self.check_expectations()
        t0 = self.timeline.t0_ns
        return {
            'scenario': self.scenario.name,
            'file': self.scenario.path,
            'description': self.scenario.description,
            'policy': self.scenario.policy.model_dump(),
            'policy_summary': self.scenario.policy_summary(),
            'server_url': self.base_url,
            'passed': all(c['passed'] for c in checks),
            'expectations': checks,
            'windows': [{
                'name': name, 'page': self.scenario.window(name).page, 'url': b.url, 'client_id': b.client_id,
                'sid': b.sid, 'state': b.state, 'download_events': b.download_events,
                'downloads': [d.to_dict() for d in b.downloads],
            } for name, b in self.browsers.items()],
            'server_errors': [{k: v for k, v in e.items() if k != 't_ns'} | {'t_ms': round((e['t_ns'] - t0) / 1e6, 3)}
                              for e in self.server.errors] if self.server is not None else self.target.server_errors(t0),
            'clients_alive': len(self.server.registry.instances) if self.server is not None else self.target.clients_alive(),
            # one clock for server and windows (embedded server, or a probed app: simulator.probe); else client side
            'timing': 'one clock: server and windows' if self.server is not None else self.target.timing,
            'target': self.target.describe() if self.target is not None else None,
            'target_output': self.target.output if self.target is not None else None,
            'duration_ms': round(self.duration_ms, 1),
            'events': self.timeline.to_dicts(),
            'measurements': measurements_of(self.timeline.to_dicts()),
            **(problem_steps.report_extras(self) if self.server is not None else {}),  # models, jobs, window_extras
        }


#: extra expectation checkers ``check(player) -> list[dict]`` added by later features.
EXTRA_CHECKS: list[Callable[[ScenarioPlayer], list[dict[str, Any]]]] = []


# ---- step handlers ------------------------------------------------------------------------------------------------
@step_handler('open')
async def _open(player: ScenarioPlayer, args: Any) -> None:
    await asyncio.gather(*(b.open(player.url_for(args.page or player.scenario.window(b.name).page), wait=args.wait)
                           for b in player.windows(args.windows)))


@step_handler('click')
async def _click(player: ScenarioPlayer, args: Any) -> None:
    await player.browsers[args.window].click(args.label)


@step_handler('wait')
async def _wait(player: ScenarioPlayer, args: Any) -> None:
    await asyncio.sleep(args.ms / 1000)


@step_handler('navigate')
async def _navigate(player: ScenarioPlayer, args: Any) -> None:
    await player.browsers[args.window].navigate(player.url_for(args.url), before_handshake=args.before_handshake)


@step_handler('reload')
async def _reload(player: ScenarioPlayer, args: Any) -> None:
    await asyncio.gather(*(b.reload() for b in player.windows(args.windows)))


@step_handler('close')
async def _close(player: ScenarioPlayer, args: Any) -> None:
    await asyncio.gather(*(b.close() for b in player.windows(args.windows)))


@step_handler('type')
async def _type(player: ScenarioPlayer, args: Any) -> None:
    await player.browsers[args.window].type_text(args.label, args.text, per_key_ms=args.per_key_ms)


def _scenario_dir(scenario: Scenario) -> Optional[str]:
    """The folder of the scenario file (relative ``target.cwd`` resolves against it), None for in-memory ones."""
    if scenario.path and not scenario.path.startswith('<'):
        return str(Path(scenario.path).resolve().parent)
    return None


async def play(scenario: Scenario, **kwargs: Any) -> dict[str, Any]:
    """Play ``scenario`` in the running loop and return the report (see :class:`ScenarioPlayer`)."""
    return await ScenarioPlayer(scenario, **kwargs).run()


def play_headless(scenario: Scenario) -> dict[str, Any]:
    """Play ``scenario`` on a fresh plain asyncio loop (no Qt) and return the report."""
    return asyncio.run(play(scenario))


# steps drop/reconnect/gc/wait_progress/storm and the checks of problems 2-5 register themselves on import
from . import problem_steps  # noqa: E402,F401
