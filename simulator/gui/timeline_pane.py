"""The timeline pane of the main window: the :class:`~simulator.gui.timeline_view.TimelineView` with its title,
the Lanes menu (grouping, expand/collapse), "Follow live" and "Export…"."""
from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QMenu, QPushButton, QToolButton, QVBoxLayout, QWidget

from .timeline_view import GROUP_AFTER, GROUPINGS, TimelineView


class TimelinePane(QWidget):
    """The timeline of the main window: a title, the Lanes menu (``lanes_button``: grouping, expand/collapse
    groups), "Follow live" (``follow_box``; unticked when the person pans or zooms, ticked again by every Play),
    "Export timeline…" (calls ``export()``) and the :class:`TimelineView` (``view``)."""

    def __init__(self, export: Callable[[], None]) -> None:
        super().__init__()
        self.view = TimelineView()
        self.view.plot.getViewBox().sigRangeChangedManually.connect(lambda *_: self.follow_box.setChecked(False))
        self.follow_box = QCheckBox('Follow live')
        self.follow_box.setToolTip('Keep the whole run in view; panning or zooming turns it off, Play turns it on')
        self.follow_box.setChecked(True)
        self.follow_box.toggled.connect(self._set_follow)
        export_button = QPushButton('Export…')
        export_button.setToolTip('Save the timeline with title and legend as PNG or SVG (Ctrl+E)')
        export_button.clicked.connect(export)
        self.lanes_button = QToolButton()
        self.lanes_button.setText('Lanes ▾')
        self.lanes_button.setToolTip(f'Group lanes (automatic past {GROUP_AFTER} windows) and expand or collapse '
                                     'groups; double-click a group label to toggle it')
        self.lanes_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.lanes_menu = QMenu(self)
        self.lanes_menu.aboutToShow.connect(self._fill_lanes_menu)
        self.lanes_button.setMenu(self.lanes_menu)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        title = QLabel('<b>Timeline</b> — one lane per window')
        title.setToolTip('Wheel zooms, drag pans, click a marker for its log row; t = 0 is the start of the '
                         'scenario or of the manual session')
        row.addWidget(title, 1)
        row.addWidget(self.lanes_button)
        row.addWidget(self.follow_box)
        row.addWidget(export_button)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)

    def _fill_lanes_menu(self) -> None:
        menu, view = self.lanes_menu, self.view
        menu.clear()
        group = QActionGroup(menu)
        for mode, text in zip(GROUPINGS, (f'Group automatically (past {GROUP_AFTER} lanes)',
                                          'Group by outcome', 'Group by page', 'No groups'), strict=False):
            action = QAction(text, menu, checkable=True, checked=view.grouping == mode)
            action.triggered.connect(lambda _=False, m=mode: self._set_grouping(m))
            group.addAction(action)
            menu.addAction(action)
        menu.addSeparator()
        for label in view.row_labels:
            if label[:1] in '▸▾':
                name = label[2:].rsplit(' (', 1)[0]
                action = QAction(f'{label[2:]}: expanded', menu, checkable=True, checked=name in view.expanded)
                action.triggered.connect(lambda _=False, n=name: view.toggle_group(n))
                menu.addAction(action)

    def _set_grouping(self, mode: str) -> None:
        self.view.grouping = mode
        self.view.redraw()

    def _set_follow(self, on: bool) -> None:
        self.view.follow = on
        if on:
            self.view.redraw()
