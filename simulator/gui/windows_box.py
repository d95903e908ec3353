"""The "Simulated windows" box of the main window: open a window on the auto-index or a private page, tile
them, close them all (the shortcuts named on the buttons are the main window's menu shortcuts)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout


class WindowsBox(QGroupBox):
    """``WindowsBox(open_window, tile, close_all)``: buttons calling ``open_window('/')``,
    ``open_window('/private')``, ``tile()`` and ``close_all()``."""

    def __init__(self, open_window: Callable[[str], object], tile: Callable[[], None],
                 close_all: Callable[[], None]) -> None:
        super().__init__('Simulated windows')
        self.open_auto_button = QPushButton('Open window on the auto-index  (Ctrl+N)')
        self.open_auto_button.setToolTip('A new simulated browser on "/" — shared by every window (one client_id)')
        self.open_auto_button.clicked.connect(lambda: open_window('/'))
        self.open_private_button = QPushButton('Open window on a private page  (Ctrl+Shift+N)')
        self.open_private_button.setToolTip('A new simulated browser on "/private" — a new client per page load')
        self.open_private_button.clicked.connect(lambda: open_window('/private'))
        self.tile_button = QPushButton('Tile windows  (Ctrl+T)')
        self.tile_button.clicked.connect(tile)
        self.close_all_button = QPushButton('Close all windows  (Ctrl+Shift+W)')
        self.close_all_button.clicked.connect(close_all)
        layout = QVBoxLayout(self)
        layout.addWidget(self.open_auto_button)
        layout.addWidget(self.open_private_button)
        row = QHBoxLayout()
        row.addWidget(self.tile_button)
        row.addWidget(self.close_all_button)
        layout.addLayout(row)
