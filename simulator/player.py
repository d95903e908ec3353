"""Plays a scenario in a :class:`~simulator.lab.Lab` (the embedded server or a real app, plus the windows), checks
its expectations and builds the report.

The same player runs headless (plain asyncio, :func:`play_headless`) and in the GUI (on a qasync loop, with an
``on_window`` callback that creates a Qt window per browser). Steps come from :mod:`clientsim.simulator.steps`, the
checks
from :mod:`clientsim.simulator.checks`. No Qt import here.
"""
from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any, Callable, Optional

from clientsim.server.app import EmbeddedServer
from clientsim.simulator.browser import SimulatedBrowser

from . import gcbatches, virtual_time
from .browser.latency import max_lag_ms
from .checks import Checks, check_expectations, skipped_chunks_shown, sometimes_held
from .element_checks import wait_elements
from .fdlimit import is_out_of_files, startup_budget
from .lab import Lab
from .loop_lag import LoopLag, tolerance_for
from .measurements import measurements_of
from .probe.checks import check_probed_target
from .run_report import RunReport, TargetInfo
from .scenario import Scenario
from .steps import Step
from .timeline import SERVER, Timeline
from .virtual_time import TimeMode

ELEMENTS_TIMEOUT_S = 10.0
"""How long the player waits for the expected final elements after ``settle_ms`` (seconds)."""


class ScenarioPlayer:
    """Plays one :class:`Scenario`.

    ``ScenarioPlayer(scenario, timeline=None, server=None, on_window=None, on_step=None)``. Without ``server``
    the player's :class:`Lab` starts its own :class:`EmbeddedServer` with the scenario's policy (or the scenario's
    ``target``) and stops it at the end; with one, it sets the policy on it and leaves it running (the GUI); a
    scenario with ``target`` then plays against its app and uses only the server's timeline.
    ``on_window(browser)`` is called for each window before the first step; ``on_step(step, index, total)`` before
    each step; ``seed`` (int, default the scenario's ``seed``, else 0) seeds every random draw of the run, so
    a file plays the same way every time (``clientsim explore`` and ``play --seed`` vary it).
    :meth:`run` returns the :class:`~clientsim.simulator.run_report.RunReport` (see :meth:`report`). Errors in
    steps (an unknown label, a click on a closed window) fail the scenario with an expectation ``step N`` that
    says why; they do not raise.
    It implements :class:`clientsim.simulator.steps.StepRunner` for the step handlers.
    """

    def __init__(self, scenario: Scenario, *, timeline: Timeline | None = None,
                 server: EmbeddedServer | None = None,
                 on_window: Callable[[SimulatedBrowser], None] | None = None,
                 on_step: Callable[[Step, int, int], None] | None = None, seed: int | None = None) -> None:
        self.scenario = scenario
        seed = (scenario.seed if scenario.seed is not None else 0) if seed is None else seed
        # scenario.target: a real app (simulator.target) instead of the embedded server; then there is no server
        # (a server handed in, the GUI's, only lends its timeline: the app's events go on the same clock)
        if scenario.target is not None and server is not None:
            timeline, server = timeline or server.timeline, None
        self.lab = Lab(scenario.policy.model_copy(), server=server, target=scenario.target,
                       target_dir=_scenario_dir(scenario), timeline=timeline, on_window=on_window,
                       seed=None if seed is None else f'server:{seed}', javascript=scenario.javascript)
        self.timeline = self.lab.timeline
        self.target = self.lab.target
        self.server: Optional[EmbeddedServer] = self.lab.server
        self.on_step = on_step
        #: window name → browser (the lab's windows)
        self.browsers: dict[str, SimulatedBrowser] = self.lab.windows
        #: seeded with ``seed`` (default: the scenario's): the storm step's handshake delays; the server's draws
        #: come from ``f'server:{seed}'``, so one seed replays one run (simulator.explore)
        self.rng = random.Random(seed)
        self.step_errors: list[dict[str, Any]] = []
        self.duration_ms = 0.0
        self.result: Optional[RunReport] = None
        #: the event loop's scheduling lag while the steps run; the report's ``loop_lag``
        self.loop_lag = LoopLag(tolerance_for(scenario.expect.model_dump(mode='json')))

    @property
    def base_url(self) -> Optional[str]:
        """Base URL of the server or target once :meth:`run` started it, else None."""
        return self.lab.url

    def url_for(self, page: str) -> str:
        """Absolute URL of ``page`` (a path on the target, or already an http URL)."""
        return self.lab.url_for(page)

    def page_of(self, window: str) -> str:
        """The page the scenario gives ``window``. Raises KeyError."""
        return self.scenario.window(window).page

    def windows(self, names: list[str]) -> list[SimulatedBrowser]:
        """Browsers by name; ``all`` expands to every window."""
        if 'all' in names:
            return list(self.browsers.values())
        return [self.browsers[n] for n in names]

    async def run(self) -> RunReport:
        """Start (or configure) the server, run every step, settle, check expectations, close windows,
        stop the own server; returns :meth:`report`."""
        started = time.perf_counter()
        await self.lab.start()  # RuntimeError when a target app does not come up
        self.timeline.record(SERVER, 'scenario_started', name=self.scenario.name, variant=self.scenario.variant,
                             policy=self.scenario.policy_summary())
        try:
            for spec in self.scenario.windows:
                self.lab.add(spec.name, spec.latency.model_dump(), browser=spec.browser, context=spec.context)
            if not virtual_time.is_virtual():  # virtual time: every timer fires on time, nothing to probe
                self.loop_lag.start()  # is the steps' timing the scenario's? (simulator.loop_lag)
            steps = self.scenario.parsed_steps
            for step in steps:
                if self.on_step:
                    self.on_step(step, step.index, len(steps))
                self.timeline.record(SERVER, 'step', index=step.index, step=step.describe())
                try:
                    await step.play(self)
                except (LookupError, RuntimeError, ValueError, OSError) as e:
                    hint = f' ({startup_budget().message()})' if is_out_of_files(e) else ''
                    self.step_errors.append({'index': step.index, 'step': step.describe(), 'line': step.line,
                                             'error': f'{type(e).__name__}: {e}{hint}'})
                    self.timeline.record(SERVER, 'step_failed', index=step.index, error=str(e))
            await asyncio.sleep(self.scenario.settle_ms / 1000)
            await self._settle_elements()
            await self.loop_lag.stop()
            self.duration_ms = (time.perf_counter() - started) * 1000
            with gcbatches.paused():  # every object of the report is kept: no collection while it is built
                self.result = self.report()
        finally:
            await self.loop_lag.stop()
            if self.lab.owns_backend:
                await self.close()
        if self.result is not None and self.target is not None:
            self.result.target_output = self.target.output  # now including the app's shutdown
            self.result.target = TargetInfo.model_validate(self.target.describe())  # with its return code
        assert self.result is not None
        return self.result

    async def _settle_elements(self) -> None:
        """Expected final elements (``expect.windows.W.elements``, simulator.element_checks) may arrive in any
        order: wait up to :data:`ELEMENTS_TIMEOUT_S` until each window shows them, all windows at once."""
        waits = [wait_elements(self.browsers[name], w.elements, ELEMENTS_TIMEOUT_S)
                 for name, w in self.scenario.expect.windows.items() if w.elements and name in self.browsers]
        await asyncio.gather(*waits)

    async def close(self) -> None:
        """Close every window and, if owned, stop the server (or target)."""
        await self.lab.stop()

    # ---- checks and report ----------------------------------------------------------------------------------
    def check_expectations(self) -> list[dict[str, Any]]:
        """Every expectation as ``{name, expected, actual, passed}``, step errors first (see
        :func:`clientsim.simulator.checks.check_expectations`)."""
        checks = Checks()
        for err in self.step_errors:
            checks.add(f"step {err['index']} ({err['step']}) runs", 'no error', err['error'], False)
        checks.extend(check_expectations(self.scenario.expect, self.browsers, server=self.server,
                                         error_counts=self.error_counts(), timeline=self.timeline))
        checks.extend(check_probed_target(self))  # clients/models of a probed target app (simulator.probe)
        return checks

    def error_counts(self) -> dict[str, int]:
        """Server errors so far by exception type name; against an external target the tracebacks in the app's
        output (:func:`clientsim.simulator.target.count_exceptions`)."""
        if self.target is not None:
            return self.target.error_counts()
        counts: dict[str, int] = {}
        for e in self.server.errors:
            counts[e['type']] = counts.get(e['type'], 0) + 1
        return counts

    def report(self) -> RunReport:
        """The :class:`~clientsim.simulator.run_report.RunReport` of the run so far (every field described
        there); the JSON report is its dump."""
        checks = self.check_expectations()
        t0 = self.timeline.t0_ns
        events = self.timeline.to_dicts()  # once, for the report and its measurements
        pages = {w.name: w.page for w in self.scenario.windows}  # a dict: linear in the windows, not quadratic
        return RunReport.model_validate({
            'scenario': self.scenario.name,
            'file': self.scenario.path,
            'variant': self.scenario.variant,
            'description': self.scenario.description,
            'policy': self.scenario.policy.model_dump(),
            'policy_summary': self.scenario.policy_summary(),
            'server_url': self.base_url,
            'passed': all(c['passed'] for c in checks),
            'expectations': checks,
            'windows': [{
                'name': name, 'page': pages.get(name), 'url': b.url, 'client_id': b.client_id,
                'sid': b.sid, 'state': b.state, 'download_events': b.download_events,
                'downloads': [d.to_dict() for d in b.downloads],
                # nicegui.js 3.x behaviour (simulator.browser.messages / connection)
                'ignored_messages': dict(b.ignored), 'reconnects': b.reconnects, 'acks_sent': b.acks_sent,
                'javascript_unanswered': [r['code'] for r in b.javascript_requests if not r['answered']],
                'uploads': list(b.uploads), 'new_tabs': list(b.new_tabs),
            } for name, b in self.browsers.items()],
            'server_errors': ([{k: v for k, v in e.items() if k != 't_ns'} | {'t_ms': round((e['t_ns'] - t0) / 1e6, 3)}
                               for e in self.server.errors]
                              if self.server is not None else self.target.server_errors(t0)),
            'clients_alive': (len(self.server.registry.instances) if self.server is not None
                              else self.target.clients_alive()),
            # one clock for server and windows (embedded server, or a probed app: simulator.probe); else client side
            'timing': 'one clock: server and windows' if self.server is not None else self.target.timing,
            'target': self.target.describe() if self.target is not None else None,
            'target_output': self.target.output if self.target is not None else None,
            'duration_ms': round(self.duration_ms, 1),
            'events': events,
            # simulator.virtual_time / simulator.browser.latency: the clock, the worst drawn-vs-achieved latency gap
            'time_mode': 'virtual' if virtual_time.is_virtual() else 'real',
            'max_lag_ms': max_lag_ms(events),
            'sometimes': sometimes_held(self.scenario.expect, self.browsers),
            'measurements': measurements_of(events),
            # the loop's wake-up lag during the steps: {max_lag_ms, ..., distorted} (simulator.loop_lag)
            'loop_lag': self.loop_lag.summary(),
            **self._problem_extras(),  # models, jobs, window_extras
        })

    def _problem_extras(self) -> dict[str, Any]:
        """Report keys for problems 2–5 (embedded server only): ``models`` ({created, alive, finalized}), ``jobs``
        (list of job dicts), ``window_extras`` (name → {progress, handshakes_rejected, reconnects,
        skipped_chunks})."""
        server = self.server
        if server is None:
            return {}
        return {
            'models': {'created': server.models_created, 'alive': server.models_alive(),
                       'finalized': server.models_finalized},
            'jobs': server.jobs.summary(),
            'window_extras': {name: {'progress': b.progress, 'handshakes_rejected': b.handshakes_rejected,
                                     'reconnects': b.reconnects, 'skipped_chunks': skipped_chunks_shown(b)}
                              for name, b in self.browsers.items()},
        }


def _scenario_dir(scenario: Scenario) -> Optional[str]:
    """The folder of the scenario file (relative ``target.cwd`` resolves against it), None for in-memory ones."""
    if scenario.path and not scenario.path.startswith('<'):
        return str(Path(scenario.path).resolve().parent)
    return None


async def play(scenario: Scenario, **kwargs: Any) -> RunReport:
    """Play ``scenario`` in the running loop and return the report (see :class:`ScenarioPlayer`)."""
    return await ScenarioPlayer(scenario, **kwargs).run()


def play_headless(scenario: Scenario, time_mode: TimeMode = 'virtual',
                  on_step: Optional[Callable[[Step, int, int], None]] = None) -> RunReport:
    """Play ``scenario`` on a fresh asyncio loop (no Qt) and return the report: on virtual time
    (:mod:`clientsim.simulator.virtual_time`) unless ``time_mode`` is ``'real'`` or the scenario has a target.
    ``on_step(step, index, total)`` is called before each step (the console's progress line). Raises
    :class:`clientsim.simulator.errors.TargetError` when the scenario's target app cannot start."""
    return virtual_time.run(play(scenario, on_step=on_step), 'real' if scenario.target is not None else time_mode)
