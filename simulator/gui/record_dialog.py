"""The Record dialog: ``clientsim record`` in the GUI (File ▸ Record a session…, Ctrl+Shift+R).

Pick the app (the URL of a running one, or a command that starts it with ``{port}``) and the browser (Chromium
on this screen, or your own browser on the URL shown), press Start: the recording proxy runs on the GUI's qasync
loop (:class:`clientsim.simulator.record.session.RecordSession`) and every page load and action appears in the list
as it is recorded. Close the tab, or press Stop and save: the scenario and the raw recording are written (in the
recordings folder by default, :func:`clientsim.simulator.record.session.recordings_dir`), the scenario joins the
library (marked rec:) and "Replay in N windows" plays it at once. Closing the dialog while recording saves too: a
recording is never lost.
"""
from __future__ import annotations

import asyncio
import shlex
import time
from pathlib import Path
from typing import Callable, Optional

import yaml
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..errors import ClientsimError
from ..record.generate import generate
from ..record.session import RecordSession, describe_entry, recordings_dir

SOURCES = ('A running app (URL)', 'Start the app (command with {port})')
BROWSERS = ('Chromium (its own window when there is a display)', 'My own browser (open the URL shown)')


def step_text(step: dict) -> str:
    """One step as a line of YAML flow style: ``click: {label: +1, window: user}``."""
    return yaml.safe_dump(step, default_flow_style=True, width=10_000, allow_unicode=True).strip()[1:-1]


def default_out() -> Path:
    """A fresh name in the recordings folder: ``recording-YYYYmmdd-HHMMSS.yaml`` (created if missing)."""
    folder = recordings_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder / time.strftime('recording-%Y%m%d-%H%M%S.yaml')


class RecordDialog(QDialog):
    """``RecordDialog(parent, on_saved, on_replay)``: ``on_saved(path)`` when a scenario was written (the main
    window lists it in the library); ``on_replay(path, n)`` for "Replay in N windows". ``session`` is the
    running :class:`RecordSession` (None before Start), ``saved`` the written scenario path."""

    def __init__(self, parent: Optional[QWidget], on_saved: Callable[[str], None],
                 on_replay: Callable[[str, int], None], url: str = '') -> None:
        super().__init__(parent)
        self.setWindowTitle('Record a session')
        self.resize(720, 480)
        self.on_saved, self.on_replay = on_saved, on_replay
        self.session: Optional[RecordSession] = None
        self.task: Optional[asyncio.Task] = None
        self.saved: Optional[str] = None
        #: seconds without a request or an open socket after which "my own browser" counts as closed
        self.end_after_s = 5.0

        self.source = QComboBox()
        self.source.addItems(SOURCES)
        self.source.currentIndexChanged.connect(self._source_changed)
        self.app_edit = QLineEdit(url)
        self.browser = QComboBox()
        self.browser.addItems(BROWSERS)
        self.out_edit = QLineEdit(str(default_out()))
        browse = QPushButton('…')
        browse.setToolTip('Choose where to save the scenario (the raw recording goes next to it, .jsonl)')
        browse.clicked.connect(self._browse)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(browse)
        self.compress = QSpinBox()
        self.compress.setRange(0, 600_000)
        self.compress.setSingleStep(100)
        self.compress.setSuffix(' ms')
        self.compress.setSpecialValueText('as recorded')
        self.compress.setToolTip('Cap each recorded think time (wait step) at this many ms')
        form = QFormLayout()
        form.addRow('Record', self.source)
        form.addRow('App', self.app_edit)
        form.addRow('Browser', self.browser)
        form.addRow('Save as', out_row)
        form.addRow('Think time', self.compress)

        self.start_button = QPushButton('● Start recording')
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton('■ Stop and save')
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.windows = QSpinBox()
        self.windows.setRange(1, 1000)
        self.windows.setValue(50)
        self.windows.setSuffix(' windows')
        self.replay_button = QPushButton('▶ Replay')
        self.replay_button.setEnabled(False)
        self.replay_button.setToolTip('Play the recorded session in this many windows at once (w01, w02, …)')
        self.replay_button.clicked.connect(lambda: self.saved and self.on_replay(self.saved, self.windows.value()))
        buttons = QHBoxLayout()
        for widget in (self.start_button, self.stop_button):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        buttons.addWidget(self.windows)
        buttons.addWidget(self.replay_button)

        self.status = QLabel('Choose the app, then Start. Use the app in the browser; close its tab (or press '
                             'Stop and save) when done.')
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.steps = QListWidget()
        self.steps.setToolTip('The steps of the scenario being recorded, in the step language of scenario files')
        self._refresh = QTimer(self)  # regenerate the step list at most every 0.3 s while recording
        self._refresh.setSingleShot(True)
        self._refresh.setInterval(300)
        self._refresh.timeout.connect(self._show_steps)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.steps, 1)
        self._source_changed(0)

    # ---- options ---------------------------------------------------------------------------------------
    def _source_changed(self, index: int) -> None:
        self.app_edit.setPlaceholderText('http://127.0.0.1:8080/' if index == 0 else 'python app.py {port}')

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, 'Save the recorded scenario as', self.out_edit.text(),
                                              'Scenarios (*.yaml)')
        if path:
            self.out_edit.setText(path)

    def _show(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet('color: #c62828;' if error else '')

    # ---- recording -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start recording with the options shown; a bad option is shown in red, nothing starts."""
        if self.task is not None and not self.task.done():
            return
        text = self.app_edit.text().strip()
        if not text:
            self._show('Give the URL of a running app, or a command that starts it.', error=True)
            return
        try:
            command = shlex.split(text) if self.source.currentIndex() == 1 else None
            self.session = RecordSession(
                self.out_edit.text().strip(), url=None if command else text, target_command=command,
                browser='chromium' if self.browser.currentIndex() == 0 else 'none', headed=True,
                compress_think_ms=self.compress.value() or None, end_after_s=self.end_after_s)
        except (ClientsimError, ValueError) as e:
            self._show(str(e), error=True)
            return
        self.steps.clear()
        self.saved = None
        self.session.recording.on_entry.append(self._on_entry)
        self._set_running(True)
        self._show('Starting…')
        self.task = asyncio.ensure_future(self._run(self.session))

    def _on_entry(self, entry: dict) -> None:
        if describe_entry(entry) is not None and not self._refresh.isActive():  # a page load or an action
            self._refresh.start()

    def _show_steps(self) -> None:
        """List the steps the scenario would have now (the recording so far through the generator, so a run of
        keystrokes shows as one ``set``); before the first NiceGUI page, the recorded lines."""
        if self.session is None:
            return
        try:
            steps = generate(self.session.recording)['steps']
            lines = [step_text(step) for step in steps]
        except ValueError:
            lines = [line.strip() for e in self.session.recording.entries if (line := describe_entry(e))]
        self.steps.clear()
        self.steps.addItems(lines)
        self.steps.scrollToBottom()

    async def _run(self, session: RecordSession) -> None:
        try:
            try:
                url = await session.start()
            except (ClientsimError, OSError) as e:
                self._show(f'Cannot start: {e}', error=True)
                return
            if session.browser == 'none':
                self._show(f'Recording. Open {url} in your browser; close the tab (or press Stop and save) when '
                           'done.')
            else:
                self._show(f'Recording. Chromium opened {url}; close its window (or press Stop and save) when '
                           'done.')
            await session.wait_until_done()
            self._show('Saving…')
            self._refresh.stop()
            self._show_steps()
            scenario, raw = await session.finish()
            entries = len(session.recording.entries)
            if scenario is None:
                self._show(f'No NiceGUI page was recorded, so no scenario was written ({entries} entries kept in '
                           f'{raw}).', error=True)
                return
            if session.target_command is not None:  # the command given here: trusted (simulator.trust)
                from ..trust import trust
                trust(scenario)
            self.saved = str(scenario)
            self._show(f'Saved {scenario} ({entries} entries; raw recording {raw.name}). It is at the top of the '
                       'scenario library (rec:); replay it below.')
            self.on_saved(self.saved)
        except OSError as e:
            self._show(f'Cannot save: {e}', error=True)
        finally:
            await session.close()
            self._set_running(False)

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        self.replay_button.setEnabled(not running and self.saved is not None)
        for widget in (self.source, self.app_edit, self.browser, self.out_edit, self.compress):
            widget.setEnabled(not running)

    def stop(self) -> None:
        """End the recording now (as closing the tab does); it is saved."""
        if self.session is not None:
            self.session.stop_event.set()

    async def finished(self) -> None:
        """Wait until the recording task ended (tests, and closing the main window)."""
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Closing the dialog while recording stops and saves the recording (it finishes in the background)."""
        self.stop()
        super().closeEvent(event)
