"""The Explore tab: the outcome distribution of a scenario (:mod:`clientsim.simulator.explore`) as a bar chart growing
live.

Runs, seed, ``--vary`` knobs and jobs as in ``clientsim explore``; Explore plays the library's selected scenario
(headless windows, each run on its own embedded server), a progress bar counts runs, Stop ends after the runs
under way. Clicking a bar replays its first seed with the windows on screen (``host.play_scenario``); Shrink
reduces the first failing run (:mod:`clientsim.simulator.shrink`) and adds the ``.min.yaml`` to the library, selected.
"""
from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, Optional

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from clientsim.simulator.coverage import describe, extras
from clientsim.simulator.explore import Exploration, RunResult, outcomes
from clientsim.simulator.outcome import verdict_colour, verdict_label, verdict_rgb
from clientsim.simulator.scenario import ScenarioError
from clientsim.simulator.vary import VaryError

from .panels import fill_with_scrolled


def outcome_legend(rows: list[dict[str, Any]], most: int = 6) -> str:
    """Rich text naming the bars: ``#i share (95 % interval) PASS/FAIL — per window events×[statuses], server
    errors`` for the ``most`` most frequent outcomes (``rows``: :func:`clientsim.simulator.explore.outcomes`)."""
    lines = []
    for i, r in enumerate(rows[:most]):
        outcome = html.escape(r['signature'].rsplit(' | ', 1)[0])
        low, high = r['interval']
        verdict = f'<b style="color:{verdict_colour(r["passed"])}">{verdict_label(r["passed"])}</b>'
        lines.append(f"<b>#{i + 1}</b> {r['share']:.0%} ({low:.0%}–{high:.0%}) {verdict} — {outcome}")
    more = len(rows) - most
    return '<br>'.join(lines) + (f'<br>… and {more} more (hover the chart)' if more > 0 else '')


class ExploreView(QWidget):
    """``ExploreView(host)``; ``host`` is the main window: its ``library`` (selected file, list), ``tasks``
    (a :class:`~simulator.tasks.TaskGroup`) and ``play_scenario(scenario)`` coroutine are used. ``results`` holds
    the :class:`RunResult` of the last exploration, ``rows`` its :func:`~simulator.explore.outcomes`."""

    def __init__(self, host: Any) -> None:
        super().__init__()
        self.host = host
        self.exploration: Optional[Exploration] = None
        self.results: list[RunResult] = []
        self.rows: list[dict[str, Any]] = []
        self.runs_box, self.seed_box, self.jobs_box = QSpinBox(), QSpinBox(), QSpinBox()
        cores = os.cpu_count() or 1
        for box, low, high, value in ((self.runs_box, 1, 100000, 100), (self.seed_box, 0, 2**31 - 1, 0),
                                      (self.jobs_box, 1, 64, min(8, cores))):
            box.setRange(low, high)
            box.setValue(value)
        self.jobs_box.setToolTip(f'runs played at once, each on its own embedded server (default: this machine\'s '
                                 f'{cores} cores, at most 8); more jobs than cores slows every run down and can '
                                 'change the timing the runs see')
        self.vary_edit = QLineEdit()
        self.vary_edit.setPlaceholderText('knobs, e.g. download_ms=0..100 order=shuffle (adds to the file\'s vary:)')
        self.explore_button, self.stop_button = QPushButton('Explore'), QPushButton('Stop')
        self.shrink_button = QPushButton('Shrink first failure')
        self.explore_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.shrink_button.clicked.connect(lambda: self.host.tasks.spawn(self.shrink(), name='shrink'))
        self.stop_button.setEnabled(False)
        self.shrink_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setFormat('%v / %m runs')
        self.status = QLabel('Select a scenario in the library and press Explore. Click a bar to replay it.')
        self.checked_against = QLabel('Checked against the <b>shipped</b> behaviour (the file\'s expectations, '
                                      'NiceGUI 2.11.0): <b>PASS = the bug reproduced</b>, FAIL = this run did not '
                                      'show it.')
        self.checked_against.setWordWrap(True)
        self.checked_against.setStyleSheet('color: #455a64;')
        self.status.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setLabel('left', 'runs')
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.legend = QLabel('')  # what each bar is: its outcome, PASS/FAIL, share and 95 % interval
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        #: distorted runs (left out of the chart) and, when the scenario races, the coverage / pct bound line
        self.extra = QLabel('')
        self.extra.setWordWrap(True)
        row = QHBoxLayout()
        for label, widget in (('runs', self.runs_box), ('seed', self.seed_box), ('jobs', self.jobs_box)):
            row.addWidget(QLabel(label))
            row.addWidget(widget)
        row.addWidget(self.vary_edit, 1)
        buttons = QHBoxLayout()
        for widget in (self.explore_button, self.stop_button, self.shrink_button):
            buttons.addWidget(widget)
        buttons.addWidget(self.progress, 1)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addLayout(row)
        layout.addLayout(buttons)
        layout.addWidget(self.checked_against)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.extra)
        layout.addWidget(self.status)
        fill_with_scrolled(self, content)

    # ---- exploring ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Explore the library's selected scenario (errors go to the status line)."""
        path = self.host.library.current_path()
        if path is None or (self.exploration is not None and not self.exploration.stop_requested
                            and self.stop_button.isEnabled()):
            return
        try:
            self.exploration = Exploration(path, self.vary_edit.text().split())
        except (ScenarioError, VaryError) as e:
            self.status.setText(f'error: {e}')
            return
        self.results, self.rows = [], []
        self.progress.setRange(0, self.runs_box.value())
        self.progress.setValue(0)
        self.explore_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.shrink_button.setEnabled(False)
        self.host.tasks.spawn(self.run(), name='explore')

    async def run(self) -> list[RunResult]:
        """Play the runs (the chart grows after each); returns the results."""
        assert self.exploration is not None
        exploration = self.exploration
        try:
            self.results = await exploration.run(self.runs_box.value(), self.seed_box.value(), self.jobs_box.value(),
                                                 on_result=self._on_result)
        except (RuntimeError, OSError) as e:
            self.status.setText(f'error: the target could not be started: {str(e).splitlines()[0]}')
            return []
        finally:
            self.explore_button.setEnabled(True)
            self.stop_button.setEnabled(False)
        self.rows = outcomes(self.results)
        self._draw()
        failing = sum(not r.passed for r in self.results)
        self.shrink_button.setEnabled(failing > 0)
        distorted = sum(r.distorted for r in self.results)
        apart = f', {distorted} distorted (not in the chart)' if distorted else ''
        self.status.setText(f'{len(self.results)} runs, {len(self.rows)} outcomes, failing {failing}/'
                            f'{len(self.results)}{apart}. Click a bar to replay its first seed.')
        return self.results

    def _on_result(self, result: RunResult, done: int) -> None:
        self.results.append(result)
        self.progress.setValue(done)
        self.rows = outcomes(self.results)
        self._draw()

    def stop(self) -> None:
        """Stop after the runs under way."""
        if self.exploration is not None:
            self.exploration.stop_requested = True
            self.stop_button.setEnabled(False)

    def _draw(self) -> None:
        self.plot.clear()
        if not self.rows:
            return
        xs = list(range(len(self.rows)))
        brushes = [pg.mkBrush(*verdict_rgb(r['passed'])) for r in self.rows]
        self.plot.addItem(pg.BarGraphItem(x=xs, height=[r['count'] for r in self.rows], width=0.7, brushes=brushes))
        self.plot.getAxis('bottom').setTicks([[(i, f"#{i + 1} {r['share']:.0%}") for i, r in enumerate(self.rows)]])
        self.plot.setToolTip('\n'.join(f"#{i + 1}: {r['signature']} (seeds {r['seeds'][:5]})"
                                       for i, r in enumerate(self.rows)))
        self.legend.setText(outcome_legend(self.rows))
        self.extra.setText(self.extra_text())

    def extra_text(self) -> str:
        """``N runs distorted (lag > X ms), not counted`` (the chart leaves them out: they did not play their
        draws; simulator.coverage), then the coverage line and, with pct, the bound line when the runs race."""
        e = self.exploration
        if e is None or not self.results:
            return ''
        extra = extras(self.results, e.lag_tolerance_ms, e.strategy, e.depth)
        lines = [f"{extra['distorted_runs']} runs distorted (lag > {extra['lag_tolerance_ms']:g} ms), not counted"
                 + (f" (worst {extra['max_lag_ms']:.0f} ms)" if extra['distorted_runs'] else '')]
        if extra['coverage']['pairs']:
            lines += [line for line in describe(extra) if line.startswith(('coverage', 'strategy'))]
        return '\n'.join(lines)

    # ---- replay and shrink --------------------------------------------------------------------------------------
    def _clicked(self, event: Any) -> None:
        if not self.rows or self.exploration is None:
            return
        x = self.plot.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
        index = round(x)
        if 0 <= index < len(self.rows) and abs(x - index) <= 0.35:
            self.replay(index)

    def replay(self, index: int) -> None:
        """Replay the first seed of outcome ``index`` with the windows on screen."""
        assert self.exploration is not None
        seed = self.rows[index]['seeds'][0]
        scenario = self.exploration.scenario_for(seed)
        scenario.seed = seed  # the player seeds the GUI server's draws from it
        self.status.setText(f"replaying seed {seed}: {self.rows[index]['signature']}")
        self.host.tasks.spawn(self.host.play_scenario(scenario), name=f'replay seed {seed}')

    async def shrink(self) -> Optional[str]:
        """Shrink the first failing run; the ``.min.yaml`` is added to the library and selected."""
        from clientsim.simulator.shrink import shrink_to_file
        failing = next((r for r in self.results if not r.passed), None)
        if failing is None or self.exploration is None:
            return None
        self.shrink_button.setEnabled(False)
        self.status.setText(f'shrinking seed {failing.seed} …')
        out_dir = None
        from clientsim.simulator.scenario import library_dir
        if Path(self.exploration.path).resolve().parent == library_dir().resolve():  # never into the library
            out_dir = QFileDialog.getExistingDirectory(self, 'Folder for the minimal scenario', str(Path.home()))
            if not out_dir:
                self.shrink_button.setEnabled(True)
                self.status.setText('shrink: no folder chosen (a minimal scenario never goes into the library)')
                return None
        run = self.exploration.scenario_for(failing.seed)
        path = await shrink_to_file(self.exploration.path, run, failing.seed, failing.failed[0],
                                    log=self.status.setText, out_dir=out_dir)
        if path is not None:
            item = QListWidgetItem(path.rsplit('/', 1)[-1].removesuffix('.yaml'))
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.host.library.scenario_list.addItem(item)
            self.host.library.scenario_list.setCurrentItem(item)
            self.status.setText(f'minimal scenario: {path} (selected in the library; Play plays it)')
        self.shrink_button.setEnabled(True)
        return path
