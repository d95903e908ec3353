"""Frame inspector: every socket.io message a window sent and received, like the WebSocket messages view of
browser dev tools — direction, time (ms), event name, and the selected payload pretty-printed."""
from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
)

from clientsim.simulator.browser import SimulatedBrowser
from clientsim.simulator.outcome import FAIL_COLOUR, PASS_COLOUR, WARN_COLOUR

COLUMNS = ('dir', 'time (ms)', 'event', 'note', 'payload')


class FrameModel(QAbstractTableModel):
    """Rows: ``browser.frames`` filtered by event name (``event_filter`` None = all)."""

    def __init__(self, browser: SimulatedBrowser) -> None:
        super().__init__()
        self.browser = browser
        browser.frames.keep_all()  # rows are positions in frames: no trimming from now on (FrameRing)
        self.event_filter: str | None = None
        self._rows: list[int] = []
        self._seen = 0

    def sync(self) -> None:
        """Append rows for new frames."""
        frames = self.browser.frames
        new = [i for i in range(self._seen, len(frames))
               if self.event_filter is None or frames[i].event == self.event_filter]
        self._seen = len(frames)
        if new:
            self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()

    def set_filter(self, event: str | None) -> None:
        """Show only frames of this event name."""
        self.beginResetModel()
        self.event_filter = event
        self._rows, self._seen = [], 0
        self.endResetModel()
        self.sync()

    def frame(self, row: int) -> Any:
        """The frame in ``row``."""
        return self.browser.frames[self._rows[row]]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        horizontal = orientation == Qt.Orientation.Horizontal
        return COLUMNS[section] if role == Qt.ItemDataRole.DisplayRole and horizontal else None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        f = self.frame(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return ('↑' if f.direction == 'sent' else '↓', f'{(f.t_ns - self.browser.timeline.t0_ns) / 1e6:.1f}',
                    f.event, f.note, json.dumps(f.payload, default=str)[:200])[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0:
            return QBrush(QColor(PASS_COLOUR if f.direction == 'sent' else FAIL_COLOUR))
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 3 and f.note:
            return QBrush(QColor(WARN_COLOUR))  # a message the window did not follow (simulator.browser.messages)
        return None


class FrameInspector(QDialog):
    """A non-modal dialog over one window's frames; refreshes twice a second while shown."""

    def __init__(self, browser: SimulatedBrowser, parent: Any = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f'Frames — {browser.name}')
        self.resize(720, 480)
        self.model = FrameModel(browser)
        self.filter = QComboBox()
        self.filter.addItem('all events')
        self.filter.currentTextChanged.connect(
            lambda t: self.model.set_filter(None if t == 'all events' else t))
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.selectionModel().currentRowChanged.connect(self._show_payload)
        self.payload = QPlainTextEdit()
        self.payload.setReadOnly(True)
        self.payload.setStyleSheet('font-family: monospace;')
        top = QHBoxLayout()
        top.addWidget(QLabel('Event:'))
        top.addWidget(self.filter)
        top.addStretch(1)
        self.arrows = QLabel('↑ sent by this window to the server · ↓ received from the server')  # the legend
        self.arrows.setStyleSheet('color: #616161;')
        top.addWidget(self.arrows)
        split = QSplitter()
        split.setOrientation(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.payload)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.refresh)
        self.refresh()

    def showEvent(self, event: Any) -> None:  # noqa: N802
        self.refresh()
        self._timer.start()  # poll only while someone can see it
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:  # noqa: N802
        self._timer.stop()
        super().hideEvent(event)

    def refresh(self) -> None:
        """Pull new frames and new event names into the filter."""
        self.model.sync()
        known = {self.filter.itemText(i) for i in range(self.filter.count())}
        for name in sorted({f.event for f in self.model.browser.frames} - known):
            self.filter.addItem(name)

    def _show_payload(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            f = self.model.frame(current.row())
            self.payload.setPlainText(json.dumps(f.payload, indent=2, default=str))
