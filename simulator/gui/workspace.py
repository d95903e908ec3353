"""The windows area of the main window: every :class:`BrowserWindow` lives here, never on top of the controls.

Up to :data:`FULL_LIMIT` windows show in full, in a grid; beyond that every window is a compact tile (name,
state dot, outcome colour, last status) in a list view that paints 200 tiles without 200 widgets. A double
click on a tile opens that window in full as its own top-level window; a window's "Detach" button does the
same from the grid, and "Dock" (or closing the top-level frame through :meth:`Workspace.dock`) brings it back.
"""
from __future__ import annotations

import math
import urllib.parse
from typing import Any, Optional

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QListView,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from clientsim.simulator import browser as b
from clientsim.simulator.outcome import OUTCOMES, window_state_colour

from .browser_window import BrowserWindow
from .throttle import Throttle

#: more windows than this show as compact tiles
FULL_LIMIT = 12
TILE_SIZE = QSize(150, 54)
#: a window in full needs this height (px); less room and the windows show as tiles
FULL_MIN_HEIGHT = 230


def last_status(browser: b.SimulatedBrowser) -> str:
    """A window's last status in a few words: its last download (``200 sample.txt`` / ``404``), else its page
    error, else its connection state."""
    if browser.downloads:
        d = browser.downloads[-1]
        return f'{d.status or d.error} {d.filename}'
    if browser.page_error:
        return browser.page_error[:40]
    path = urllib.parse.urlsplit(browser.url).path if browser.url else ''
    if browser.state == 'closed':
        return f'closed, no download{f" (was on {path})" if path else ""}'
    return f'{browser.state} on {path}' if path else browser.state


class TileModel(QAbstractListModel):
    """One row per windowed browser (``windows``, a list of :class:`BrowserWindow`); the view paints them with
    :class:`TileDelegate`. :meth:`touch` repaints every row (throttled by the owner)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.windows: list[BrowserWindow] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.windows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        window = self.windows[index.row()]
        br = window.browser
        if role == Qt.ItemDataRole.DisplayRole:
            return br.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return (f'{br.name}: {br.state}\n{br.url or ""}\ndownload: {br.download_outcome} — {last_status(br)}\n'
                    'double-click to open in full')
        if role == Qt.ItemDataRole.UserRole:
            return window
        return None

    def append(self, window: BrowserWindow) -> None:
        """Add a tile for ``window``."""
        n = len(self.windows)
        self.beginInsertRows(QModelIndex(), n, n)
        self.windows.append(window)
        self.endInsertRows()

    def remove(self, window: BrowserWindow) -> None:
        """Remove the tile of ``window`` (no-op when it has none)."""
        if window in self.windows:
            row = self.windows.index(window)
            self.beginRemoveRows(QModelIndex(), row, row)
            self.windows.pop(row)
            self.endRemoveRows()

    def touch(self) -> None:
        """Repaint every tile (the view only paints the visible ones)."""
        if self.windows:
            self.dataChanged.emit(self.index(0), self.index(len(self.windows) - 1))


class TileDelegate(QStyledItemDelegate):
    """Paints one tile: the outcome colour as background and border, a state dot, the name (bold) and the last
    status (see :func:`last_status`)."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        window: BrowserWindow = index.data(Qt.ItemDataRole.UserRole)
        br = window.browser
        style = OUTCOMES[br.download_outcome]
        rect = option.rect.adjusted(2, 2, -2, -2)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(style.colour), 3 if option.state & QStyle.StateFlag.State_Selected else 2))
        painter.setBrush(QColor(style.background))
        painter.drawRoundedRect(rect, 4, 4)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(window_state_colour(br.state)))
        painter.drawEllipse(QRect(rect.x() + 6, rect.y() + 8, 10, 10))
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor('#212121'))
        painter.drawText(QRect(rect.x() + 22, rect.y() + 3, rect.width() - 26, 20),
                         int(Qt.AlignmentFlag.AlignVCenter), br.name)
        font.setBold(False)
        font.setPointSizeF(max(7.0, option.font.pointSizeF() * 0.9))
        painter.setFont(font)
        painter.setPen(QColor(style.status_text))
        status = painter.fontMetrics().elidedText(last_status(br), Qt.TextElideMode.ElideRight, rect.width() - 10)
        painter.drawText(QRect(rect.x() + 6, rect.y() + 24, rect.width() - 10, 22),
                         int(Qt.AlignmentFlag.AlignVCenter), status)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:  # noqa: N802
        return TILE_SIZE


class Workspace(QWidget):
    """``Workspace()``: :meth:`add` / :meth:`remove` browser windows; ``windows`` in order of adding.
    ``mode`` is ``'full'`` (≤ ``full_limit`` windows, default :data:`FULL_LIMIT`, in a grid) or ``'tiles'``.
    :meth:`detach` makes a window its own top-level window, :meth:`dock` brings it back; ``detached`` holds those."""

    def __init__(self, title: str = '', parent: QWidget | None = None, full_limit: int = FULL_LIMIT) -> None:
        super().__init__(parent)
        self.full_limit = full_limit
        self.windows: list[BrowserWindow] = []
        self.detached: list[BrowserWindow] = []
        self.mode = 'full'
        self._title = title
        self.header = QLabel()
        self.header.setStyleSheet('color: #455a64;')
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        self.grid.setContentsMargins(2, 2, 2, 2)
        self.grid.setSpacing(6)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.grid_host)
        self.tiles = TileModel(self)
        self.tile_view = QListView()
        self.tile_view.setViewMode(QListView.ViewMode.IconMode)
        self.tile_view.setResizeMode(QListView.ResizeMode.Adjust)
        self.tile_view.setMovement(QListView.Movement.Static)
        self.tile_view.setUniformItemSizes(True)
        self.tile_view.setGridSize(TILE_SIZE + QSize(4, 4))
        self.tile_view.setSpacing(0)
        self.tile_view.setModel(self.tiles)
        self.tile_view.setItemDelegate(TileDelegate(self.tile_view))
        self.tile_view.doubleClicked.connect(lambda index: self.detach(index.data(Qt.ItemDataRole.UserRole)))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.scroll)
        self.stack.addWidget(self.tile_view)
        self.empty = QLabel('No windows yet. Open one (Ctrl+N), or try "Race demo", or play a scenario.')
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet('color: #9e9e9e;')
        self.stack.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.header)
        layout.addWidget(self.stack, 1)
        self._repaint_tiles = Throttle(self.tiles.touch, 200, self)
        self._relayout()

    # ---- windows --------------------------------------------------------------------------------------------
    def add(self, window: BrowserWindow) -> None:
        """Take ``window`` into the area (docked)."""
        self.windows.append(window)
        window.detach_requested.connect(self._toggle_detached)
        window.browser.listeners.append(self._on_browser_changed)
        self.tiles.append(window)
        if self.mode == 'tiles':  # stays tiles: O(1) per window (200 windows open in a burst)
            window.hide()
            self._update_header()
        else:
            self._relayout()

    def remove(self, window: BrowserWindow) -> None:
        """Forget ``window`` (the caller closes it)."""
        if window in self.windows:
            self.windows.remove(window)
        if window in self.detached:
            self.detached.remove(window)
        if self._on_browser_changed in window.browser.listeners:
            window.browser.listeners.remove(self._on_browser_changed)
        self.tiles.remove(window)
        self._relayout()

    def clear(self) -> None:
        """Forget every window (the caller closes them)."""
        for window in list(self.windows):
            self.remove(window)

    def _on_browser_changed(self, _browser: b.SimulatedBrowser) -> None:
        if self.mode == 'tiles':
            self._repaint_tiles()

    def _toggle_detached(self, window: BrowserWindow) -> None:
        if window in self.detached:
            self.dock(window)
        else:
            self.detach(window)

    def detach(self, window: Optional[BrowserWindow]) -> None:
        """Show ``window`` in full as its own top-level window (a double click on its tile does this)."""
        if window is None or window not in self.windows:
            return
        if window not in self.detached:
            self.detached.append(window)
            self.grid.removeWidget(window)
            window.set_docked(False)
            window.setParent(None, Qt.WindowType.Window)
            window.resize(400, 460)
        window.show()
        window.raise_()
        window.activateWindow()
        self._relayout()

    def dock(self, window: BrowserWindow) -> None:
        """Bring a detached ``window`` back into the area."""
        if window in self.detached:
            self.detached.remove(window)
            window.set_docked(True)
            self._relayout()

    def dock_all(self) -> None:
        """Bring every detached window back."""
        for window in list(self.detached):
            self.dock(window)

    # ---- layout ---------------------------------------------------------------------------------------------
    def columns(self, n: int) -> int:
        """Columns of the full view for ``n`` windows at the current width (windows at least ~230 px wide)."""
        fit = max(1, (self.scroll.viewport().width() or self.width()) // 230)
        return max(1, min(n, fit, math.ceil(math.sqrt(n * 2))))

    def _fits(self, n: int) -> bool:
        """Whether ``n`` windows in full fit the area's height (else they show as tiles, all in view)."""
        if n == 0 or not self.isVisible():
            return True
        rows = math.ceil(n / self.columns(n))
        room = self.stack.height() or self.height()
        return rows * (FULL_MIN_HEIGHT + self.grid.spacing()) <= room

    def _relayout(self) -> None:
        docked = [w for w in self.windows if w not in self.detached]
        mode = 'tiles' if len(self.windows) > self.full_limit or not self._fits(len(docked)) else 'full'
        self.mode = mode
        while self.grid.count():
            self.grid.takeAt(0)
        if mode == 'full':
            cols = self.columns(len(docked))
            for i, window in enumerate(docked):
                if window.parent() is not self.grid_host:
                    window.setParent(self.grid_host)
                r, c = divmod(i, cols)
                self.grid.addWidget(window, r, c)
                window.show()
            self.stack.setCurrentWidget(self.scroll if self.windows else self.empty)
        else:
            for window in docked:
                if not window.isHidden():
                    window.hide()
            self.stack.setCurrentWidget(self.tile_view)
            self.tiles.touch()
        self._update_header()

    def _why_tiles(self) -> str:
        if not self.full_limit:
            return ''
        return f' (more than {self.full_limit})' if len(self.windows) > self.full_limit else ' (no room in full)'

    def _update_header(self) -> None:
        n, mode = len(self.windows), self.mode
        detached = f' · {len(self.detached)} detached (Dock brings them back)' if self.detached else ''
        how = ('in full' if mode == 'full' else
               f'as tiles{self._why_tiles()}: colour = download '
               'outcome, dot = connection; '
               'double-click a tile to open it in full')
        self.header.setText(f'<b>{self._title or "Windows"}</b> — {n} window{"s" if n != 1 else ""} {how}{detached}'
                            if n else f'<b>{self._title or "Windows"}</b>')

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        docked = [w for w in self.windows if w not in self.detached]
        if len(self.windows) <= self.full_limit and docked:
            wanted = 'full' if self._fits(len(docked)) else 'tiles'
            if wanted != self.mode or (wanted == 'full' and self.columns(len(docked)) != self._current_columns()):
                self._relayout()

    def _current_columns(self) -> int:
        cols = 0
        for i in range(self.grid.count()):
            _r, c, _rs, _cs = self.grid.getItemPosition(i)
            cols = max(cols, c + 1)
        return cols

