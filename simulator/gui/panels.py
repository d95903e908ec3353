"""Side panels of the main window: measurements (latency per window and p50/p95/max) and server state
(BindableProperty models alive/finalized with a plot over time, convert jobs with their progress)."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from clientsim.simulator.measurements import measurements_of
from clientsim.simulator.outcome import PASS_COLOUR
from clientsim.simulator.timeline import Timeline

from .throttle import Throttle


def _fmt(value: Optional[float]) -> str:
    return '—' if value is None else f'{value:.1f}'


class MeasurementsPanel(QWidget):
    """Per window, in ms: handshake (connect → handled → ack), disconnect (close → handled → client deleted),
    download (event → GET answered); then p50/p95/max across windows. Recomputed at most once a second and only
    while visible (it walks the whole timeline)."""

    def __init__(self, timeline: Timeline) -> None:
        super().__init__()
        self.timeline = timeline
        self.note = QLabel('All figures in ms. Per window: the worst (max) of its page loads; p50/p95/max pool '
                           'every sample of every window.')
        self.note.setWordWrap(True)
        self.note.setStyleSheet('color: #616161;')
        self.table = QTableWidget()
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        self.data: dict[str, Any] = {}
        self._throttle = Throttle(self.refresh, 1000, self)
        self._unsubscribe = timeline.subscribe(lambda _e: self._throttle() if self.isVisible() else None)

    def showEvent(self, event: Any) -> None:  # noqa: N802
        self.refresh()
        super().showEvent(event)

    def detach(self) -> None:
        """Stop listening to the timeline."""
        self._unsubscribe()

    def attach(self, timeline: Timeline) -> None:
        """Show ``timeline`` instead (a new session) and refresh."""
        self._unsubscribe()
        self.timeline = timeline
        self._unsubscribe = timeline.subscribe(lambda _e: self._throttle() if self.isVisible() else None)
        self.refresh()

    def refresh(self) -> None:
        """Recompute from the timeline and fill the table."""
        self.data = m = measurements_of(self.timeline.to_dicts())
        figures = list(m['figures'])
        self.table.setColumnCount(1 + len(figures))
        labels = ['window'] + [m['figures'][f].replace(': ', '\n') for f in figures]  # two lines: readable
        tips = ['simulated window (then p50/p95/max over every sample)'] + [
            f'{m["figures"][f]}, in ms: per window the worst of its page loads' for f in figures]
        for c, (label, tip) in enumerate(zip(labels, tips, strict=False)):
            item = QTableWidgetItem(label)
            item.setToolTip(tip)
            self.table.setHorizontalHeaderItem(c, item)
        rows = [(name, [w.get(f) for f in figures]) for name, w in m['windows'].items()]
        stats = [(stat, [m['summary'][f][stat] for f in figures]) for stat in ('p50', 'p95', 'max')]
        self.table.setRowCount(len(rows) + len(stats))
        for r, (name, values) in enumerate(rows + stats):
            item = QTableWidgetItem(name)
            if r >= len(rows):
                font = item.font()
                font.setBold(True)
                item.setFont(font)
            self.table.setItem(r, 0, item)
            for c, v in enumerate(values, start=1):
                cell = QTableWidgetItem(_fmt(v))
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, cell)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)


class ServerStatePanel(QWidget):
    """Live server state for problems 4 and 5: models alive / finalized with a plot of models alive over time
    (from ``models`` timeline events), and the convert jobs table (``server.jobs.summary()``)."""

    def __init__(self, timeline: Timeline, jobs: Callable[[], list[dict[str, Any]]]) -> None:
        super().__init__()
        self.timeline = timeline
        self._jobs = jobs
        self.models_label = QLabel()
        self.models_label.setTextFormat(Qt.TextFormat.RichText)
        self.plot = pg.PlotWidget()
        self.plot.setLabel('left', 'models alive')
        self.plot.setLabel('bottom', 'time', units='ms')
        self.plot.getAxis('bottom').enableAutoSIPrefix(False)
        self.plot.setMouseEnabled(y=False)
        self.curve = self.plot.plot([], [], stepMode='right', pen=pg.mkPen('#6a1b9a', width=2))
        self.finalized_curve = self.plot.plot([], [], stepMode='right', pen=pg.mkPen(PASS_COLOUR, width=2,
                                                                                      style=Qt.PenStyle.DashLine))
        self.plot.setMinimumHeight(140)
        self.jobs_table = QTableWidget(0, 6)
        self.jobs_table.setHorizontalHeaderLabels(['job', 'file', 'progress', 'skipped', 'state', 'windows'])
        self.jobs_table.verticalHeader().setVisible(False)
        self.jobs_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.jobs_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.jobs_table.horizontalHeader().setStretchLastSection(True)
        for c, tip in enumerate(('convert job id', 'file being converted', 'chunks done / all chunks',
                                 'chunks skipped on resume (already done)', 'queued, running, done, cancelled',
                                 'windows subscribed to its progress')):
            self.jobs_table.horizontalHeaderItem(c).setToolTip(tip)
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(QLabel('<b>BindableProperty models</b> (private /counter pages; purple: alive, green dashed: '
                            'finalized) — nicegui #4109'))
        tl.addWidget(self.models_label)
        tl.addWidget(self.plot, 1)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(QLabel('<b>Convert jobs</b> (/convert; ebook2audiobook #207)'))
        bl.addWidget(self.jobs_table, 1)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        fill_with_scrolled(self, split)
        self._seen = 0
        self._t: list[float] = []
        self._alive: list[float] = []
        self._finalized: list[float] = []
        self._throttle = Throttle(self.refresh, 200, self)
        self._unsubscribe = timeline.subscribe(self._on_event)
        self.refresh()

    def _on_event(self, event: Any) -> None:
        if event.kind in ('models', 'model_finalized', 'server_started') or event.kind.startswith('job_'):
            self._throttle()

    def detach(self) -> None:
        """Stop listening to the timeline."""
        self._unsubscribe()

    def attach(self, timeline: Timeline) -> None:
        """Show ``timeline`` instead (a new session): the plot starts over."""
        self._unsubscribe()
        self.timeline = timeline
        self._seen = len(timeline.events) + 1  # refresh() sees "fewer events": starts over
        self._unsubscribe = timeline.subscribe(self._on_event)
        self.refresh()

    def refresh(self) -> None:
        """Fold new ``models`` events into the plot and redraw the jobs table."""
        events = self.timeline.events
        if len(events) < self._seen:
            self._seen, self._t, self._alive, self._finalized = 0, [], [], []
            self.plot.enableAutoRange()  # a new run: not the previous scenario's axis
        for e in events[self._seen:]:
            if e.kind == 'models':
                self._t.append((e.t_ns - self.timeline.t0_ns) / 1e6)
                self._alive.append(float(e.detail.get('alive', 0)))
                self._finalized.append(float(e.detail.get('finalized', 0)))
        self._seen = len(events)
        if self._t:
            now = max(self._t[-1], (events[-1].t_ns - self.timeline.t0_ns) / 1e6) if events else self._t[-1]
            t = np.array(self._t + [now])  # hold the last value until now
            self.curve.setData(t, np.array(self._alive + self._alive[-1:]))
            self.finalized_curve.setData(t, np.array(self._finalized + self._finalized[-1:]))
            self.models_label.setText(f'alive: <b style="color:#6a1b9a">{int(self._alive[-1])}</b> · finalized: '
                                      f'<b style="color:{PASS_COLOUR}">{int(self._finalized[-1])}</b>')
        else:
            self.curve.setData([], [])
            self.finalized_curve.setData([], [])
            self.models_label.setText('alive: 0 · finalized: 0 (open /counter windows to create models)')
        jobs = self._jobs()
        self.jobs_table.setRowCount(len(jobs))
        for r, job in enumerate(jobs):
            values = [job['id'], job['file'], f"{job['done']}/{job['chunks']} ({job['progress'] * 100:.0f} %)",
                      str(job['skipped']), job['state'], str(job['subscribers'])]
            for c, v in enumerate(values):
                self.jobs_table.setItem(r, c, QTableWidgetItem(v))


def export_timeline_dialog(parent: QWidget, view: Any) -> None:
    """Ask for a file and save the timeline ``view`` there (PNG or SVG, with title and legend); the result goes to
    ``parent``'s status bar."""
    path, _ = QFileDialog.getSaveFileName(parent, 'Export timeline', 'timeline.png', 'PNG (*.png);;SVG (*.svg)')
    if path:
        try:
            view.export(path)
            parent.statusBar().showMessage(f'timeline saved to {path}', 5000)
        except (OSError, ValueError) as e:
            parent.statusBar().showMessage(f'export failed: {e}', 10000)


def export_events_dialog(parent: QWidget, timeline: Timeline) -> None:
    """Ask for a file and write ``timeline``'s events there as JSON lines."""
    path, _ = QFileDialog.getSaveFileName(parent, 'Export events', 'events.jsonl', 'JSON lines (*.jsonl)')
    if path:
        try:
            timeline.write_jsonl(path)
            parent.statusBar().showMessage(f'{len(timeline.events)} events saved to {path}', 5000)
        except OSError as e:
            parent.statusBar().showMessage(f'export failed: {e}', 10000)


def fill_with_scrolled(page: QWidget, content: QWidget) -> None:
    """Make ``content`` the whole of the tab ``page``, inside a frameless scroll area: the tab then does not force its
    minimum height on the event-log pane at 1024×700 (:func:`give_tab_room` gives it room when it is shown)."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(content)
    layout = QVBoxLayout(page)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(scroll)


def give_tab_room(split: QSplitter, tabs: QTabWidget, windows_min_px: int = 86) -> None:
    """When the shown tab (``tabs`` is the last pane of the vertical ``split``) holds a scrolled page taller than
    its pane (Explore, Models & jobs), move height to it from the first pane (the windows area), down to
    ``windows_min_px``: the chart comes into view without the tab forcing its height when another tab is shown."""
    page = tabs.currentWidget()
    scroll = page.findChild(QScrollArea) if page is not None else None
    if scroll is None or scroll.widget() is None:
        return
    sizes = split.sizes()
    wanted = scroll.widget().minimumSizeHint().height() + tabs.tabBar().sizeHint().height() + 12
    need = wanted - sizes[-1]
    spare = sizes[0] - windows_min_px
    if need > 0 and spare > 0:
        moved = min(need, spare)
        split.setSizes([sizes[0] - moved, *sizes[1:-1], sizes[-1] + moved])
