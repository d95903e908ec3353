"""The "Scenario library" box of the main window: the scenarios of ``assets/scenarios`` and, marked ``rec:``, the
recorded ones (:func:`clientsim.simulator.record.session.recordings_dir`; a broken file shows
with ⚠ and its error as tooltip), Play, the step progress and the result of the last run."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from clientsim.simulator.outcome import FAIL_COLOUR, verdict_colour, verdict_label
from clientsim.simulator.record.session import recorded_scenarios
from clientsim.simulator.run_report import RunReport
from clientsim.simulator.scenario import Scenario, ScenarioError, library, load_scenario


def play_notice(scenario: Scenario, closed: int, kept: dict, overridden: dict) -> str:
    """What Play did besides playing (rich text): ``closed`` windows closed, the server restarted, the policy
    fields the scenario sets, hand changes ``kept`` (field → value) or ``overridden`` (field → (yours, its))."""
    first = f'closed {closed} open window{"s" if closed != 1 else ""}, ' if closed else ''
    first += ('restarted the embedded server (fresh clients)' if scenario.target is None
              else 'plays against a real app (target:); the policy panel does not apply')
    parts = [first]
    sets = sorted(scenario.policy.model_fields_set)
    if scenario.target is None:
        parts.append('scenario sets ' + (', '.join(f'<b>{n}</b>={getattr(scenario.policy, n)}' for n in sets)
                                          if sets else 'no policy field (shipped defaults)'))
    if kept:
        parts.append('<b>kept your change</b> ' + ', '.join(f'{n}={v}' for n, v in kept.items()))
    if overridden:
        parts.append('<b style="color:#ef6c00">overrode your change</b> ' + ', '.join(
            f'{n}: {mine} → {theirs}' for n, (mine, theirs) in overridden.items())
            + ' (tick "Keep my changes" to keep it)')
    return ' · '.join(parts)


class ScenarioLibrary(QGroupBox):
    """``ScenarioLibrary(play)``: ``play()`` is called by the Play button and a double click.
    :meth:`current_path` is the selected file; :meth:`start`, :meth:`show_result` and :meth:`show_error`
    show a run."""

    def __init__(self, play: Callable[[], None], play_side_by_side: Callable[[], None] | None = None) -> None:
        super().__init__('Scenario library')
        self.scenario_list = QListWidget()
        self.scenario_list.itemDoubleClicked.connect(lambda _item: play())
        for path in library():
            self.scenario_list.addItem(self._item(path))
        recorded = recorded_scenarios()
        for path in reversed(recorded):  # insert_recorded puts each on top: newest first
            self.insert_recorded(path, select=False)
        if self.scenario_list.count() > len(recorded):
            self.scenario_list.setCurrentRow(len(recorded))  # the first shipped scenario, as before recordings
        elif self.scenario_list.count():
            self.scenario_list.setCurrentRow(0)
        self.play_button = QPushButton('▶ Play  (Ctrl+P)')
        self.play_button.clicked.connect(play)
        self.play_button.setToolTip('Play the selected scenario: closes the open windows and restarts the embedded '
                                    'server with the scenario\'s policy (what it sets is listed below)')
        self.compare_button = QPushButton('⇄ Side by side  (Ctrl+Shift+P)')
        self.compare_button.setToolTip('Play the selected scenario twice at once: as the file says (above) and '
                                       'with the policy fields you changed by hand (below)')
        if play_side_by_side is not None:
            self.compare_button.clicked.connect(play_side_by_side)
        self.notice_label = QLabel('')
        self.notice_label.setWordWrap(True)
        self.notice_label.setTextFormat(Qt.TextFormat.RichText)
        self.notice_label.setStyleSheet('color: #455a64; font-size: 11px;')
        self.scenario_progress = QProgressBar()
        self.scenario_progress.setFormat('no scenario played yet')
        self.scenario_progress.setValue(0)
        self.result_label = QLabel('')
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scenario_list, 1)
        row = QHBoxLayout()
        row.addWidget(self.play_button)
        row.addWidget(self.compare_button)
        layout.addLayout(row)
        layout.addWidget(self.scenario_progress)
        layout.addWidget(self.notice_label)
        layout.addWidget(self.result_label)

    @staticmethod
    def _item(path: Path, recorded: bool = False) -> QListWidgetItem:
        mark = 'rec: ' if recorded else ''
        try:
            scenario = load_scenario(path)
            item = QListWidgetItem(mark + path.stem)
            item.setToolTip(f'{scenario.name}\n\n{scenario.description}\npolicy: {scenario.policy_summary()}'
                            + (f'\n\nrecorded: {path}' if recorded else ''))
        except ScenarioError as e:
            item = QListWidgetItem(f'⚠ {mark}{path.stem}')
            item.setToolTip(str(e))
        item.setData(Qt.ItemDataRole.UserRole, str(path))
        return item

    def insert_recorded(self, path: str | Path, select: bool = True) -> None:
        """List a recorded scenario (File ▸ Record a session…) at the top, marked ``rec:``, once; select it."""
        path = Path(path)
        for i in range(self.scenario_list.count()):
            if Path(self.scenario_list.item(i).data(Qt.ItemDataRole.UserRole)).resolve() == path.resolve():
                self.scenario_list.takeItem(i)
                break
        self.scenario_list.insertItem(0, self._item(path, recorded=True))
        if select:
            self.scenario_list.setCurrentRow(0)

    def current_path(self) -> Optional[str]:
        """The file of the selected scenario, None when nothing is selected."""
        item = self.scenario_list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def start(self, name: str, path: Optional[str], steps: int, notice: str = '') -> None:
        """A run of scenario ``name`` (from file ``path``, if any) with ``steps`` steps begins: select it, show
        "playing" and ``notice`` (what Play did: see :func:`play_notice`), reset the progress."""
        self.notice_label.setText(notice)
        for i in range(self.scenario_list.count()):
            item = self.scenario_list.item(i)
            if path and Path(item.data(Qt.ItemDataRole.UserRole)).resolve() == Path(path).resolve():
                self.scenario_list.setCurrentRow(i)
        self.result_label.setText(f'playing <b>{name}</b>…')
        self.scenario_progress.setFormat('%v / %m steps')
        self.scenario_progress.setRange(0, max(steps, 1))
        self.scenario_progress.setValue(0)

    def show_error(self, message: str) -> None:
        """Show ``message`` (e.g. a :class:`ScenarioError`) in red."""
        self.result_label.setText(f'<span style="color:{FAIL_COLOUR}">{message}</span>')

    def show_result(self, report: RunReport, second: Optional[RunReport] = None,
                    labels: Sequence[str] = ('shipped', 'fixed')) -> None:
        """PASS/FAIL, the count of expectations met and each failed one; every expectation as tooltip. With
        ``second`` (a side-by-side run): one line per run, named by ``labels``."""
        if second is not None:
            lines = [f'<b style="color:{verdict_colour(r.passed)}">{verdict_label(r.passed)}'
                     f'</b> {label}: {r.n_passed}/{len(r.expectations)}'
                     for r, label in zip((report, second), labels, strict=False)]
            self.result_label.setText('<br>'.join(lines))
            return
        ok = report.passed
        checks = report.expectations
        lines = [f'<b style="color:{verdict_colour(ok)}">{verdict_label(ok)}</b> '
                 f'{report.n_passed}/{len(checks)} expectations — {report.scenario}']
        for c in report.failed:
            lines.append(f'<span style="color:{FAIL_COLOUR}">✘ {c.name}: expected {c.expected}, got {c.actual}</span>')
        self.result_label.setText('<br>'.join(lines))
        self.result_label.setToolTip('\n'.join(f'{"✔" if c.passed else "✘"} {c.name}: {c.actual}' for c in checks))
