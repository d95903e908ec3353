"""The "Simulated windows" box of the main window: open a window on the auto-index or a private page, the
latency defaults for new windows, the one-click race demo, dock all windows back, close them all (the
shortcuts named on the buttons are the main window's application-wide shortcuts)."""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from PySide6.QtWidgets import QGridLayout, QGroupBox, QPushButton, QVBoxLayout

from clientsim.simulator.browser import Latency

from .browser_window import LatencyEditors


class WindowsBox(QGroupBox):
    """``WindowsBox(open_window, tile, close_all, race_demo)``: buttons calling ``open_window('/')``,
    ``open_window('/private')``, ``tile()`` (dock every detached window back), ``close_all()`` and
    ``race_demo()``. ``default_latency`` (a :class:`Latency`, ms) is what new windows start with, edited in
    ``latency_editors``."""

    def __init__(self, open_window: Callable[[str], object], tile: Callable[[], None],
                 close_all: Callable[[], None], race_demo: Callable[[], None] | None = None) -> None:
        super().__init__('Simulated windows: open one')
        self.open_auto_button = QPushButton('Auto-index (Ctrl+N)')
        self.open_auto_button.setToolTip('A new simulated browser on "/" — shared by every window (one client_id)')
        self.open_auto_button.clicked.connect(lambda: open_window('/'))
        self.open_private_button = QPushButton('Private (Ctrl+Shift+N)')
        self.open_private_button.setToolTip('A new simulated browser on "/private" — a new client per page load')
        self.open_private_button.clicked.connect(lambda: open_window('/private'))
        self.race_button = QPushButton('⚡ Race demo (Ctrl+R)')
        self.race_button.setToolTip('Open alice, bob and carol on the auto-index with download delays 0/50/100 ms, '
                                    'then bob clicks Download: with the shipped policy the losers turn red')
        if race_demo is not None:
            self.race_button.clicked.connect(race_demo)
        self.tile_button = QPushButton('Dock all (Ctrl+T)')
        self.tile_button.setToolTip('Bring every detached window back into the windows area')
        self.tile_button.clicked.connect(tile)
        self.close_all_button = QPushButton('Close all (Ctrl+Shift+W)')
        self.close_all_button.clicked.connect(close_all)
        self.default_latency = Latency()
        self.latency_editors = LatencyEditors(self.default_latency, 'new windows, ms', caption_above=True)
        self.latency_editors.setToolTip('Latency of windows opened from now on (page GET, handshake, download, '
                                        'in ms); each window has its own boxes too')
        layout = QVBoxLayout(self)
        grid = QGridLayout()
        grid.addWidget(self.open_auto_button, 0, 0)
        grid.addWidget(self.open_private_button, 0, 1)
        grid.addWidget(self.race_button, 1, 0)
        grid.addWidget(self.tile_button, 1, 1)
        grid.addWidget(self.close_all_button, 2, 0, 1, 2)
        layout.addLayout(grid)
        layout.addWidget(self.latency_editors)


async def race_demo(open_window: Callable[..., Any]) -> list[Any]:
    """Open alice, bob and carol on the auto-index with download delays 0/50/100 ms
    (``open_window(page, name, latency)``), wait for their handshakes, then click Download in bob. With the
    shipped policy (``download_target: room``) alice gets the file, bob and carol turn red (404); with
    ``sender`` only bob downloads. The server's removal of the single-use route is drawn
    (:mod:`clientsim.server.removal`, unseeded here): with the default ``removal_busy_share`` 0.08 and a busy wake-up
    of 5-80 ms, bob's GET 50 ms after alice's still gets 200 in about 3 % of runs, as on real 2.11.0. Returns the
    three windows."""
    windows = [open_window('/', name, Latency(download_ms=delay))
               for name, delay in (('alice', 0), ('bob', 50), ('carol', 100))]
    await asyncio.gather(*(w.browser.wait_for(lambda br: br.state == 'handshake done') for w in windows))
    await windows[1].browser.click('Download')
    return windows
