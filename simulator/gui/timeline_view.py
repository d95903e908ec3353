"""The timeline view (pyqtgraph): one lane per window plus a server lane, spans for each window's
connection state and markers for clicks, download events, download GETs and server errors.

Events are folded in incrementally (O(new events) per redraw) and redraws are throttled to 20 Hz, so it
follows a running scenario live and stays responsive with 100k events. Mouse: wheel zooms, drag pans;
clicking a marker emits :attr:`TimelineView.event_clicked` with the event's index in ``timeline.events``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from simulator.timeline import SERVER, Timeline, TimelineEvent

from .throttle import Throttle

SPAN_COLOURS = {
    'page load': '#ffd54f',
    'handshake pending': '#ffa726',
    'handshake done': '#66bb6a',
    'disconnected': '#bdbdbd',
    'deleted': '#9575cd',
}
SPAN_HEIGHT = 0.5

MARKERS = {  # kind → (symbol, brush, size)
    'event_sent': ('t', '#1565c0', 11),
    'download_event': ('o', '#42a5f5', 9),
    'download_ok': ('s', '#2e7d32', 11),
    'download_failed': ('s', '#c62828', 11),
    'server_error': ('x', '#c62828', 14),
    'message_dropped': ('d', '#ef6c00', 9),
    'server_handshake': ('|', '#2e7d32', 12),
    'server_disconnect': ('|', '#757575', 12),
    'server_deleted': ('star', '#7e57c2', 11),
}
MARKER_LABELS = {'event_sent': '▼ click', 'download_event': '● download event', 'download_ok': '■ GET 200',
                 'download_failed': '■ GET failed', 'server_error': '✕ server error',
                 'message_dropped': '◆ message dropped', 'server_handshake': '| handshake handled',
                 'server_disconnect': '| disconnect handled', 'server_deleted': '★ client deleted'}


def legend_html() -> str:
    """The colour key of spans and markers as one line of rich text."""
    spans = ' '.join(f'<span style="background:{c}">&nbsp;&nbsp;&nbsp;</span>&nbsp;{n}&nbsp;&nbsp;'
                     for n, c in SPAN_COLOURS.items())
    marks = ' '.join(f'<span style="color:{MARKERS[k][1]}">{t.split()[0]}</span>&nbsp;{t.split(" ", 1)[1]}&nbsp;&nbsp;'
                     for k, t in MARKER_LABELS.items())
    return f'<span style="font-size:11px">{spans}&nbsp;&nbsp;{marks}</span>'


@dataclass
class _Lane:
    index: int
    state: Optional[str] = None
    since_ms: float = 0.0
    client_id: Optional[str] = None
    spans: dict[str, list[tuple[float, float]]] = field(default_factory=dict)


class TimelineView(QWidget):
    """``TimelineView()``; :meth:`attach` a timeline. ``markers`` (list of dicts with ``kind``, ``window``,
    ``t_ms``, ``colour``, ``event_index``) is public so tests can check one marker per window and its colour."""
    event_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background='w', foreground='#424242')
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.invertY(True)
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self.plot.setLabel('bottom', 'time', units='ms')
        self.plot.getAxis('bottom').enableAutoSIPrefix(False)
        self.legend = QLabel(legend_html())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot)
        self._bars: dict[str, pg.BarGraphItem] = {}
        for state, colour in SPAN_COLOURS.items():
            bar = pg.BarGraphItem(x0=[], x1=[], y=[], height=SPAN_HEIGHT, brush=colour, pen=pg.mkPen(None),
                                  name=state)
            self.plot.addItem(bar)
            self._bars[state] = bar
        self._scatters: dict[str, pg.ScatterPlotItem] = {}
        for kind, (symbol, colour, size) in MARKERS.items():
            scatter = pg.ScatterPlotItem(symbol=symbol, size=size, brush=pg.mkBrush(colour),
                                         pen=pg.mkPen('#212121', width=0.5), hoverable=True,
                                         tip=lambda x, y, data: self._tip(int(data)))
            scatter.sigClicked.connect(self._on_points_clicked)
            self.plot.addItem(scatter)
            self._scatters[kind] = scatter
        self.timeline: Optional[Timeline] = None
        self.follow = True
        self._marker_points: dict[str, tuple[list[float], list[float], list[int]]] = {}
        self._tips: dict[int, str] = {}
        self._throttle = Throttle(self.redraw, 50, self)
        self._unsubscribe = None
        self.reset()

    # ---- data -----------------------------------------------------------------------------------------------
    def attach(self, timeline: Timeline) -> None:
        """Follow ``timeline`` (replaces the previous one)."""
        if self._unsubscribe:
            self._unsubscribe()
        self.timeline = timeline
        self._unsubscribe = timeline.subscribe(lambda _e: self._throttle())
        self.reset()
        self.redraw()

    def detach(self) -> None:
        """Stop following."""
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None

    def reset(self) -> None:
        """Forget everything folded so far (after ``timeline.clear()``)."""
        self._seen = 0
        self._lanes: dict[str, _Lane] = {SERVER: _Lane(0)}
        self._by_client: dict[str, set[str]] = {}
        self._last_ms = 0.0
        self._tips = {}
        self._marker_points = {k: ([], [], []) for k in MARKERS}

    @property
    def markers(self) -> list[dict[str, Any]]:
        """Every marker as ``{kind, window, t_ms, event_index, colour}`` in event order (``window`` is None on
        the server lane), derived from the points shown."""
        events = self.timeline.events if self.timeline else []
        markers = []
        for kind, (xs, _ys, indices) in self._marker_points.items():
            for t_ms, index in zip(xs, indices):
                source = events[index].source if index < len(events) else None
                markers.append({'kind': kind, 'window': None if source == SERVER else source, 't_ms': t_ms,
                                'event_index': index, 'colour': MARKERS[kind][1]})
        return sorted(markers, key=lambda m: m['event_index'])

    def lane_names(self) -> list[str]:
        """Lane names, top to bottom (server first)."""
        return [name for name, _ in sorted(self._lanes.items(), key=lambda kv: kv[1].index)]

    def _lane(self, name: str) -> _Lane:
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = _Lane(len(self._lanes))
        return lane

    def _set_state(self, lane: _Lane, state: Optional[str], t_ms: float) -> None:
        if state == lane.state:
            return
        if lane.state is not None and t_ms > lane.since_ms:
            lane.spans.setdefault(lane.state, []).append((lane.since_ms, t_ms))
        lane.state, lane.since_ms = state, t_ms

    def _marker(self, kind: str, lane: _Lane, t_ms: float, index: int, tip: str) -> None:
        xs, ys, data = self._marker_points[kind]
        xs.append(t_ms)
        ys.append(lane.index)
        data.append(index)
        self._tips[index] = tip

    def _fold(self, index: int, e: TimelineEvent, t0: int) -> None:
        t = (e.t_ns - t0) / 1e6
        self._last_ms = max(self._last_ms, t)
        if e.source == SERVER:
            server = self._lanes[SERVER]
            if e.kind == 'handshake_handled':
                self._marker('server_handshake', server, t, index,
                             f"handshake handled for {e.window or e.sid} (ok={e.detail.get('ok')}) at {t:.1f} ms")
            elif e.kind == 'disconnect_server':
                self._marker('server_disconnect', server, t, index,
                             f'disconnect handled for {e.window or e.sid} at {t:.1f} ms')
            elif e.kind == 'server_error':
                self._marker('server_error', server, t, index,
                             f"{e.detail.get('type')}: {e.detail.get('message')}\nin {e.detail.get('where')} at {t:.1f} ms")
            elif e.kind == 'client_deleted':
                self._marker('server_deleted', server, t, index,
                             f"client {str(e.client_id)[:8]} deleted ({e.detail.get('reason')}) at {t:.1f} ms")
                for name in self._by_client.get(e.client_id or '', ()):
                    lane = self._lanes[name]
                    if lane.client_id == e.client_id and lane.state == 'disconnected':
                        self._set_state(lane, 'deleted', t)
            return
        lane = self._lane(e.source)
        if e.client_id and e.client_id != lane.client_id:
            lane.client_id = e.client_id
            self._by_client.setdefault(e.client_id, set()).add(e.source)
        kind = e.kind
        if kind == 'page_get_sent':
            self._set_state(lane, 'page load', t)
        elif kind == 'socket_connected_client':
            self._set_state(lane, 'handshake pending', t)
        elif kind == 'handshake_acked':
            self._set_state(lane, 'handshake done' if e.detail.get('ok') else 'disconnected', t)
        elif kind in ('disconnect_client', 'page_load_failed', 'socket_connect_failed'):
            self._set_state(lane, 'disconnected', t)
        elif kind == 'window_closed':
            self._set_state(lane, None, t)
        elif kind == 'event_sent':
            self._marker('event_sent', lane, t, index, f"{e.source} clicked {e.detail.get('label')} at {t:.1f} ms")
        elif kind == 'download_event':
            self._marker('download_event', lane, t, index, f'{e.source}: download event at {t:.1f} ms')
        elif kind == 'download_get':
            ok = e.detail.get('status') == 200
            self._marker('download_ok' if ok else 'download_failed', lane, t, index,
                         f"{e.source}: GET {e.detail.get('filename')} → {e.detail.get('status')} at {t:.1f} ms")
        elif kind == 'message_dropped':
            self._marker('message_dropped', lane, t, index,
                         f"{e.source}: dropped {e.detail.get('event')} _id {e.detail.get('message_id')}")

    def redraw(self) -> None:
        """Fold new events and redraw spans, markers and lane labels."""
        if self.timeline is None:
            return
        events = self.timeline.events
        if len(events) < self._seen:
            self.reset()
        t0 = self.timeline.t0_ns
        for i in range(self._seen, len(events)):
            self._fold(i, events[i], t0)
        self._seen = len(events)
        now = self._last_ms
        for state, bar in self._bars.items():
            x0, x1, y = [], [], []
            for lane in self._lanes.values():
                spans = lane.spans.get(state, [])
                if spans:
                    x0.extend(s for s, _ in spans)
                    x1.extend(e for _, e in spans)
                    y.extend([lane.index] * len(spans))
                if lane.state == state:
                    x0.append(lane.since_ms)
                    x1.append(max(now, lane.since_ms + 0.5))
                    y.append(lane.index)
            bar.setOpts(x0=np.array(x0, dtype=float), x1=np.array(x1, dtype=float), y=np.array(y, dtype=float),
                        height=SPAN_HEIGHT)
        for kind, scatter in self._scatters.items():
            xs, ys, data = self._marker_points[kind]
            shown = len(scatter.data)
            if len(xs) < shown:
                scatter.clear()
                shown = 0
            if len(xs) > shown:  # append only the new points: O(new markers) per redraw
                scatter.addPoints(x=np.array(xs[shown:], dtype=float), y=np.array(ys[shown:], dtype=float),
                                  data=np.array(data[shown:], dtype=np.int64))
        names = self.lane_names()
        self.plot.getAxis('left').setTicks([[(i, n) for i, n in enumerate(names)]])
        self.plot.setYRange(-0.7, len(names) - 0.3, padding=0)
        if self.follow:
            self.plot.setXRange(0, max(now, 10.0) * 1.03, padding=0)

    def _tip(self, index: int) -> str:
        return self._tips.get(index, '')

    def _on_points_clicked(self, _item: Any, points: Any, *_: Any) -> None:
        if len(points):
            self.event_clicked.emit(int(points[0].data()))

    # ---- export ---------------------------------------------------------------------------------------------
    def export(self, path: str) -> None:
        """Save the timeline as PNG or SVG (by the suffix of ``path``). Raises ValueError for other suffixes."""
        from pyqtgraph import exporters
        self.redraw()
        if path.lower().endswith('.svg'):
            # pyqtgraph's SVGExporter fails on the path syntax of current Qt (pyqtgraph #3485, open):
            # render the plot widget through Qt's own SVG generator instead.
            from PySide6.QtCore import QRect
            from PySide6.QtGui import QPainter
            from PySide6.QtSvg import QSvgGenerator
            generator = QSvgGenerator()
            generator.setFileName(path)
            generator.setSize(self.plot.size())
            generator.setViewBox(QRect(0, 0, self.plot.width(), self.plot.height()))
            generator.setTitle('clientsim timeline')
            painter = QPainter(generator)
            self.plot.render(painter)
            painter.end()
        elif path.lower().endswith('.png'):
            exporter = exporters.ImageExporter(self.plot.plotItem)
            exporter.parameters()['width'] = max(1200, self.plot.width())
            exporter.export(path)
        else:
            raise ValueError(f'export as .png or .svg, got {path}')
