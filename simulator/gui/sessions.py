"""Sessions and the run list of the main window.

Everything the live timeline, lanes, event log and Measurements show belongs to ONE session: a scenario run
(Play, a replayed Explore bar) or a manual session (the first window opened after all windows were closed,
Ctrl+N / Race demo). When a new session starts, the current one is archived as a :class:`RunRecord` (its
events, its t = 0, its verdict) and the live timeline is cleared, so no earlier event shows at a negative time
and no earlier window sits in the new lanes. The "Runs" tab (:class:`RunsPanel`) lists the archived runs;
a double click opens one, read-only, in its own window (:class:`RunViewer`: timeline and event log).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QSplitter, QVBoxLayout, QWidget

from clientsim.simulator.loop_lag import distortion_of
from clientsim.simulator.outcome import verdict_label
from clientsim.simulator.timeline import Timeline, TimelineEvent

from .event_log import EventLogModel, EventLogView

#: archived runs kept (oldest dropped first): each holds its events in memory
MAX_RUNS = 50


@dataclass
class RunRecord:
    """One finished session: ``title`` (``scenario name (policy)`` or ``manual session``), ``started`` (wall
    clock, s since the epoch), ``t0_ns`` (its timeline's t = 0, perf_counter ns), ``events`` (its timeline
    events), ``verdict`` (``PASS 4/4``, ``FAIL 1/2``, ``timing distorted …`` or ``''`` for a manual session)."""
    title: str
    started: float
    t0_ns: int
    events: list[TimelineEvent] = field(default_factory=list)
    verdict: str = ''

    def label(self) -> str:
        """One line for the run list: ``HH:MM:SS title — verdict · N events``."""
        stamp = time.strftime('%H:%M:%S', time.localtime(self.started))
        verdict = f' — {self.verdict}' if self.verdict else ''
        return f'{stamp}  {self.title}{verdict} · {len(self.events)} events'

    def timeline(self) -> Timeline:
        """A frozen copy of the run as a :class:`Timeline` (same t = 0), for a viewer or an export."""
        timeline = Timeline()
        timeline.t0_ns = self.t0_ns
        timeline.events = list(self.events)
        return timeline


def verdict_text(report: Any) -> str:
    """``PASS 4/4`` / ``FAIL 1/2`` / ``TIMING DISTORTED (FAIL 1/2 not trusted: loop lag max …)`` of a
    :class:`~clientsim.simulator.run_report.RunReport`; ``''`` without one. The one place the run header reads
    the report (``passed``, ``n_passed``, ``expectations``; ``loop_lag`` through
    :func:`~clientsim.simulator.loop_lag.distortion_of`); labels from :mod:`clientsim.simulator.outcome`."""
    if report is None:
        return ''
    base = f'{verdict_label(report.passed)} {report.n_passed}/{len(report.expectations)}'
    lag = distortion_of(report)
    if lag:
        limits = f'{lag["tolerance_ms"]:.0f} / {lag.get("p95_tolerance_ms", 0):.0f}'
        return (f'TIMING DISTORTED ({base} not trusted: loop lag max {lag["max_lag_ms"]:.0f} ms, p95 '
                f'{lag["p95_lag_ms"]:.0f} ms; tolerance {limits})')
    return base


class RunViewer(QWidget):
    """A read-only window on one archived run: its timeline (lanes) above, its event log below."""

    def __init__(self, record: RunRecord) -> None:
        super().__init__()
        from .timeline_view import TimelineView  # pyqtgraph: only when a run is opened
        self.setWindowTitle(f'clientsim — earlier run: {record.title}')
        self.resize(900, 600)
        self.timeline = record.timeline()
        self.view = TimelineView(title=f'clientsim timeline — {record.title} (earlier run)')
        self.view.attach(self.timeline)
        self.log_model = EventLogModel(self)
        self.log_model.attach(self.timeline)
        self.log = EventLogView(self.log_model, lambda: False)
        header = QLabel(f'<b>{record.title}</b> {record.verdict} — archived '
                        f'{time.strftime("%H:%M:%S", time.localtime(record.started))}, {len(record.events)} events '
                        '(read-only)')
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.view)
        split.addWidget(self.log)
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(split, 1)

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.view.detach()
        self.log_model.detach()
        super().closeEvent(event)


class RunsPanel(QWidget):
    """The "Runs" tab: ``runs`` (the archived :class:`RunRecord`, oldest first, at most :data:`MAX_RUNS`) in
    ``run_list`` (newest on top); a double click opens :class:`RunViewer` (kept in ``viewers``)."""

    def __init__(self, current: Callable[[], str]) -> None:
        super().__init__()
        self.runs: list[RunRecord] = []
        self.viewers: list[RunViewer] = []
        self._current = current
        self.current_label = QLabel()
        self.current_label.setWordWrap(True)
        self.run_list = QListWidget()
        self.run_list.itemDoubleClicked.connect(lambda item: self.open(item.data(Qt.ItemDataRole.UserRole)))
        note = QLabel('Earlier runs and manual sessions: the live views show only the current one. '
                      'Double-click a run to open it read-only.')
        note.setWordWrap(True)
        note.setStyleSheet('color: #616161;')
        layout = QVBoxLayout(self)
        layout.addWidget(self.current_label)
        layout.addWidget(note)
        layout.addWidget(self.run_list, 1)
        self.refresh()

    def add(self, record: RunRecord) -> None:
        """Archive ``record`` (drops the oldest past :data:`MAX_RUNS`)."""
        self.runs.append(record)
        del self.runs[:-MAX_RUNS]
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the list (newest first) and the "current session" line."""
        self.current_label.setText(f'<b>Current:</b> {self._current()}')
        self.run_list.clear()
        for index in range(len(self.runs) - 1, -1, -1):
            item = QListWidgetItem(self.runs[index].label())
            item.setData(Qt.ItemDataRole.UserRole, index)
            self.run_list.addItem(item)

    def open(self, index: int) -> RunViewer:
        """Open run ``index`` (of ``runs``) in a :class:`RunViewer`; returns it."""
        viewer = RunViewer(self.runs[index])
        viewer.show()
        self.viewers = [v for v in self.viewers if v.isVisible()] + [viewer]
        return viewer

    def close_viewers(self) -> None:
        """Close every open run viewer (at shutdown)."""
        for viewer in self.viewers:
            viewer.close()
        self.viewers = []
