"""The event log: a table model over the timeline with its own window/kind filter, and its view (the table
with the window and kind filter boxes).

It keeps a list of row indices into ``timeline.events`` instead of a QSortFilterProxyModel: appending
filtered rows is O(new events), and refiltering 100k rows is one list comprehension, so the log stays fast
with 100k rows. New events are batched and inserted at most 20 times a second (:class:`Throttle`).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from clientsim.simulator.outcome import FAIL_COLOUR, PASS_COLOUR, WARN_COLOUR
from clientsim.simulator.timeline import Timeline, TimelineEvent

from ..event_kinds import EventKind
from .throttle import Throttle

ALL = 'all'
COLUMNS = ('time (ms)', 'source', 'kind', 'sid', 'client_id', 'detail')
COLUMN_TIPS = ('ms since t = 0: the start of the scenario or of the manual session (first window opened)',
               'who recorded the event: a window name or "server"', 'event kind (see docs/architecture.md)',
               'socket.io session id of the socket', 'NiceGUI client_id (first 8 characters)',
               'the event\'s details; hover a row for all of them')
KIND_COLOURS = {EventKind.SERVER_ERROR: FAIL_COLOUR, EventKind.DOWNLOAD_GET: '#1565c0',
                EventKind.DOWNLOAD_EVENT: '#1565c0', EventKind.MESSAGE_DROPPED: WARN_COLOUR,
                EventKind.HANDSHAKE_ACKED: PASS_COLOUR, EventKind.CLIENT_DELETED: '#6a1b9a',
                EventKind.BAD_MESSAGE: WARN_COLOUR, EventKind.STEP_FAILED: FAIL_COLOUR}


class EventLogModel(QAbstractTableModel):
    """Rows are timeline events (optionally filtered by ``window`` and ``kind``); columns :data:`COLUMNS`.

    ``sources_changed``/``kinds_changed`` fire when a new window name or event kind first appears, so the
    filter combo boxes can grow. Call :meth:`attach` with a timeline; :meth:`flush` inserts pending rows now.
    """
    sources_changed = Signal()
    kinds_changed = Signal()
    rows_appended = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.timeline: Optional[Timeline] = None
        self._rows: list[int] = []
        self._seen = 0  # events of the timeline already considered
        self.window_filter: Optional[str] = None
        self.kind_filter: Optional[frozenset[str]] = None  # the kinds shown; None: all
        self.sources: list[str] = []
        self.kinds: list[str] = []
        self._source_set: set[str] = set()
        self._kind_set: set[str] = set()
        self._throttle = Throttle(self.flush, 50, self)
        self._unsubscribe = None

    def attach(self, timeline: Timeline) -> None:
        """Show ``timeline`` (detaches the previous one)."""
        if self._unsubscribe:
            self._unsubscribe()
        self.timeline = timeline
        self._unsubscribe = timeline.subscribe(lambda _event: self._throttle())
        self.refilter()

    def detach(self) -> None:
        """Stop listening to the timeline."""
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None

    def _matching(self, events: list[TimelineEvent], start: int, stop: int) -> list[int]:
        """Indices in ``start:stop`` of the events the filters accept (a window filter matches the source or
        the window); one comprehension per filter combination, the hot loop of a refilter over 100k events."""
        w, k, indices = self.window_filter, self.kind_filter, range(start, stop)
        if w is None and k is None:
            return list(indices)
        if k is None:
            return [i for i in indices if (e := events[i]).source == w or e.window == w]
        if w is None:
            return [i for i in indices if events[i].kind in k]
        return [i for i in indices if (e := events[i]).kind in k and (e.source == w or e.window == w)]

    def _note(self, event: TimelineEvent) -> tuple[bool, bool]:
        new_source = new_kind = False
        if event.source not in self._source_set:
            self._source_set.add(event.source)
            self.sources.append(event.source)
            new_source = True
        if event.kind not in self._kind_set:
            self._kind_set.add(event.kind)
            self.kinds.append(event.kind)
            new_kind = True
        return new_source, new_kind

    def refilter(self, *, rescan_names: bool = True) -> None:
        """Recompute the rows from scratch. ``rescan_names`` also rebuilds the window and kind lists (after
        attach or a timeline clear); a filter change only notes the events it has not seen yet."""
        self.beginResetModel()
        events = self.timeline.events if self.timeline else []
        noted_from = self._seen
        if rescan_names or len(events) < self._seen:
            self._source_set, self._kind_set = set(), set()
            self.sources, self.kinds = [], []
            noted_from = 0
        for e in events[noted_from:]:
            self._note(e)
        self._seen = len(events)
        self._rows = self._matching(events, 0, self._seen)
        self.endResetModel()
        self.sources_changed.emit()
        self.kinds_changed.emit()

    def set_filter(self, window: Optional[str] = None, kind: str | Iterable[str] | None = None) -> None:
        """Filter rows by window/source name and by kind: one kind, several (any iterable of kinds) or None
        (all; an empty set is all too)."""
        kinds = frozenset([kind] if isinstance(kind, str) else kind or ())
        self.window_filter, self.kind_filter = window, kinds or None
        self.refilter(rescan_names=False)

    def flush(self) -> None:
        """Insert rows for events recorded since the last flush."""
        if self.timeline is None:
            return
        events = self.timeline.events
        if len(events) < self._seen:  # cleared
            self.refilter()
            return
        new = self._matching(events, self._seen, len(events))
        any_source = any_kind = False
        sources, kinds = self._source_set, self._kind_set
        for e in events[self._seen:]:
            if e.source not in sources or e.kind not in kinds:  # rare: a call only for a new name
                s, k = self._note(e)
                any_source |= s
                any_kind |= k
        self._seen = len(events)
        if new:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()
            self.rows_appended.emit()
        if any_source:
            self.sources_changed.emit()
        if any_kind:
            self.kinds_changed.emit()

    @property
    def total(self) -> int:
        """Events of the timeline considered so far (shown or filtered out)."""
        return self._seen

    def event_at(self, row: int) -> TimelineEvent:
        """The event shown in ``row``. Raises IndexError."""
        assert self.timeline is not None
        return self.timeline.events[self._rows[row]]

    def row_of_event_index(self, event_index: int) -> int:
        """The row showing ``timeline.events[event_index]``, or -1 if filtered out."""
        import bisect
        pos = bisect.bisect_left(self._rows, event_index)
        return pos if pos < len(self._rows) and self._rows[pos] == event_index else -1

    # ---- Qt model API ---------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return COLUMN_TIPS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.timeline is None:
            return None
        event = self.timeline.events[self._rows[index.row()]]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return f'{(event.t_ns - self.timeline.t0_ns) / 1e6:10.1f}'
            if col == 1:
                return event.source
            if col == 2:
                return event.kind
            if col == 3:
                return event.sid or ''
            if col == 4:
                return (event.client_id or '')[:8]
            return event.summary()
        if role == Qt.ItemDataRole.ToolTipRole:
            if event.kind == EventKind.SERVER_ERROR:
                return event.detail.get('traceback', '')
            return f'{event.kind}\nwindow: {event.window}\nsid: {event.sid}\nclient_id: {event.client_id}\n' + \
                '\n'.join(f'{k}: {v}' for k, v in event.detail.items())
        if role == Qt.ItemDataRole.ForegroundRole and col == 2 and event.kind in KIND_COLOURS:
            return QBrush(QColor(KIND_COLOURS[event.kind]))
        if role == Qt.ItemDataRole.TextAlignmentRole and col == 0:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class EventLogView(QWidget):
    """``EventLogView(model, follow)``: the table of ``model`` (``log_view``), the ``window_filter`` and
    ``kind_filter`` combo boxes (``all`` or one value; they grow as new windows and kinds appear; the kind box is
    sorted), ``kinds_button`` (several kinds at once: a menu of check boxes that stays open while you tick; the
    kind box then reads "N kinds") and ``log_count``. While ``follow()`` is true the table scrolls to each new row."""

    def __init__(self, model: EventLogModel, follow: Callable[[], bool]) -> None:
        super().__init__()
        self.model = model
        self._follow = follow
        self.log_view = QTableView()
        self.log_view.setModel(model)
        self.log_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.log_view.verticalHeader().setVisible(False)
        self.log_view.verticalHeader().setDefaultSectionSize(20)
        self.log_view.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((80, 70, 160, 170, 75)):
            self.log_view.setColumnWidth(col, width)
        self.log_view.horizontalHeader().setMinimumSectionSize(60)
        self.log_view.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.log_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        model.rows_appended.connect(self._autoscroll)
        self.window_filter = QComboBox()
        self.kind_filter = QComboBox()
        for combo, tip in ((self.window_filter, 'show one window\'s events (reset to "all" when the windows '
                                                'change)'), (self.kind_filter, 'show one kind of event')):
            combo.addItem(ALL)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumContentsLength(8)
            combo.setToolTip(tip)
        self._window_set: tuple[str, ...] = ()
        model.sources_changed.connect(self._sources_changed)
        self.kind_filter.setProperty('sorted', True)
        model.kinds_changed.connect(lambda: self._sync_combo(self.kind_filter, sorted(model.kinds)))
        self.window_filter.currentTextChanged.connect(self._apply_filter)
        self.kind_filter.currentTextChanged.connect(self._apply_filter)
        self.kinds_button = QToolButton()
        self.kinds_button.setText('several…')
        self.kinds_button.setToolTip('show several kinds of event at once')
        self.kinds_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.kinds_menu = QMenu(self.kinds_button)
        self.kinds_menu.aboutToShow.connect(self._fill_kinds_menu)
        self.kinds_button.setMenu(self.kinds_menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel('Window:'))
        row.addWidget(self.window_filter)
        row.addWidget(QLabel('Kind:'))
        row.addWidget(self.kind_filter)
        row.addWidget(self.kinds_button)
        row.addStretch(1)
        self.log_count = QLabel('')
        row.addWidget(self.log_count)
        layout.addLayout(row)
        layout.addWidget(self.log_view, 1)
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self.show_count)

    def _sources_changed(self) -> None:
        """A new set of windows (a cleared timeline, another scenario): filters go back to "all" and the window
        box lists exactly the current windows; a window joining the same session is only added."""
        sources = tuple(self.model.sources)
        grew = sources[:len(self._window_set)] == self._window_set and len(self._window_set) > 0
        self._window_set = sources
        if grew:
            self._sync_combo(self.window_filter, list(sources))
            return
        for combo in (self.window_filter, self.kind_filter):
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(ALL)
            combo.blockSignals(False)
        self._sync_combo(self.window_filter, list(sources))
        self._sync_combo(self.kind_filter, sorted(self.model.kinds))
        if self.model.window_filter is not None or self.model.kind_filter is not None:
            self.model.set_filter(None, None)

    @staticmethod
    def _sync_combo(combo: QComboBox, values: list[str]) -> None:
        """Add the new ``values``; the kind box stays sorted (a new kind goes to its place)."""
        have = [combo.itemText(i) for i in range(1, combo.count())]
        for v in values:
            if v not in have:
                at = len(have)
                if combo.property('sorted'):
                    at = next((i for i, h in enumerate(have) if h > v), len(have))
                combo.insertItem(at + 1, v)
                have.insert(at, v)

    def _apply_filter(self) -> None:
        w, k = self.window_filter.currentText(), self.kind_filter.currentText()
        if self.kind_filter.currentIndex() < 0:  # several kinds (set_kinds): keep them
            self.model.set_filter(None if w in (ALL, '') else w, self.model.kind_filter)
            return
        self.model.set_filter(None if w in (ALL, '') else w, None if k in (ALL, '') else k)

    def set_kinds(self, kinds: set[str]) -> None:
        """Show the events of ``kinds`` (one kind selects it in the kind box; several read "N kinds" there; none
        shows all)."""
        box = self.kind_filter
        if len(kinds) == 1:
            box.setCurrentText(next(iter(kinds)))
            return
        box.blockSignals(True)
        if kinds:
            box.setCurrentIndex(-1)
            box.setPlaceholderText(f'{len(kinds)} kinds')
        else:
            box.setCurrentIndex(0)
        box.blockSignals(False)
        w = self.window_filter.currentText()
        self.model.set_filter(None if w in (ALL, '') else w, kinds or None)

    def _fill_kinds_menu(self) -> None:
        """One check box per kind seen (sorted), ticked when shown; ticking one changes the filter at once and
        the menu stays open."""
        self.kinds_menu.clear()
        shown = set(self.model.kind_filter or ())
        for kind in sorted(self.model.kinds):
            box = QCheckBox(kind)
            box.setChecked(kind in shown)
            box.setStyleSheet('padding: 2px 8px;')
            box.toggled.connect(lambda on, k=kind: self._toggle_kind(k, on))
            action = QWidgetAction(self.kinds_menu)
            action.setDefaultWidget(box)
            self.kinds_menu.addAction(action)
        if not self.model.kinds:
            self.kinds_menu.addAction('(no events yet)').setEnabled(False)

    def _toggle_kind(self, kind: str, on: bool) -> None:
        kinds = set(self.model.kind_filter or ())
        kinds = kinds | {kind} if on else kinds - {kind}
        self.set_kinds(kinds)

    def _autoscroll(self) -> None:
        if self._follow():
            self.log_view.scrollToBottom()

    def find_row(self, event_index: int) -> int:
        """The row of ``timeline.events[event_index]`` (pending rows are inserted first, filters that hide it
        are cleared); -1 when it has none."""
        self.model.flush()
        row = self.model.row_of_event_index(event_index)
        if row < 0:
            self.window_filter.setCurrentText(ALL)
            self.kind_filter.setCurrentText(ALL)
            row = self.model.row_of_event_index(event_index)
        return row

    def select_row(self, row: int) -> None:
        """Select ``row`` and scroll to it."""
        self.log_view.selectRow(row)
        self.log_view.scrollTo(self.model.index(row, 0))

    def show_count(self, *_: object) -> None:
        """Show "rows of total events" (rows shown after the filter, of every event folded so far); connected
        to the model's row signals, so it is right after every filter change and flush."""
        total = self.model.total
        rows = self.model.rowCount()
        self.log_count.setText(f'{rows} of {total} events' + ('' if rows == total else ' (filtered)'))
