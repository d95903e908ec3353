"""The Bisect dialog: ``clientsim bisect`` in the GUI (Scenario ▸ Bisect NiceGUI releases…, Ctrl+B).

A row of release cells, oldest to newest, each with its own progress bar (runs played of the most allowed) and
its colour once played: red when every run showed the new outcome, green when none did, amber when some did,
grey when not played or skipped. The culprit's cell is outlined, and the verdict (or "can't tell") sits above.
The bisection runs on the GUI's qasync loop (:func:`clientsim.simulator.release_bisect.bisect_scenario`); venv
installs and the release list run in threads, so the window stays live.
"""
from __future__ import annotations

import asyncio
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..bisect_model import Tally
from ..errors import ClientsimError
from ..release_bisect import BisectResult, bisect_scenario, load_target_scenario

CELL_COLOURS = {'new': '#d63b30', 'old': '#1c9a47', 'mixed': '#f0a020', 'none': '#9e9e9e'}
"""Cell colours by what a release's runs showed (the HTML report's red/green; amber for a split release)."""


def cell_state(tally: Tally) -> str:
    """``new`` (every run showed the new outcome), ``old`` (none did), ``mixed`` or ``none`` (not played)."""
    if tally.skipped or not tally.runs:
        return 'none'
    return 'new' if tally.new == tally.runs else 'old' if tally.new == 0 else 'mixed'


class BisectDialog(QDialog):
    """Bisect a target scenario over NiceGUI releases. ``file``: the scenario to start with (may be None)."""

    def __init__(self, parent: Optional[QWidget] = None, file: Optional[str] = None) -> None:
        super().__init__(parent)
        self.setWindowTitle('Bisect NiceGUI releases')
        self.resize(760, 360)
        self.task: Optional[asyncio.Task] = None
        self.result: Optional[BisectResult] = None
        self.cells: dict[str, tuple[QLabel, QProgressBar]] = {}
        self.file_edit = QLineEdit(file or '')
        browse = QPushButton('…')
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(browse)
        self.good_edit, self.bad_edit = QLineEdit(), QLineEdit()
        self.good_edit.setPlaceholderText("oldest of the file's nicegui: versions")
        self.bad_edit.setPlaceholderText('newest of them')
        self.runs_box = QSpinBox(minimum=1, maximum=20, value=3)
        self.confidence_box = QDoubleSpinBox(minimum=0.51, maximum=0.999, value=0.95, singleStep=0.01, decimals=3)
        form = QFormLayout()
        form.addRow('Target scenario', file_row)
        form.addRow('Good (older bound)', self.good_edit)
        form.addRow('Bad (newer bound)', self.bad_edit)
        form.addRow('Runs per release', self.runs_box)
        form.addRow('Confidence', self.confidence_box)
        self.start_button = QPushButton('Start')
        self.start_button.clicked.connect(self.start)
        self.verdict = QLabel('Pick a target scenario and press Start.')
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel('')
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        scroll.setMinimumHeight(90)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.start_button)
        layout.addWidget(self.verdict)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.status)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, 'Target scenario', self.file_edit.text(), 'Scenarios (*.yaml)')
        if path:
            self.file_edit.setText(path)

    def set_versions(self, versions: list[str], max_runs: int) -> None:
        """One cell per release (oldest left), each with a progress bar of ``max_runs``."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.cells = {}
        for column, version in enumerate(versions):
            label = QLabel(version)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setMinimumWidth(64)
            bar = QProgressBar(maximum=max_runs, value=0, textVisible=False)
            bar.setFixedHeight(6)
            self.grid.addWidget(label, 0, column)
            self.grid.addWidget(bar, 1, column)
            self.cells[version] = (label, bar)
            self._paint(Tally(version), culprit=False)

    def _paint(self, tally: Tally, culprit: bool) -> None:
        label, bar = self.cells[tally.version]
        colour = CELL_COLOURS[cell_state(tally)]
        outline = 'border: 3px solid black;' if culprit else 'border: 1px solid #666;'
        label.setStyleSheet(f'background: {colour}; color: white; padding: 4px; {outline}')
        label.setText(f'{tally.version}\n{tally.new}/{tally.runs}' if tally.runs else
                      f'{tally.version}\n{"skipped" if tally.skipped else "—"}')
        label.setToolTip(tally.skipped or ', '.join(tally.outcomes))
        bar.setValue(min(tally.runs, bar.maximum()))

    def progress(self, line: str, tally: Tally) -> None:
        """A run finished (or an install started): repaint that release's cell and show the line."""
        self.status.setText(line)
        if tally.version in self.cells:
            self._paint(tally, culprit=False)

    def show_result(self, result: BisectResult) -> None:
        """Paint every cell from ``result`` and show its verdict (the culprit outlined)."""
        self.result = result
        if set(self.cells) != {t.version for t in result.tallies}:
            self.set_versions([t.version for t in result.tallies], max(1, max(t.runs for t in result.tallies)))
        for tally in result.tallies:
            self._paint(tally, culprit=tally.version == result.culprit)
        self.verdict.setText(f'<b>{result.verdict()}</b><br>red: every run {result.new}; green: none; '
                             'amber: some; grey: not played')

    def start(self) -> None:
        """Load the scenario and start the bisection (a load error shows in the verdict line, nothing starts)."""
        if self.task is not None and not self.task.done():
            return
        try:
            scenario = load_target_scenario(self.file_edit.text())
        except ClientsimError as e:
            self.verdict.setText(f'<span style="color:#c62828">error: {e}</span>')
            return
        self.start_button.setEnabled(False)
        self.verdict.setText('bisecting…')
        self.task = asyncio.get_event_loop().create_task(self._run(scenario))

    async def _run(self, scenario: Any) -> None:
        runs = self.runs_box.value()
        try:
            result = await bisect_scenario(
                scenario, self.good_edit.text().strip() or None, self.bad_edit.text().strip() or None, runs=runs,
                confidence=self.confidence_box.value(), progress=self.progress,
                on_versions=lambda versions: self.set_versions(versions, 3 * runs))
            self.show_result(result)
        except ClientsimError as e:
            self.verdict.setText(f'<span style="color:#c62828">error: {e}</span>')
        finally:
            self.start_button.setEnabled(True)

    def done(self, code: int) -> None:  # noqa: D401 - Qt's name
        """Closing the dialog cancels a running bisection."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        super().done(code)
