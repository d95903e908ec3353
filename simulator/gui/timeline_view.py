"""The timeline view (pyqtgraph): one lane per window plus a server lane, spans for each window's
connection state and markers for clicks, download events, download GETs and server events.

It renders what :class:`simulator.lanes.Lanes` computes (states, colours and the legend are the ones of the
HTML report). Events are folded in incrementally (O(new events) per redraw) and redraws are throttled to
20 Hz, so it follows a running scenario live and stays responsive with 100k events. Mouse: wheel zooms, drag
pans; clicking a marker emits :attr:`TimelineView.event_clicked` with the event's index in ``timeline.events``.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from simulator.lanes import MARKERS, STATES, Lanes, legend
from simulator.timeline import SERVER, Timeline

from .throttle import Throttle

SPAN_HEIGHT = 0.5


def legend_html() -> str:
    """The colour key of spans and markers (:func:`simulator.lanes.legend`) as one line of rich text."""
    items = []
    for entry in legend():
        if entry.what == 'state':
            items.append(f'<span style="background:{entry.colour}">&nbsp;&nbsp;&nbsp;</span>&nbsp;{entry.label}')
        else:
            items.append(f'<span style="color:{entry.colour}">{entry.glyph}</span>&nbsp;{entry.label}')
    return f'<span style="font-size:11px">{"&nbsp;&nbsp; ".join(items)}</span>'


class TimelineView(QWidget):
    """``TimelineView()``; :meth:`attach` a timeline. ``markers`` (list of dicts with ``kind``, ``window``,
    ``t_ms``, ``colour``, ``event_index``) is public so tests can check one marker per window and its colour;
    ``lanes`` is the :class:`~simulator.lanes.Lanes` model it renders; ``bars`` (state → BarGraphItem),
    ``scatters`` (marker kind → ScatterPlotItem) and ``step_lines`` (InfiniteLine per step) what it draws."""
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
        self.bars: dict[str, pg.BarGraphItem] = {}
        for state, style in STATES.items():
            bar = pg.BarGraphItem(x0=[], x1=[], y=[], height=SPAN_HEIGHT, brush=style.colour, pen=pg.mkPen(None),
                                  name=state)
            self.plot.addItem(bar)
            self.bars[state] = bar
        self.scatters: dict[str, pg.ScatterPlotItem] = {}
        for kind, m in MARKERS.items():
            if m.across:
                continue  # drawn as vertical lines (few: one per scenario step)
            scatter = pg.ScatterPlotItem(symbol=m.symbol, size=m.size, brush=pg.mkBrush(m.colour),
                                         pen=pg.mkPen('#212121', width=0.5), hoverable=True,
                                         tip=lambda x, y, data: self._tip(int(data)))
            scatter.sigClicked.connect(self._on_points_clicked)
            self.plot.addItem(scatter)
            self.scatters[kind] = scatter
        self.step_lines: list[pg.InfiniteLine] = []
        self.timeline: Optional[Timeline] = None
        self.follow = True
        self.lanes = Lanes()
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
        self.lanes.reset()
        self._spans_shown = 0
        self._markers_shown = 0
        self._span_points: dict[str, tuple[list[float], list[float], list[int]]] = {s: ([], [], []) for s in STATES}
        self._marker_points: dict[str, tuple[list[float], list[float], list[int]]] = {k: ([], [], []) for k in MARKERS}
        self._tips: dict[int, str] = {}
        for line in self.step_lines:
            self.plot.removeItem(line)
        self.step_lines = []

    @property
    def markers(self) -> list[dict[str, Any]]:
        """Every marker as ``{kind, window, t_ms, event_index, colour}`` in event order (``window`` is None on
        the server lane), derived from the points shown."""
        names = self.lane_names()
        markers = []
        for kind, (xs, ys, indices) in self._marker_points.items():
            for t_ms, y, index in zip(xs, ys, indices, strict=True):
                lane = names[int(y)]
                markers.append({'kind': kind, 'window': None if lane == SERVER else lane, 't_ms': t_ms,
                                'event_index': index, 'colour': MARKERS[kind].colour})
        return sorted(markers, key=lambda m: m['event_index'])

    def lane_names(self) -> list[str]:
        """Lane names, top to bottom (server first)."""
        return self.lanes.lane_names()

    def redraw(self) -> None:
        """Fold new events and redraw spans, markers and lane labels."""
        if self.timeline is None:
            return
        events = self.timeline.events
        if len(events) < self._seen:
            self.reset()
        t0, lanes = self.timeline.t0_ns, self.lanes
        for i in range(self._seen, len(events)):
            lanes.feed_event(i, events[i], t0)
        self._seen = len(events)
        index = {name: lane.index for name, lane in lanes.lanes.items()}
        for span in lanes.spans[self._spans_shown:]:  # closed spans: appended once, O(new spans)
            x0, x1, y = self._span_points[span.state]
            x0.append(span.t0_ms)
            x1.append(span.t1_ms)
            y.append(index[span.lane])
        self._spans_shown = len(lanes.spans)
        open_spans: dict[str, list] = {}
        for span in lanes.open_spans(lanes.last_ms):
            open_spans.setdefault(span.state, []).append(span)
        for state, bar in self.bars.items():
            x0, x1, y = self._span_points[state]
            now = open_spans.get(state, [])
            bar.setOpts(x0=np.array(x0 + [s.t0_ms for s in now], dtype=float),
                        x1=np.array(x1 + [s.t1_ms for s in now], dtype=float),
                        y=np.array(y + [index[s.lane] for s in now], dtype=float), height=SPAN_HEIGHT)
        for marker in lanes.markers[self._markers_shown:]:
            xs, ys, data = self._marker_points[marker.kind]
            xs.append(marker.t_ms)
            ys.append(index[marker.lane])
            data.append(marker.event_index)
            self._tips[marker.event_index] = marker.tip
            style = MARKERS[marker.kind]
            if style.across:
                line = pg.InfiniteLine(pos=marker.t_ms, angle=90,
                                       pen=pg.mkPen(style.colour, style=Qt.PenStyle.DashLine))
                self.plot.addItem(line)
                self.step_lines.append(line)
        self._markers_shown = len(lanes.markers)
        for kind, scatter in self.scatters.items():
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
            self.plot.setXRange(0, max(lanes.last_ms, 10.0) * 1.03, padding=0)

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


class TimelinePane(QWidget):
    """The timeline of the main window: a title, "Follow live" (``follow_box``; unticked when the person pans or
    zooms), "Export timeline…" (calls ``export()``) and the :class:`TimelineView` (``view``)."""

    def __init__(self, export: Callable[[], None]) -> None:
        super().__init__()
        self.view = TimelineView()
        self.view.plot.getViewBox().sigRangeChangedManually.connect(lambda *_: self.follow_box.setChecked(False))
        self.follow_box = QCheckBox('Follow live')
        self.follow_box.setChecked(True)
        self.follow_box.toggled.connect(self._set_follow)
        export_button = QPushButton('Export timeline…')
        export_button.clicked.connect(export)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel('<b>Timeline</b> — one lane per window; wheel to zoom, drag to pan, click a marker to '
                             'find its log row'), 1)
        row.addWidget(self.follow_box)
        row.addWidget(export_button)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)

    def _set_follow(self, on: bool) -> None:
        self.view.follow = on
        if on:
            self.view.redraw()
