"""The typed run report: what one played scenario gives (:class:`RunReport`, a pydantic model), and the report
file (:class:`ReportFile`, ``{"passed": bool, "scenarios": [RunReport, ...]}``).

:meth:`clientsim.simulator.player.ScenarioPlayer.report` builds a :class:`RunReport`; ``clientsim play --report
OUT.json`` writes :class:`ReportFile` ``.model_dump()`` (the same keys as the dicts earlier versions wrote; the
problem 2–5 extras ``models``, ``jobs`` and ``window_extras`` are ``null`` for a target app instead of missing).
Its JSON Schema is published in ``docs/run_report.schema.json`` (:func:`report_file_schema`;
tests/test_measurements_report.py checks the committed file equals it). Readers use fields (``report.passed``,
``report.windows[0].downloads[0].status``), never keys. No Qt, no import of the player (a leaf for readers).
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field

from .outcome import download_outcome


class _Model(BaseModel):
    model_config = ConfigDict(extra='forbid')


class Expectation(_Model):
    """One checked expectation (:func:`clientsim.simulator.checks.check_expectations`): ``name``, the ``expected``
    text or value, the ``actual`` value and whether it ``passed``."""
    name: str
    expected: Any = None
    actual: Any = None
    passed: bool


class DownloadReport(_Model):
    """One download attempt of a window (:class:`clientsim.simulator.browser.downloads.Download`): HTTP ``status``
    (0 when the request failed, with ``error``), body ``bytes`` and ``sha256``, ``t_ms`` when the GET was answered
    (ms on the timeline clock)."""
    filename: str
    url: str
    status: int
    bytes: int
    sha256: str
    t_ms: float
    error: Optional[str] = None


class WindowReport(_Model):
    """One window at the end of the run: declared ``page`` (None for a window a step added), last ``url``,
    ``client_id``, ``sid``, connection ``state``, ``download_events`` (count of ``download`` messages received),
    its ``downloads``; the nicegui.js 3.x extras ``ignored_messages`` (message name → count), ``reconnects``,
    ``acks_sent``, ``javascript_unanswered`` (code of ``run_javascript`` requests not answered), ``uploads`` and
    ``new_tabs``."""
    name: str
    page: Optional[str] = None
    url: Optional[str] = None
    client_id: Optional[str] = None
    sid: Optional[str] = None
    state: str
    download_events: int = 0
    downloads: list[DownloadReport] = Field(default_factory=list)
    ignored_messages: dict[str, int] = Field(default_factory=dict)
    reconnects: int = 0
    acks_sent: int = 0
    javascript_unanswered: list[str] = Field(default_factory=list)
    uploads: list[Any] = Field(default_factory=list)
    new_tabs: list[Any] = Field(default_factory=list)

    @property
    def statuses(self) -> list[int]:
        """The HTTP statuses of the window's download GETs, in order (0: the request failed)."""
        return [d.status for d in self.downloads]

    @property
    def outcome(self) -> str:
        """``received``, ``failed`` or ``none`` (:func:`clientsim.simulator.outcome.download_outcome`)."""
        return download_outcome(self.statuses)


class ServerError(BaseModel):
    """An exception the server (or the target app) raised in a handler: ``type`` (exception class name),
    ``message``, ``where`` (the handler, or ``app output``), ``traceback``, ``t_ms`` (None when read from an app's
    output, which has no time stamps), ``sid`` and ``client_id`` when known. Extra keys from a probe are kept."""
    model_config = ConfigDict(extra='allow')
    type: str
    message: str = ''
    where: Optional[str] = None
    traceback: Optional[str] = None
    t_ms: Optional[float] = None
    sid: Optional[str] = None
    client_id: Optional[str] = None


class Event(_Model):
    """One timeline event (:meth:`clientsim.simulator.timeline.TimelineEvent.to_dict`): ``t_ms`` since the
    timeline's start, ``source`` (a window name or ``server``), ``kind``, what it is about and its ``detail``."""
    t_ms: float
    source: str
    kind: str
    window: Optional[str] = None
    sid: Optional[str] = None
    client_id: Optional[str] = None
    detail: dict[str, Any] = Field(default_factory=dict)


class ProbeInfo(_Model):
    """The probe injected into a target app (:mod:`clientsim.simulator.probe`): ``installed``, the ``reason`` of a
    fallback to client-side timing, its ``hooks``, the app's ``nicegui`` version and ``pid``."""
    installed: bool = False
    reason: Optional[str] = None
    hooks: Any = None
    nicegui: Optional[str] = None
    pid: Optional[int] = None


class TargetInfo(_Model):
    """The app under test (:meth:`clientsim.simulator.target.ExternalTarget.describe`): ``url``, ``command`` (None
    for a URL target), ``returncode``, ``ready_ms`` (ms from start until the URL answered), ``probe``."""
    url: Optional[str] = None
    command: Optional[list[str]] = None
    returncode: Optional[int] = None
    ready_ms: Optional[float] = None
    probe: Optional[ProbeInfo] = None


class ModelCounts(_Model):
    """Problem 2 (binding leak): page models ``created``, ``alive`` at the end, ``finalized`` (garbage collected)."""
    created: int
    alive: int
    finalized: int


class JobSummary(_Model):
    """A conversion job of problem 5 (:meth:`clientsim.server.jobs.Job.to_dict`)."""
    id: str
    file: str
    sha256: str
    chunks: int
    done: int
    skipped: int
    progress: float
    state: str
    subscribers: int


class WindowExtras(_Model):
    """Per-window figures of problems 3–5: the progress bar's value (0..1 or None), ``handshakes_rejected``,
    ``reconnects`` and the number in the page's ``skipped K chunks`` label (None when not shown)."""
    progress: Optional[float] = None
    handshakes_rejected: int = 0
    reconnects: int = 0
    skipped_chunks: Optional[int] = None


class RunReport(_Model):
    """The report of one played scenario (:meth:`clientsim.simulator.player.ScenarioPlayer.report`).

    Identity: ``scenario`` (name), ``file`` (path, None in memory), ``variant`` (``shipped`` or ``fixed``,
    :mod:`clientsim.simulator.variants`), ``description``, ``policy`` (the server policy's fields) and its one-line
    ``policy_summary``, ``server_url``. Verdict: ``passed`` (every expectation held) and ``expectations``. What
    happened: ``windows``, ``server_errors``, ``clients_alive`` (None when unknown), ``timing`` (``'one clock:
    server and windows'``, ``'one clock: app server and windows'``, ``'client side only'``, None when the app did
    not start), ``target`` and ``target_output`` (a target app only), ``duration_ms``, ``events`` (the whole
    timeline) and ``measurements`` (:func:`clientsim.simulator.measurements.measurements_of`, all in ms). The
    embedded server adds ``models``, ``jobs`` and ``window_extras`` (None for a target app);
    ``clientsim matrix`` sets ``nicegui_version``. Timing: ``time_mode`` (``virtual`` or ``real``,
    :mod:`clientsim.simulator.virtual_time`), ``max_lag_ms`` (the worst gap between a drawn and an achieved
    latency, ms), ``sometimes`` (``[{window, property, held}]`` for the scenario's ``sometimes:`` properties) and
    ``loop_lag`` (the loop's wake-up lag during the steps; ``distorted`` past its tolerance: the verdict is not
    trusted, :mod:`clientsim.simulator.loop_lag`).
    """
    scenario: str
    file: Optional[str] = None
    variant: str = 'shipped'
    description: str = ''
    policy: dict[str, Any] = Field(default_factory=dict)
    policy_summary: str = ''
    server_url: Optional[str] = None
    passed: bool
    expectations: list[Expectation] = Field(default_factory=list)
    windows: list[WindowReport] = Field(default_factory=list)
    server_errors: list[ServerError] = Field(default_factory=list)
    clients_alive: Optional[int] = None
    timing: Optional[str] = None
    target: Optional[TargetInfo] = None
    target_output: Optional[str] = None
    duration_ms: float = 0.0
    events: list[Event] = Field(default_factory=list)
    measurements: dict[str, Any] = Field(default_factory=dict)
    models: Optional[ModelCounts] = None
    jobs: Optional[list[JobSummary]] = None
    window_extras: Optional[dict[str, WindowExtras]] = None
    nicegui_version: Optional[str] = None
    time_mode: str = 'real'
    max_lag_ms: float = 0.0
    sometimes: list[dict[str, Any]] = Field(default_factory=list)
    #: the event loop's wake-up lag while the steps ran (:class:`clientsim.simulator.loop_lag.LoopLag` summary:
    #: ``max_lag_ms``, ``p95_lag_ms``, ``wakeups``, ``tolerance_ms``, ``distorted``); None for an old report
    loop_lag: Optional[dict[str, Any]] = None

    @property
    def failed(self) -> list[Expectation]:
        """The expectations that did not hold, in order."""
        return [c for c in self.expectations if not c.passed]

    @property
    def n_passed(self) -> int:
        """How many expectations held."""
        return sum(c.passed for c in self.expectations)

    def window(self, name: str) -> WindowReport:
        """The window named ``name``. Raises KeyError."""
        for w in self.windows:
            if w.name == name:
                return w
        raise KeyError(name)

    def expectation(self, name: str) -> Optional[Expectation]:
        """The expectation named ``name``, or None."""
        return next((c for c in self.expectations if c.name == name), None)

    def event_dicts(self) -> list[dict[str, Any]]:
        """The events as the timeline's JSON dicts (what :mod:`clientsim.simulator.lanes` and
        :func:`clientsim.simulator.measurements.measurements_of` fold)."""
        return [e.model_dump() for e in self.events]

    def error_counts(self) -> dict[str, int]:
        """Server errors by exception type name."""
        counts: dict[str, int] = {}
        for e in self.server_errors:
            counts[e.type] = counts.get(e.type, 0) + 1
        return counts

    @classmethod
    def failed_to_start(cls, scenario: Any, error: str) -> RunReport:
        """The report of a run whose app did not come up: one failed expectation ``the app starts``."""
        return cls(scenario=scenario.name, file=scenario.path, variant=scenario.variant, passed=False,
                   expectations=[Expectation(name='the app starts', expected='ready', actual=error[:300],
                                             passed=False)])


class ReportFile(_Model):
    """A report file (``clientsim play --report OUT.json``, ``clientsim matrix --report``): ``passed`` (every
    scenario passed) and one :class:`RunReport` per scenario file and variant."""
    passed: bool
    scenarios: list[RunReport]

    @classmethod
    def of(cls, reports: list[RunReport]) -> ReportFile:
        """The file for ``reports``."""
        return cls(passed=all(r.passed for r in reports), scenarios=list(reports))


def report_file_schema() -> dict[str, Any]:
    """The JSON Schema of :class:`ReportFile` (with :class:`RunReport` under ``$defs``), as published in
    ``docs/run_report.schema.json``."""
    schema = ReportFile.model_json_schema()
    schema['$schema'] = 'https://json-schema.org/draft/2020-12/schema'
    schema['title'] = 'clientsim report file'
    return schema
