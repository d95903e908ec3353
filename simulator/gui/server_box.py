"""The server box of the main window: the embedded server (running or stopped, its URL, server errors, clients
alive), or in target mode the real app a scenario runs against (URL, command, state, return code)."""
from __future__ import annotations

import os

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QVBoxLayout

from clientsim.server.app import EmbeddedServer
from clientsim.simulator.outcome import PASS_COLOUR, verdict_colour


class ServerBox(QGroupBox):
    """``ServerBox()``; :meth:`show_server` writes an :class:`EmbeddedServer`'s state into its labels
    (``state_label``, ``url_label``, ``errors_label``)."""

    def __init__(self) -> None:
        super().__init__('Embedded server')
        self.setToolTip('The server the windows talk to')
        self.url_label = QLabel('—')
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label = QLabel('stopped')
        self.errors_label = QLabel('server errors: 0')
        self.errors_label.setWordWrap(True)  # a target's long command must not widen the column
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(self.state_label)
        row.addWidget(self.url_label, 1)
        layout.addLayout(row)
        layout.addWidget(self.errors_label)

    def show_server(self, server: EmbeddedServer) -> None:
        """Show whether ``server`` runs, its URL, its errors (count and types) and its clients alive."""
        self.setTitle('Embedded server')
        self.state_label.setText(f'<span style="color:{PASS_COLOUR}">●</span> running' if server.running
                                 else '<span style="color:#9e9e9e">●</span> stopped')
        self.url_label.setText(server.url or '—')
        n_err = len(server.errors)
        self.errors_label.setText(f'server errors: <b style="color:{verdict_colour(not n_err)}">{n_err}</b>'
                                  + (f' ({", ".join(sorted({e["type"] for e in server.errors}))})' if n_err else '')
                                  + f'  ·  clients alive: {len(server.registry.instances)}')

    def show_target(self, target: dict, playing: bool, errors: dict[str, int] | None = None) -> None:
        """Target mode: show the real app of a ``target:`` scenario. ``target`` is
        :meth:`ExternalTarget.describe` (``url``, ``command``, ``returncode``, ``ready_ms``); ``playing`` says
        whether its scenario still runs; ``errors`` the app's server errors by type (from the probe or its
        output)."""
        self.setTitle('Target app (real server; the embedded one is idle)')
        rc = target.get('returncode')
        if playing:
            state = (f'<span style="color:{PASS_COLOUR}">●</span> running' if target.get('ready_ms') is not None
                     else '<span style="color:#f9a825">●</span> starting')
        else:
            state = '<span style="color:#9e9e9e">●</span> stopped'
        self.state_label.setText(state)
        self.url_label.setText(target.get('url') or '—')
        command = target.get('command')
        cmd = (' '.join(os.path.basename(c) if os.path.isabs(c) else c for c in command)
               if isinstance(command, (list, tuple)) else command or '(URL target: not started by clientsim)')
        n_err = sum((errors or {}).values())
        counts = ', '.join(f'{k}: {v}' for k, v in sorted((errors or {}).items()))
        self.errors_label.setText(f'command: <code>{cmd}</code><br>return code: '
                                  f'<b>{"—" if rc is None else rc}</b>'
                                  + ('' if target.get('ready_ms') is None
                                     else f' · ready after {target["ready_ms"]} ms')
                                  + f'<br>server errors: <b style="color:{verdict_colour(not n_err)}">'
                                  f'{n_err}</b>' + (f' ({counts})' if n_err else ''))
