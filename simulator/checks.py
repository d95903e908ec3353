"""Scenario expectations: the ``expect:`` models of a scenario file and the checks that compare them with what
happened (windows, server, timeline).

:func:`check_expectations` returns :class:`Checks`, a list of ``{name, expected, actual, passed}`` dicts, in a
fixed order: the per-window checks of problem 1, server errors and client counts, then the checks added for
problems 2–5 (reconnects, progress, models, jobs). No Qt import here.
"""
from __future__ import annotations

import gc
import operator
import re
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional, Union

from pydantic import BaseModel, Field, field_validator, model_serializer

from .element_checks import ElementExpect, element_diffs
from .event_kinds import EventKind
from .outcome import RECEIVED, download_outcome
from .steps import StrictModel

if TYPE_CHECKING:
    from clientsim.server.app import EmbeddedServer

    from .browser import SimulatedBrowser
    from .timeline import Timeline

_COUNT_RE = re.compile(r'^\s*(==|!=|>=|<=|>|<)?\s*(\d+)\s*$')
_OPS: dict[str, Callable[[int, int], bool]] = {
    '==': operator.eq, '!=': operator.ne, '>=': operator.ge, '<=': operator.le, '>': operator.gt, '<': operator.lt}
_SKIPPED_RE = re.compile(r'\bskipped (\d+) chunks\b')


class Count(BaseModel):
    """An expected count: ``3`` (exactly) or a comparison string like ``"> 0"`` or ``">= 20"``."""
    op: str = '=='
    value: int = 0

    def check(self, actual: int) -> bool:
        """Whether ``actual`` satisfies the comparison."""
        return _OPS[self.op](actual, self.value)

    def __str__(self) -> str:
        return str(self.value) if self.op == '==' else f'{self.op} {self.value}'

    @model_serializer
    def _as_written(self) -> Union[int, str]:
        """Dumped as a scenario file writes it (``3`` or ``"> 0"``), so a dumped scenario reads back."""
        return self.value if self.op == '==' else str(self)


def parse_count(value: Any) -> Count:
    """A :class:`Count` from ``3``, ``"3"``, ``"> 0"`` or a Count. Raises ValueError for booleans, negative
    numbers and anything else."""
    if isinstance(value, bool):
        raise ValueError('a count must be a number or a comparison like "> 0", not a boolean')
    if isinstance(value, int):
        if value < 0:
            raise ValueError('a count cannot be negative')
        return Count(value=value)
    if isinstance(value, str) and (m := _COUNT_RE.match(value)):
        return Count(op=m.group(1) or '==', value=int(m.group(2)))
    if isinstance(value, Count):
        return value
    raise ValueError(f'a count must be a whole number or a comparison like "> 0", got {value!r}')


def _optional_count(value: Any) -> Optional[Count]:
    return None if value is None else parse_count(value)


# ---- the expect: section ------------------------------------------------------------------------------------------
class ProgressAtOpen(StrictModel):
    """``at_least`` (0..1) shown within ``within_ms`` ms after the page's HTML arrived."""
    at_least: float = Field(ge=0.0, le=1.0)
    within_ms: float = Field(gt=0, le=600000)


class WindowExpect(StrictModel):
    """Per-window expectations (all optional): ``download_events`` (count of ``download`` events received),
    ``received`` (a download got 200), ``downloads`` (HTTP statuses of the download GETs, in order),
    ``state`` (connection state at the end); for reconnects ``handshakes_rejected`` (handshake acks that were
    false) and ``client_id_kept`` (the window ends on the client_id it had after its first page load); for the
    ``/convert`` page ``progress_min`` / ``progress_max`` (final progress bar value, 0..1), ``progress_at_open``
    (after the last page load the bar shows ``>= at_least`` within ``within_ms``) and ``skipped_chunks``
    (the number in the visible label ``skipped K chunks``)."""
    download_events: Optional[Count] = None
    received: Optional[bool] = None
    downloads: Optional[list[int]] = None
    state: Optional[str] = None
    handshakes_rejected: Optional[Count] = None
    client_id_kept: Optional[bool] = None
    progress_min: Optional[float] = Field(None, ge=0.0, le=1.0)
    progress_max: Optional[float] = Field(None, ge=0.0, le=1.0)
    progress_at_open: Optional[ProgressAtOpen] = None
    skipped_chunks: Optional[Count] = None
    #: the final page's elements (text / value), as ``clientsim record`` derives them (simulator.element_checks)
    elements: list[ElementExpect] = []

    @field_validator('download_events', 'handshakes_rejected', 'skipped_chunks', mode='before')
    @classmethod
    def _count(cls, v: Any) -> Any:
        return _optional_count(v)


def known_exception_name(name: str) -> bool:
    """Whether ``name`` is a Python builtin exception (``KeyError``) or an asyncio one (``CancelledError``):
    the names ``server_errors`` accepts without ``custom_errors``."""
    import asyncio
    import builtins
    for module in (builtins, asyncio, asyncio.exceptions):
        value = getattr(module, name, None)
        if isinstance(value, type) and issubclass(value, BaseException):
            return True
    return False


class Expectations(StrictModel):
    """``windows`` (name → :class:`WindowExpect`), ``server_errors`` (exception type → count; a name that is not
    a Python or asyncio exception must be listed in ``custom_errors``, so a typo is an error),
    ``clients_alive`` (all clients in the registry, incl. the auto-index client), ``private_clients_alive``,
    ``models_alive`` / ``models_finalized`` (per-client ``/counter`` models not yet collected / whose
    ``weakref.finalize`` ran; checked after a ``gc.collect()``), ``jobs_finished`` / ``jobs_cancelled``
    (``/convert`` jobs in that state at the end); ``pinned_clients`` (clients that count a socket connection
    none of whose sockets is alive: never deleted, never pruned — problem 6); ``download_gets`` (default true:
    every ``download`` event a window received must end in a finished GET, any status, before the run ends,
    checked when a window got one);
    ``sometimes`` (window → :data:`SOMETIMES` property, e.g. ``{bob: received}``: an outcome that must appear in
    at least one run of ``clientsim explore``; a single run only records whether it held, see
    :func:`sometimes_held`)."""
    windows: dict[str, WindowExpect] = {}
    download_gets: bool = True
    sometimes: dict[str, Literal['received', 'not_received', 'download_event', 'no_download_event']] = {}
    server_errors: dict[str, Count] = {}
    custom_errors: list[str] = []
    clients_alive: Optional[Count] = None
    private_clients_alive: Optional[Count] = None
    models_alive: Optional[Count] = None
    models_finalized: Optional[Count] = None
    jobs_finished: Optional[Count] = None
    jobs_cancelled: Optional[Count] = None
    pinned_clients: Optional[Count] = None

    @field_validator('clients_alive', 'private_clients_alive', 'models_alive', 'models_finalized', 'jobs_finished',
                     'jobs_cancelled', 'pinned_clients', mode='before')
    @classmethod
    def _count(cls, v: Any) -> Any:
        return _optional_count(v)

    @field_validator('server_errors', mode='before')
    @classmethod
    def _counts(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            raise ValueError('server_errors must map an exception type to a count, e.g. {KeyError: 0}')
        return {k: parse_count(c) for k, c in v.items()}


#: expectations that an external target (a real app) can answer: windows always, server_errors from the app output
EXTERNAL_EXPECTATIONS = {'windows', 'server_errors', 'custom_errors', 'download_gets', 'sometimes'}
SOMETIMES = ('received', 'not_received', 'download_event', 'no_download_event')
"""The window properties a ``sometimes:`` expectation may name."""


def sometimes_held(expect: Expectations, browsers: dict[str, SimulatedBrowser]) -> list[dict[str, Any]]:
    """Per ``sometimes:`` entry ``{window, property, held}`` for one run (a window not in ``browsers``: not held)."""
    rows = []
    for name, prop in expect.sometimes.items():
        b = browsers.get(name)
        received = b is not None and any(d.ok for d in b.downloads)
        events = b.download_events if b is not None else 0
        held = {'received': received, 'not_received': b is not None and not received,
                'download_event': events > 0, 'no_download_event': b is not None and events == 0}[prop]
        rows.append({'window': name, 'property': prop, 'held': held})
    return rows


# ---- what the windows show --------------------------------------------------------------------------------------
def first_client_id(timeline: Timeline, window: str) -> Optional[str]:
    """The client_id of ``window``'s first accepted handshake (from the timeline), or None."""
    for event in timeline.events:
        if event.source == window and event.kind == EventKind.HANDSHAKE_ACKED and event.detail.get('ok'):
            return event.client_id
    return None


def skipped_chunks_shown(browser: SimulatedBrowser) -> Optional[int]:
    """The number in the window's visible label ``skipped K chunks``, or None if no such label."""
    for element in browser.elements.values():
        match = _SKIPPED_RE.search(str(element.get('text') or '')) if isinstance(element, dict) else None
        if match:
            return int(match.group(1))
    return None


def progress_shown_after_open(browser: SimulatedBrowser, at_least: float) -> Optional[float]:
    """Milliseconds from the last page load (HTML arrived) until the progress bar first showed ``>= at_least``,
    or None if it never did."""
    if browser.page_loaded_ns is None:
        return None
    for t_ns, value in browser.progress_history:
        if t_ns >= browser.page_loaded_ns and value >= at_least:
            return (t_ns - browser.page_loaded_ns) / 1e6
    return None


def pinned_clients(server: EmbeddedServer) -> list[dict[str, Any]]:
    """Clients of the embedded ``server`` that count a socket connection although none of their handshaken sockets
    is connected (problem 6): ``[{client_id, connections: {document_id: n}, stale_sids: [sid, ...]}]``."""
    pinned = []
    for client in server.registry.instances.values():
        sids = list(client._socket_to_document_id)
        if client.has_socket_connection and not any(sid in server.sids for sid in sids):
            pinned.append({'client_id': client.id, 'stale_sids': sids,
                           'connections': {d: n for d, n in client._num_connections.items() if n > 0}})
    return pinned


def describe_pinned(pinned: list[dict[str, Any]]) -> str:
    """``'0'``, or the count and each pinned client: its client_id, counted connections and stale sids."""
    if not pinned:
        return '0'
    return f'{len(pinned)}: ' + '; '.join(
        f"client {p['client_id']} counts {sum(p['connections'].values())} connection(s) "
        f"(document_id {', '.join(p['connections'])}), stale sid {', '.join(p['stale_sids']) or '-'}"
        for p in pinned)


# ---- checks -------------------------------------------------------------------------------------------------------
class Checks(list):
    """Expectation results: :meth:`add` appends ``{name, expected, actual, passed}`` (a list of such dicts)."""

    def add(self, name: str, expected: Any, actual: Any, passed: bool) -> None:
        """Record one expectation; ``passed`` is stored as a bool."""
        self.append({'name': name, 'expected': expected, 'actual': actual, 'passed': bool(passed)})


def check_expectations(expect: Expectations, browsers: dict[str, SimulatedBrowser], *,
                       server: Optional[EmbeddedServer], error_counts: dict[str, int], timeline: Timeline) -> Checks:
    """Every expectation of ``expect`` against the windows (``browsers``: name → window; every name in
    ``expect.windows`` must be there, else KeyError), the server errors by type (``error_counts``) and, with the
    embedded ``server`` (None for an external target), its clients, models and jobs. Runs ``gc.collect()``
    before checking model counts."""
    checks = Checks()
    _check_windows(checks, expect, browsers)
    events = sum(b.download_events for b in browsers.values())
    if expect.download_gets and events:
        finished = sum(len(b.downloads) for b in browsers.values())
        checks.add('every download event ended in a finished GET', events, finished, finished >= events)
    for exc_type, count in expect.server_errors.items():
        # 'Exception' counts every exception type (as ``except Exception`` would catch them)
        actual = sum(error_counts.values()) if exc_type == 'Exception' else error_counts.get(exc_type, 0)
        checks.add(f'server errors {exc_type}', str(count), actual, count.check(actual))
    if server is not None:  # an external target has no registry (rejected at load time)
        alive = len(server.registry.instances)
        if expect.clients_alive is not None:
            checks.add('clients alive', str(expect.clients_alive), alive, expect.clients_alive.check(alive))
        private = sum(1 for c in server.registry.instances.values() if not c.shared)
        if expect.private_clients_alive is not None:
            checks.add('private clients alive', str(expect.private_clients_alive), private,
                       expect.private_clients_alive.check(private))
        if expect.pinned_clients is not None:
            pinned = pinned_clients(server)
            checks.add('pinned clients', str(expect.pinned_clients), describe_pinned(pinned),
                       expect.pinned_clients.check(len(pinned)))
    _check_windows_problems(checks, expect, browsers, timeline)
    if server is not None:
        _check_server_problems(checks, expect, server)
    return checks


def _check_windows(checks: Checks, expect: Expectations, browsers: dict[str, SimulatedBrowser]) -> None:
    """Problem 1: download events, received file, download statuses, connection state."""
    add = checks.add
    for name, w in expect.windows.items():
        b = browsers[name]
        if w.download_events is not None:
            add(f'{name}: download events', str(w.download_events), b.download_events,
                w.download_events.check(b.download_events))
        if w.received is not None:
            got = download_outcome(d.status for d in b.downloads) == RECEIVED
            add(f'{name}: received the file', w.received, got, got == w.received)
        if w.downloads is not None:
            statuses = [d.status for d in b.downloads]
            add(f'{name}: download statuses', w.downloads, statuses, statuses == w.downloads)
        if w.state is not None:
            add(f'{name}: state', w.state, b.state, b.state == w.state)
        if w.elements:
            diffs = element_diffs(b, w.elements)
            add(f'{name}: elements as recorded', f'{len(w.elements)} elements', '\n'.join(diffs) or 'as expected',
                not diffs)


def _check_windows_problems(checks: Checks, expect: Expectations, browsers: dict[str, SimulatedBrowser],
                            timeline: Timeline) -> None:
    """Problems 2–5 per window: rejected handshakes, kept client_id, progress, skipped chunks."""
    add = checks.add
    for name, w in expect.windows.items():
        b = browsers[name]
        if w.handshakes_rejected is not None:
            add(f'{name}: handshakes rejected', str(w.handshakes_rejected), b.handshakes_rejected,
                w.handshakes_rejected.check(b.handshakes_rejected))
        if w.client_id_kept is not None:
            kept = b.client_id is not None and b.client_id == first_client_id(timeline, name)
            add(f'{name}: kept its client_id', w.client_id_kept, kept, kept == w.client_id_kept)
        progress = b.progress
        if w.progress_min is not None:
            add(f'{name}: progress at the end >=', w.progress_min, progress,
                progress is not None and progress >= w.progress_min - 1e-9)
        if w.progress_max is not None:
            add(f'{name}: progress at the end <=', w.progress_max, progress,
                progress is not None and progress <= w.progress_max + 1e-9)
        if w.progress_at_open is not None:
            spec = w.progress_at_open
            ms = progress_shown_after_open(b, spec.at_least)
            add(f'{name}: progress >= {spec.at_least} shown after reopening',
                f'within {spec.within_ms:g} ms', 'never' if ms is None else f'{ms:.1f} ms',
                ms is not None and ms <= spec.within_ms)
        if w.skipped_chunks is not None:
            shown = skipped_chunks_shown(b)
            add(f'{name}: skipped chunks shown', str(w.skipped_chunks), shown,
                shown is not None and w.skipped_chunks.check(shown))


def _check_server_problems(checks: Checks, expect: Expectations, server: EmbeddedServer) -> None:
    """Problems 4–5 on the server: models alive/finalized (after ``gc.collect()``), jobs finished/cancelled."""
    add = checks.add
    if expect.models_alive is not None or expect.models_finalized is not None:
        gc.unfreeze()  # objects a host froze (the GUI's GcFreezer) that became garbage are collectable again
        gc.collect()
        if expect.models_alive is not None:
            add('models alive (after gc)', str(expect.models_alive), server.models_alive(),
                expect.models_alive.check(server.models_alive()))
        if expect.models_finalized is not None:
            add('models finalized', str(expect.models_finalized), server.models_finalized,
                expect.models_finalized.check(server.models_finalized))
    if expect.jobs_finished is not None:
        n = server.jobs.count('finished')
        add('jobs finished', str(expect.jobs_finished), n, expect.jobs_finished.check(n))
    if expect.jobs_cancelled is not None:
        n = server.jobs.count('cancelled')
        add('jobs cancelled', str(expect.jobs_cancelled), n, expect.jobs_cancelled.check(n))
