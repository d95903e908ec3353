"""Timeline events → per-window lanes: state spans and markers, with one vocabulary and one legend for every
view (no Qt); the colours come from the one style table, :mod:`clientsim.simulator.outcome`.

The model computes, the views render (as napari's ``components/dims.py`` model and its
``_qt/widgets/qt_dims.py`` view): the GUI timeline (:mod:`clientsim.simulator.gui.timeline_view`) feeds :class:`Lanes`
one event at a time while a scenario runs, the HTML report (:mod:`clientsim.simulator.html_report`) feeds it a whole
report's events at once; both read :attr:`Lanes.spans`, :attr:`Lanes.markers` and :func:`legend`, so a window
that is "handshake pending" in one is "handshake pending", in the same colour, in the other.

States of a window's lane (:data:`STATES`, in the order of a page's life):

==================== =====================================================================================
``page load``        ``page_get_sent``: the page GET is on its way
``handshake pending`` ``socket_connected_client``: the socket is open, the handshake not yet acknowledged
``handshake done``   ``handshake_acked`` with ``ok``
``disconnected``     ``disconnect_client``: the socket closed; the client waits ``reconnect_timeout`` for a
                     reconnect
``deleted``          ``client_deleted`` of the window's current client while ``disconnected``
``failed``           ``page_load_failed``, ``socket_connect_failed`` or ``handshake_acked`` without ``ok``
==================== =====================================================================================

A rejected handshake is ``failed``, not ``disconnected``: the server refused it because it does not know the
page's client_id any more (deleted by prune or after reconnect_timeout), so no client waits for this page to
come back, which is what ``disconnected`` means; the page is as dead as after a failed page load (nicegui.js
then reloads it, which starts a new ``page load`` span). ``window_closed`` ends the lane's span.

Folding is O(1) per event (a ``client_deleted`` looks only at the windows that used that client), so the GUI
can stream 100k events (``benchmarks/bench_gui.py``). All times are **ms** since the timeline's ``t0_ns``.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Optional

from .event_kinds import EventKind
from .outcome import FAIL_COLOUR, LANE_STATES, PASS_COLOUR, StateStyle, received
from .timeline import SERVER, TimelineEvent

PAGE_LOAD, HANDSHAKE_PENDING, HANDSHAKE_DONE = 'page load', 'handshake pending', 'handshake done'
DISCONNECTED, DELETED, FAILED = 'disconnected', 'deleted', 'failed'


@dataclass(frozen=True)
class MarkerStyle:
    """How a marker kind looks: ``symbol`` (a pyqtgraph symbol name: ``t`` triangle down, ``o``, ``s``, ``d``,
    ``x``, ``|``, ``star``), ``colour`` (``#rrggbb``), ``label`` (legend text), ``glyph`` (the symbol as one
    character, for text legends), ``size`` (px) and ``across`` (drawn as a line across every lane)."""
    symbol: str
    colour: str
    label: str
    glyph: str
    size: int = 11
    across: bool = False


#: span state → style, in the order of a page's life (the legend's order); the table is
#: :data:`clientsim.simulator.outcome.LANE_STATES`, with every other colour of the project.
STATES: dict[str, StateStyle] = LANE_STATES  # keys: PAGE_LOAD, HANDSHAKE_PENDING, ..., FAILED above

#: marker kind → style (the legend's order). Window lanes: click, download_event, download_ok, download_failed,
#: message_dropped, client_deleted (a client the window used before); server lane: the others.
MARKERS: dict[str, MarkerStyle] = {
    'click': MarkerStyle('t', '#1565c0', 'click', '▼'),
    'download_event': MarkerStyle('o', '#42a5f5', 'download event', '●', 9),
    'download_ok': MarkerStyle('s', PASS_COLOUR, 'download GET 200', '■'),
    'download_failed': MarkerStyle('s', FAIL_COLOUR, 'download GET failed', '■'),
    'message_dropped': MarkerStyle('d', '#ef6c00', 'message dropped', '◆', 9),
    'server_error': MarkerStyle('x', FAIL_COLOUR, 'server error', '✕', 14),
    'server_handshake': MarkerStyle('|', PASS_COLOUR, 'handshake handled', '|', 12),
    'server_disconnect': MarkerStyle('|', '#757575', 'disconnect handled', '|', 12),
    'client_deleted': MarkerStyle('star', '#7e57c2', "deleted: a client the window used before", '★'),
    'server_event': MarkerStyle('|', '#b0b7bf', 'other server event', '|', 8),
    'step': MarkerStyle('|', '#90a4ae', 'scenario step', '┆', 12, across=True),
}

#: event kind → the marker kind (a key of MARKERS) it draws
_WINDOW_MARKERS = {EventKind.EVENT_SENT: 'click', EventKind.DOWNLOAD_EVENT: 'download_event',
                   EventKind.MESSAGE_DROPPED: 'message_dropped'}
_SERVER_MARKERS = {EventKind.HANDSHAKE_HANDLED: 'server_handshake', EventKind.DISCONNECT_SERVER: 'server_disconnect',
                   EventKind.SERVER_ERROR: 'server_error', EventKind.CLIENT_DELETED: 'client_deleted',
                   EventKind.STEP: 'step'}


@dataclass(frozen=True)
class LegendEntry:
    """One legend item: ``what`` is ``'state'`` or ``'marker'``, ``key`` the state or marker kind, then its
    ``colour``, ``label``, and for markers ``symbol`` and ``glyph`` (``''`` for states)."""
    what: str
    key: str
    colour: str
    label: str
    symbol: str = ''
    glyph: str = ''


def legend() -> list[LegendEntry]:
    """The one legend of every timeline view: every state (colour swatch), then every marker kind."""
    return ([LegendEntry('state', k, s.colour, s.label) for k, s in STATES.items()]
            + [LegendEntry('marker', k, m.colour, m.label, m.symbol, m.glyph) for k, m in MARKERS.items()])


@dataclass(slots=True)
class Span:
    """``state`` of lane ``lane`` from ``t0_ms`` to ``t1_ms``; ``tip`` says why (for tooltips)."""
    lane: str
    state: str
    t0_ms: float
    t1_ms: float
    tip: str


@dataclass(slots=True)
class Marker:
    """A marker of ``kind`` (a key of :data:`MARKERS`) on lane ``lane`` at ``t_ms`` for
    ``events[event_index]``; ``tip`` for tooltips; ``since_ms`` for a ``download_ok``/``download_failed``: when
    the download event it answers arrived (None if none) and ``status``, the GET's HTTP status (0: failed)."""
    kind: str
    lane: str
    t_ms: float
    event_index: int
    tip: str
    since_ms: Optional[float] = None
    status: Optional[int] = None


@dataclass(slots=True)
class Lane:
    """One lane: its ``index`` (the server lane is 0, windows follow in order of first event), current
    ``state`` since ``since_ms`` (with ``tip``) and the ``client_id`` of its current page."""
    name: str
    index: int
    state: Optional[str] = None
    since_ms: float = 0.0
    tip: str = ''
    client_id: Optional[str] = None
    waiting_downloads: deque = field(default_factory=deque)  # t_ms of download events not yet fetched


def fmt_ms(value: Optional[float]) -> str:
    """A duration in ms as tooltips and the report print it: ``'—'`` for None, 2 decimals below 10 ms, else 1."""
    if value is None:
        return '—'
    return f'{value:.2f}' if abs(value) < 10 else f'{value:.1f}'


class Lanes:
    """Folds timeline events into lanes: ``Lanes()``, then :meth:`feed` (or :meth:`feed_event` /
    :meth:`feed_dict`) every event in order; read :attr:`spans` (closed spans, append-only, in the order they
    closed), :attr:`markers` (append-only, in event order), :meth:`open_spans` (each lane's current state up to
    a time) and :meth:`lane_names`. :meth:`reset` forgets everything (after ``Timeline.clear()``)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every lane, span and marker."""
        self.lanes: dict[str, Lane] = {SERVER: Lane(SERVER, 0)}
        self.spans: list[Span] = []
        self.markers: list[Marker] = []
        self.last_ms = 0.0
        self._windows_of_client: dict[str, dict[str, None]] = {}  # client_id → window names (ordered set)

    # ---- lanes -------------------------------------------------------------------------------------------------
    def lane(self, name: str) -> Lane:
        """The lane ``name``, created (as the last lane) when new."""
        lane = self.lanes.get(name)
        if lane is None:
            lane = self.lanes[name] = Lane(name, len(self.lanes))
        return lane

    def lane_names(self) -> list[str]:
        """Lane names by index (the server lane first)."""
        return list(self.lanes)

    def open_spans(self, end_ms: float) -> list[Span]:
        """Each lane's current state as a span up to ``end_ms`` (at least 0.5 ms long, so it shows)."""
        return [Span(lane.name, lane.state, lane.since_ms, max(end_ms, lane.since_ms + 0.5), lane.tip)
                for lane in self.lanes.values() if lane.state is not None]

    def spans_of(self, name: str, end_ms: float) -> list[Span]:
        """Every span of lane ``name`` in time order, its open one closed at ``end_ms`` (batch views)."""
        spans = [s for s in self.spans if s.lane == name]
        lane = self.lanes.get(name)
        if lane is not None and lane.state is not None and end_ms > lane.since_ms:
            spans.append(Span(name, lane.state, lane.since_ms, end_ms, lane.tip))
        return spans

    # ---- folding -----------------------------------------------------------------------------------------------
    def feed_event(self, index: int, event: TimelineEvent, t0_ns: int) -> None:
        """Fold ``event`` (``events[index]`` of a :class:`~simulator.timeline.Timeline` whose ``t0_ns`` is
        given). ``t_ms`` is rounded to µs as :meth:`TimelineEvent.to_dict` rounds it, so the live fold and the
        report's batch fold of one run draw the same spans (events < 1 µs apart would differ otherwise)."""
        self.feed(index, round((event.t_ns - t0_ns) / 1e6, 3), event.source, event.kind, event.client_id, event.detail,
                  event.sid, event.window)

    def feed_dict(self, index: int, event: dict[str, Any]) -> None:
        """Fold one event dict as in a report (``t_ms``, ``source``, ``kind``, ``client_id``, ``detail``, ...)."""
        self.feed(index, event['t_ms'], event.get('source') or '', event['kind'], event.get('client_id'),
                  event.get('detail') or {}, event.get('sid'), event.get('window'))

    def feed(self, index: int, t_ms: float, source: str, kind: str, client_id: Optional[str] = None,
             detail: Optional[dict] = None, sid: Optional[str] = None, window: Optional[str] = None) -> None:
        """Fold one event (``index`` is its position in the event list, ``t_ms`` its time in ms). O(1), except
        a ``client_deleted`` which visits the windows that used that client."""
        detail = detail or {}
        if t_ms > self.last_ms:
            self.last_ms = t_ms
        if source == SERVER:
            self._server_event(index, t_ms, kind, client_id, detail, sid, window)
            return
        lane = self.lane(source)
        if client_id and client_id != lane.client_id:
            lane.client_id = client_id
            self._windows_of_client.setdefault(client_id, {})[source] = None
        if kind == EventKind.PAGE_GET_SENT:
            self._set_state(lane, PAGE_LOAD, t_ms, f"page load {detail.get('url', '')}")
        elif kind == EventKind.SOCKET_CONNECTED_CLIENT:
            self._set_state(lane, HANDSHAKE_PENDING, t_ms, f'socket {sid} connected, handshake pending')
        elif kind == EventKind.HANDSHAKE_ACKED:
            if detail.get('ok'):
                self._set_state(lane, HANDSHAKE_DONE, t_ms, f'handshake done (client {lane.client_id})')
            else:
                self._set_state(lane, FAILED, t_ms, 'handshake rejected (the server does not know the client_id)')
        elif kind == EventKind.DISCONNECT_CLIENT:
            self._set_state(lane, DISCONNECTED, t_ms, f"disconnected by {detail.get('by', '?')}")
        elif kind in (EventKind.PAGE_LOAD_FAILED, EventKind.SOCKET_CONNECT_FAILED):
            self._set_state(lane, FAILED, t_ms, f"{kind.replace('_', ' ')}: {detail.get('error', '')}")
        elif kind == EventKind.WINDOW_CLOSED:
            self._set_state(lane, None, t_ms, '')
        elif kind == EventKind.DOWNLOAD_GET:
            status = detail.get('status')
            since = lane.waiting_downloads.popleft() if lane.waiting_downloads else None
            waited = f', {fmt_ms(t_ms - since)} ms after the event' if since is not None else ''
            self.markers.append(Marker('download_ok' if received(status) else 'download_failed', source, t_ms, index,
                                       f"{source}: GET {detail.get('filename')} answered {status} at "
                                       f"{fmt_ms(t_ms)} ms{waited}", since, status))
        elif kind in _WINDOW_MARKERS:
            if kind == EventKind.DOWNLOAD_EVENT:
                lane.waiting_downloads.append(t_ms)
                tip = f'{source} receives the download event at {fmt_ms(t_ms)} ms'
            elif kind == EventKind.EVENT_SENT:
                tip = f"{source} clicks {detail.get('label') or detail.get('element')} at {fmt_ms(t_ms)} ms"
            else:
                tip = f"{source}: dropped {detail.get('event')} _id {detail.get('message_id')} at {fmt_ms(t_ms)} ms"
            self.markers.append(Marker(_WINDOW_MARKERS[kind], source, t_ms, index, tip))

    def _set_state(self, lane: Lane, state: Optional[str], t_ms: float, tip: str) -> None:
        if state == lane.state:
            return
        if lane.state is not None and t_ms > lane.since_ms:
            self.spans.append(Span(lane.name, lane.state, lane.since_ms, t_ms, lane.tip))
        lane.state, lane.since_ms, lane.tip = state, t_ms, tip

    def _server_event(self, index: int, t_ms: float, kind: str, client_id: Optional[str], detail: dict,
                      sid: Optional[str], window: Optional[str]) -> None:
        marker = _SERVER_MARKERS.get(kind, 'server_event')
        if kind == EventKind.SERVER_ERROR:
            tip = (f"server error at {fmt_ms(t_ms)} ms in {detail.get('where', '?')}: {detail.get('type', '')}: "
                   f"{detail.get('message', '')}")
        elif kind == EventKind.STEP:
            tip = f"step {detail.get('index', '')}: {detail.get('step', '')} at {fmt_ms(t_ms)} ms"
        else:
            tip = (f'{kind} at {fmt_ms(t_ms)} ms' + (f' ({window or sid})' if window or sid else '')
                   + ''.join(f'\n{k}: {v}' for k, v in detail.items() if k != 'traceback'))
        self.markers.append(Marker(marker, SERVER, t_ms, index, tip))
        if kind == EventKind.CLIENT_DELETED and client_id:
            reason = detail.get('reason', '')
            for name in self._windows_of_client.get(client_id, ()):
                lane = self.lanes[name]
                if lane.client_id == client_id and lane.state == DISCONNECTED:
                    self._set_state(lane, DELETED, t_ms, f'client {client_id} deleted ({reason})')
                else:
                    self.markers.append(Marker('client_deleted', name, t_ms, index,
                                               f'client {client_id} of {name} deleted ({reason}) at '
                                               f'{fmt_ms(t_ms)} ms'))


def fold(events: list[dict[str, Any]], windows: Optional[list[str]] = None) -> Lanes:
    """Batch: a :class:`Lanes` with ``windows`` (names) as its first window lanes, then ``events`` (report
    event dicts, in time order) folded in."""
    lanes = Lanes()
    for name in windows or ():
        lanes.lane(name)
    for i, e in enumerate(events):
        lanes.feed_dict(i, e)
    return lanes
