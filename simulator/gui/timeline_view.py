"""The timeline view (pyqtgraph): one lane per window plus a server lane, spans for each window's
connection state and markers for clicks, download events, download GETs and server events.

It renders what :class:`clientsim.simulator.lanes.Lanes` computes (states, colours and the legend are the ones of the
HTML report). t = 0 is the timeline's ``t0_ns``: the start of the scenario or of the manual session.

Scale: events are folded in incrementally, at most :data:`FOLD_BUDGET` per redraw (the rest on the next one),
and redraws are throttled, so a burst of 100k events never blocks the event loop for long. Markers closer than
:data:`MERGE_PX` pixels on one lane merge into one with a count (``×N``), and split again when zoomed in. Past
:data:`GROUP_AFTER` window lanes, lanes group (by outcome or by page); a group is one collapsed row until it is
expanded (double-click its label, or the Lanes menu), and row labels are thinned so they never overlap. Mouse:
wheel zooms, drag pans; clicking a marker emits :attr:`TimelineView.event_clicked` with its event index.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

from clientsim.simulator.lanes import MARKERS, STATES, Lanes, legend
from clientsim.simulator.outcome import OUTCOMES, download_outcome
from clientsim.simulator.timeline import SERVER, Timeline

from .throttle import Throttle
from .timeline_points import Column, cluster, legend_html

SPAN_HEIGHT = 0.5
#: markers of one lane closer than this many pixels merge into one
MERGE_PX = 6
#: more window lanes than this group (see :attr:`TimelineView.grouping`)
GROUP_AFTER = 20
#: events folded per :meth:`TimelineView.redraw` at most; the rest follow on the next redraw
FOLD_BUDGET = 4000
#: while events stream in, folding stops after this many ms and goes on in the next slice (a few ms later)
FOLD_SLICE_MS = 5.0
#: points drawn per marker kind at most: past that, markers merge over wider slots (each point costs pyqtgraph
#: a few µs per redraw and per paint, and 200 lanes a few px apart show no more anyway)
MAX_POINTS = 1500
GROUPINGS = ('auto', 'outcome', 'page', 'none')


class TimelineView(QWidget):
    """``TimelineView(title='clientsim timeline')``; :meth:`attach` a timeline. ``markers`` (dicts with ``kind``,
    ``window``, ``t_ms``, ``colour``, ``event_index``: every marker, unmerged) is public so tests can check one
    marker per window and its colour; ``lanes`` is the :class:`~simulator.lanes.Lanes` model it renders;
    ``bars`` (state → BarGraphItem), ``scatters`` (marker kind → ScatterPlotItem; a point's data is its first
    event index, :meth:`cluster_size` its count) and ``step_lines`` (InfiniteLine per step) what it draws.
    ``grouping`` is one of :data:`GROUPINGS` (``auto``: past :data:`GROUP_AFTER` lanes by outcome, or by page
    when every window has the same outcome, or not at all when that is one group too);
    ``page_of(lane)`` names a window's page for grouping by page (its owner sets it)."""
    event_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None, title: str = 'clientsim timeline') -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True, background='w', foreground='#424242')
        self.title = title
        self.plot = pg.PlotWidget()
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.invertY(True)
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self.plot.setLabel('bottom', 'time since start of scenario / session', units='ms')
        self.plot.getAxis('bottom').enableAutoSIPrefix(False)
        self.plot.getAxis('left').setWidth(150)
        self.plot.setMinimumHeight(90)
        self.legend = QLabel(legend_html())
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.legend_area = QScrollArea()  # at most two lines tall: a narrow window keeps room for the lanes
        self.legend_area.setWidget(self.legend)
        self.legend_area.setWidgetResizable(True)
        self.legend_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.legend_area.setMaximumHeight(2 * self.legend.fontMetrics().height() + 8)
        self.legend_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.legend_area)
        layout.addWidget(self.plot, 1)
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
                                         tip=lambda x, y, data, k=kind: self._tip(k, int(data), y))
            scatter.sigClicked.connect(self._on_points_clicked)
            self.plot.addItem(scatter)
            self.scatters[kind] = scatter
        self.step_lines: list[pg.InfiniteLine] = []
        self._count_labels: list[pg.TextItem] = []
        self.timeline: Optional[Timeline] = None
        self.follow = True
        self.from_first_action = False  # follow live from shortly before the first click (manual sessions)
        self.grouping = 'auto'
        self.expanded: set[str] = set()
        self.page_of: Callable[[str], str] = lambda _lane: 'page ?'
        self.row_labels: list[str] = []
        self.lanes = Lanes()
        self._throttle = Throttle(self._tick, 50, self)
        self._catch_up = QTimer(self)  # folds the rest of a burst in slices between redraws
        self._catch_up.setSingleShot(True)
        self._catch_up.setInterval(20)
        self._catch_up.timeout.connect(self._fold_slice)
        self._unsubscribe = None
        self.plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._throttle())
        self.plot.scene().sigMouseClicked.connect(self._on_scene_clicked)
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
        """Forget everything folded so far (after ``timeline.clear()`` or a new t = 0)."""
        self._seen = 0
        self.lanes.reset()
        self._spans_shown = 0
        self._markers_shown = 0
        self._span_points: dict[str, tuple[list[float], list[float], list[int]]] = {s: ([], [], []) for s in STATES}
        self._marker_points = {k: (Column(float), Column(np.int64), Column(np.int64)) for k in MARKERS}
        self._tips: dict[int, str] = {}
        self._sizes: Optional[dict[tuple[str, int, int], int]] = None
        self._clusters = {}
        self._statuses: dict[str, list[int]] = {}  # window lane → its download GET statuses (the outcome)
        self.expanded = set()
        for line in self.step_lines:
            self.plot.removeItem(line)
        self.step_lines = []

    @property
    def markers(self) -> list[dict[str, Any]]:
        """Every marker as ``{kind, window, t_ms, event_index, colour}`` in event order (``window`` is None on
        the server lane), unmerged."""
        names = self.lane_names()
        markers = []
        for kind, (xs, lane_indices, indices) in self._marker_points.items():
            for t_ms, lane_index, index in zip(xs, lane_indices, indices, strict=True):
                lane = names[lane_index]
                markers.append({'kind': kind, 'window': None if lane == SERVER else lane, 't_ms': t_ms,
                                'event_index': index, 'colour': MARKERS[kind].colour})
        return sorted(markers, key=lambda m: m['event_index'])

    def lane_names(self) -> list[str]:
        """Lane names, top to bottom (server first), before grouping."""
        return self.lanes.lane_names()

    def cluster_size(self, kind: str, event_index: int, row: float) -> int:
        """How many markers the ``kind`` point with data ``event_index`` in ``row`` stands for (1 unless merged;
        one server event can mark several lanes, hence the row)."""
        if self._sizes is None:  # built on demand (tooltips, tests), not on every redraw
            self._sizes = {(k, int(d), int(round(y))): int(n) for k, (ds, ys, ns) in self._clusters.items()
                           for d, y, n in zip(ds, ys, ns, strict=False)}
        return self._sizes.get((kind, event_index, int(round(row))), 1)

    # ---- rows: lanes, groups --------------------------------------------------------------------------------
    def group_of(self, mode: str, lane: str) -> str:
        """The group of window ``lane`` when grouping by ``mode`` (``outcome`` or ``page``)."""
        if mode == 'page':
            return self.page_of(lane)
        return OUTCOMES[download_outcome(self._statuses.get(lane, ()))].label

    def grouping_mode(self) -> Optional[str]:
        """``outcome``/``page`` when lanes are grouped now, else None."""
        if self.grouping == 'auto':
            windows = self.lane_names()[1:]
            if len(windows) <= GROUP_AFTER:
                return None
            if len({self.group_of('outcome', w) for w in windows}) > 1:
                return 'outcome'
            # one group either way: plain lanes (labels thinned) say more than one collapsed row
            return 'page' if len({self.group_of('page', w) for w in windows}) > 1 else None
        return None if self.grouping == 'none' else self.grouping

    def rows(self) -> tuple[np.ndarray, list[str]]:
        """(row of each lane index, row labels). Ungrouped: one row per lane. Grouped: the server row, then per
        group a collapsed row ``▸ group (n)``, or a header ``▾ group (n)`` and one row per lane when expanded."""
        names = self.lane_names()
        rows = np.arange(len(names), dtype=float)
        mode = self.grouping_mode()
        if mode is None:
            return rows, list(names)
        groups: dict[str, list[int]] = {}
        for i, name in enumerate(names[1:], start=1):
            groups.setdefault(self.group_of(mode, name), []).append(i)
        labels = [SERVER]
        for group, members in groups.items():
            if group in self.expanded:
                labels.append(f'▾ {group} ({len(members)})')
                for i in members:
                    rows[i] = len(labels)
                    labels.append(names[i])
            else:
                rows[members] = len(labels)
                labels.append(f'▸ {group} ({len(members)})')
        return rows, labels

    def toggle_group(self, group: str) -> None:
        """Expand a collapsed group or collapse an expanded one."""
        self.expanded ^= {group}
        self.redraw()

    def _on_scene_clicked(self, event: Any) -> None:
        if not event.double():
            return
        y = self.plot.getViewBox().mapSceneToView(event.scenePos()).y()
        row = int(round(y))
        if 0 <= row < len(self.row_labels) and self.row_labels[row][:1] in '▸▾':
            self.toggle_group(self.row_labels[row][2:].rsplit(' (', 1)[0])

    # ---- drawing --------------------------------------------------------------------------------------------
    def redraw(self) -> None:
        """Fold new events (at most :data:`FOLD_BUDGET`; more on the next redraw) and redraw spans, markers and
        row labels."""
        if self.timeline is None:
            return
        self._fold(FOLD_BUDGET, None)
        self._render()

    def _tick(self) -> None:
        """The throttled redraw while events stream in: render what is folded; folding runs in its own slices
        (:data:`FOLD_SLICE_MS` each) while a burst is behind, so a render and a fold never add up in one pass."""
        if self.timeline is None:
            return
        if not self._catch_up.isActive():
            self._fold(FOLD_BUDGET, FOLD_SLICE_MS)
        self._render()

    def _fold_slice(self) -> None:
        if self.timeline is not None:
            self._fold(FOLD_BUDGET, FOLD_SLICE_MS)

    def _fold(self, budget: int, slice_ms: Optional[float]) -> None:
        """Fold at most ``budget`` new events into :attr:`lanes`, and stop after ``slice_ms`` ms (checked every
        256 events); the rest follow in a slice a few ms later and on the next render."""
        assert self.timeline is not None
        events = self.timeline.events
        if len(events) < self._seen:
            self.reset()
        t0, feed = self.timeline.t0_ns, self.lanes.feed_event
        end = min(len(events), self._seen + budget)
        deadline = None if slice_ms is None else time.perf_counter() + slice_ms / 1000
        i = self._seen
        while i < end:
            for j in range(i, min(end, i + 256)):
                feed(j, events[j], t0)
            i = min(end, i + 256)
            if deadline is not None and time.perf_counter() > deadline:
                break
        self._seen = i
        if i < len(events):  # the rest in slices and on the next render, so a burst never blocks the loop
            self._catch_up.start()
            self._throttle()

    def _render(self) -> None:
        lanes = self.lanes
        index = {name: lane.index for name, lane in lanes.lanes.items()}
        for span in lanes.spans[self._spans_shown:]:  # closed spans: appended once, O(new spans)
            x0, x1, y = self._span_points[span.state]
            x0.append(span.t0_ms)
            x1.append(span.t1_ms)
            y.append(index[span.lane])
        self._spans_shown = len(lanes.spans)
        for marker in lanes.markers[self._markers_shown:]:
            xs, ys, data = self._marker_points[marker.kind]
            xs.append(marker.t_ms)
            ys.append(index[marker.lane])
            data.append(marker.event_index)
            self._tips[marker.event_index] = marker.tip
            if marker.kind in ('download_ok', 'download_failed'):
                self._statuses.setdefault(marker.lane, []).append(marker.status or 0)
            style = MARKERS[marker.kind]
            if style.across:
                line = pg.InfiniteLine(pos=marker.t_ms, angle=90,
                                       pen=pg.mkPen(style.colour, style=Qt.PenStyle.DashLine))
                self.plot.addItem(line)
                self.step_lines.append(line)
        self._markers_shown = len(lanes.markers)
        rows, labels = self.rows()
        self.row_labels = labels
        open_spans: dict[str, list] = {}
        for span in lanes.open_spans(lanes.last_ms):
            open_spans.setdefault(span.state, []).append(span)
        for state, bar in self.bars.items():
            x0, x1, y = self._span_points[state]
            now = open_spans.get(state, [])
            lane_idx = np.array(y + [index[s.lane] for s in now], dtype=np.int64)
            bar.setOpts(x0=np.array(x0 + [s.t0_ms for s in now], dtype=float),
                        x1=np.array(x1 + [s.t1_ms for s in now], dtype=float),
                        y=rows[lane_idx] if len(lane_idx) else np.zeros(0), height=SPAN_HEIGHT)
        if self.follow:  # a manual session (from_first_action): from shortly before its first click, not t = 0
            clicks = self._marker_points['click'][0]
            first = float(clicks.array.min()) if self.from_first_action and len(clicks) else 0.0
            start = max(0.0, first - max(300.0, 0.25 * (lanes.last_ms - first))) if first else 0.0
            self.plot.setXRange(start, max(lanes.last_ms, start + 10.0) * 1.03, padding=0)
        self._draw_markers(rows)
        self._draw_labels(labels)

    def _draw_markers(self, rows: np.ndarray) -> None:
        (x_lo, x_hi), _ = self.plot.getViewBox().viewRange()
        width_px = max(self.plot.getViewBox().width(), 100.0)
        bucket = max((x_hi - x_lo) / width_px * MERGE_PX, 1e-6)
        self._sizes = None
        self._clusters: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        merged: list[tuple[float, float, int]] = []
        for kind, scatter in self.scatters.items():
            xs_c, lanes_c, data_c = self._marker_points[kind]
            if not len(xs_c):
                scatter.clear()
                continue
            xs, ys, data = xs_c.array, rows[lanes_c.array], data_c.array
            first, counts = cluster(xs, ys, bucket)
            wider = bucket
            while len(first) > MAX_POINTS:  # downsample: merge over wider slots until few enough points
                wider *= max(1.5, len(first) / MAX_POINTS)
                first, counts = cluster(xs, ys, wider)
            base = MARKERS[kind].size
            sizes = base + np.minimum(8, 2 * np.log2(counts)).astype(float)
            scatter.setData(x=xs[first], y=ys[first], data=data[first], size=sizes)
            big = np.nonzero(counts > 1)[0]  # merged points only; vectorized, no Python loop per cluster
            self._clusters[kind] = (data[first[big]], ys[first[big]], counts[big])
            visible = big[(xs[first[big]] >= x_lo) & (xs[first[big]] <= x_hi)]
            top = visible[np.argsort(-counts[visible], kind='stable')[:200]]
            merged += [(float(xs[first[i]]), float(ys[first[i]]), int(counts[i])) for i in top]
        gap = bucket / MERGE_PX * 28  # "×N" labels at least 28 px apart in a row, the biggest clusters first
        shown: list[tuple[float, float, int]] = []
        for x, y, n in sorted(merged, key=lambda m: -m[2]):
            if len(shown) < 40 and all(abs(x - sx) >= gap for sx, sy, _n in shown if sy == y):
                shown.append((x, y, n))
        merged = shown
        while len(self._count_labels) < len(merged):
            label = pg.TextItem(color='#37474f', anchor=(0, 1))
            label.setFont(QFont('', 7))
            self.plot.addItem(label)
            self._count_labels.append(label)
        for label, (x, y, n) in zip(self._count_labels, merged, strict=False):
            if getattr(label, 'shown_as', None) != (x, y, n):  # setText re-lays out the item: only on change
                label.setText(f'×{n}')
                label.setPos(x, y - 0.1)
                label.shown_as = (x, y, n)
            label.show()
        for label in self._count_labels[len(merged):]:
            label.hide()

    def _draw_labels(self, labels: list[str]) -> None:
        height_px = max(self.plot.getViewBox().height(), 1.0)  # the real height: labels never overlap
        step = max(1, math.ceil(15 / (height_px / max(len(labels), 1))))  # ≥ 15 px per shown label
        ticks = [(i, label if len(label) <= 22 else label[:21] + '…') for i, label in enumerate(labels)
                 if i % step == 0 or label[:1] in '▸▾']
        if step > 1:  # group headers always show; drop the plain labels next to them
            shown: list[tuple[int, str]] = []
            for tick in ticks:
                if shown and tick[0] - shown[-1][0] < step and tick[1][:1] not in '▸▾':
                    continue
                shown.append(tick)
            ticks = shown
        self.plot.getAxis('left').setTicks([ticks])
        self.plot.setYRange(-0.7, len(labels) - 0.3, padding=0)

    def _tip(self, kind: str, index: int, row: float) -> str:
        n = self.cluster_size(kind, index, row)
        return self._tips.get(index, '') + (f'\n(+{n - 1} more here: zoom in to separate)' if n > 1 else '')

    def _on_points_clicked(self, _item: Any, points: Any, *_: Any) -> None:
        if len(points):
            self.event_clicked.emit(int(points[0].data()))

    # ---- export ---------------------------------------------------------------------------------------------
    def paint_export(self, painter: QPainter, width: int) -> int:
        """Paint the title and the legend (wrapped to ``width`` px) with ``painter``; returns their height."""
        font = QFont(self.font())
        font.setPointSize(13)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor('#212121'))
        painter.drawText(QRect(10, 6, width - 20, 24), int(Qt.AlignmentFlag.AlignLeft), self.title)
        font.setPointSize(9)
        font.setBold(False)
        painter.setFont(font)
        metrics = painter.fontMetrics()
        x, y = 10, 38
        for entry in legend():
            w = 18 + metrics.horizontalAdvance(entry.label) + 14
            if x + w > width - 10:
                x, y = 10, y + 18
            if entry.what == 'state':
                painter.fillRect(QRectF(x, y + 2, 14, 10), QColor(entry.colour))
            else:
                painter.setPen(QColor(entry.colour))
                painter.drawText(QPointF(x + 2, y + 11), entry.glyph)
            painter.setPen(QColor('#424242'))
            painter.drawText(QPointF(x + 18, y + 11), entry.label)
            x += w
        return y + 22

    def export(self, path: str) -> None:
        """Save the timeline with its title and legend as PNG or SVG (by the suffix of ``path``). Raises
        ValueError for other suffixes, OSError when the PNG cannot be written."""
        self.redraw()
        width, plot_h = max(self.plot.width(), 900), max(self.plot.height(), 300)
        probe = QImage(width, 10, QImage.Format.Format_RGB32)
        p = QPainter(probe)
        header = self.paint_export(p, width)
        p.end()
        if path.lower().endswith('.svg'):
            from PySide6.QtSvg import QSvgGenerator
            target: Any = QSvgGenerator()
            target.setFileName(path)
            target.setSize(QRect(0, 0, width, header + plot_h).size())
            target.setViewBox(QRect(0, 0, width, header + plot_h))
            target.setTitle(self.title)
        elif path.lower().endswith('.png'):
            target = QImage(width, header + plot_h, QImage.Format.Format_RGB32)
            target.fill(QColor('white'))
        else:
            raise ValueError(f'export as .png or .svg, got {path}')
        old = self.plot.size()
        self.plot.resize(width, plot_h)
        painter = QPainter(target)
        self.paint_export(painter, width)
        painter.translate(0, header)
        self.plot.render(painter)
        painter.end()
        self.plot.resize(old)
        if isinstance(target, QImage) and not target.save(path):
            raise OSError(f'cannot write {path}')
