"""The main window: server URL and state, live policy switches, "open window" buttons, the scenario library
with Play, the timeline view and the event log. It owns the embedded server and every browser window."""
from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any, Optional

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMainWindow, QProgressBar, QPushButton, QSplitter, QTableView,
                               QTabWidget, QVBoxLayout, QWidget)

from server.app import EmbeddedServer
from server.policy import ServerPolicy
from simulator.browser import SimulatedBrowser
from simulator.scenario import Scenario, ScenarioError, library, load_scenario
from simulator.timeline import Timeline

from .browser_window import BrowserWindow
from .event_log import EventLogModel
from .frame_inspector import FrameInspector
from .panels import MeasurementsPanel, ServerStatePanel
from .policy_panel import PolicyPanel
from .throttle import Throttle
from .timeline_view import TimelineView

WINDOW_NAMES = ('alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy')
ALL = 'all'


class MainWindow(QMainWindow):
    """``MainWindow()``; ``await start()`` starts the embedded server; ``await shutdown()`` closes every
    window and stops the server. ``windows`` maps window name → :class:`BrowserWindow`."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle('clientsim — multi-client web UI lab')
        self.resize(1280, 800)
        self.timeline = Timeline()
        self.server = EmbeddedServer(ServerPolicy(), self.timeline)
        self.windows: dict[str, BrowserWindow] = {}
        self.inspectors: list[FrameInspector] = []
        self.closed = asyncio.Event()
        self._shutting_down = False
        self._tasks: set[asyncio.Task] = set()
        self._window_counter = 0
        self.last_report: Optional[dict[str, Any]] = None
        self.playing = False
        self._build()

    # ---- layout ---------------------------------------------------------------------------------------------
    def _build(self) -> None:
        # server box
        self.url_label = QLabel('—')
        self.url_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state_label = QLabel('stopped')
        server_box = QGroupBox('Embedded server')
        sl = QVBoxLayout(server_box)
        row = QHBoxLayout()
        row.addWidget(self.state_label)
        row.addWidget(self.url_label, 1)
        sl.addLayout(row)
        self.errors_label = QLabel('server errors: 0')
        sl.addWidget(self.errors_label)

        # windows box
        windows_box = QGroupBox('Simulated windows')
        wl = QVBoxLayout(windows_box)
        self.open_auto_button = QPushButton('Open window on the auto-index  (Ctrl+N)')
        self.open_auto_button.setToolTip('A new simulated browser on "/" — shared by every window (one client_id)')
        self.open_auto_button.clicked.connect(lambda: self.open_window('/'))
        self.open_private_button = QPushButton('Open window on a private page  (Ctrl+Shift+N)')
        self.open_private_button.setToolTip('A new simulated browser on "/private" — a new client per page load')
        self.open_private_button.clicked.connect(lambda: self.open_window('/private'))
        self.tile_button = QPushButton('Tile windows  (Ctrl+T)')
        self.tile_button.clicked.connect(self.tile_windows)
        self.close_all_button = QPushButton('Close all windows  (Ctrl+Shift+W)')
        self.close_all_button.clicked.connect(lambda: self._spawn(self.close_all_windows()))
        for w in (self.open_auto_button, self.open_private_button):
            wl.addWidget(w)
        row = QHBoxLayout()
        row.addWidget(self.tile_button)
        row.addWidget(self.close_all_button)
        wl.addLayout(row)

        # scenario library
        scen_box = QGroupBox('Scenario library')
        scl = QVBoxLayout(scen_box)
        self.scenario_list = QListWidget()
        self.scenario_list.itemDoubleClicked.connect(lambda _item: self.play_selected())
        for path in library():
            try:
                scenario = load_scenario(path)
                item = QListWidgetItem(path.stem)
                item.setToolTip(f'{scenario.name}\n\n{scenario.description}\npolicy: {scenario.policy_summary()}')
            except ScenarioError as e:
                item = QListWidgetItem(f'⚠ {path.stem}')
                item.setToolTip(str(e))
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            self.scenario_list.addItem(item)
        if self.scenario_list.count():
            self.scenario_list.setCurrentRow(0)
        self.play_button = QPushButton('▶ Play  (Ctrl+P)')
        self.play_button.clicked.connect(self.play_selected)
        self.scenario_progress = QProgressBar()
        self.scenario_progress.setFormat('%v / %m steps')
        self.scenario_progress.setValue(0)
        self.result_label = QLabel('')
        self.result_label.setWordWrap(True)
        self.result_label.setTextFormat(Qt.TextFormat.RichText)
        scl.addWidget(self.scenario_list, 1)
        row = QHBoxLayout()
        row.addWidget(self.play_button)
        row.addWidget(self.scenario_progress, 1)
        scl.addLayout(row)
        scl.addWidget(self.result_label)

        # policy
        self.policy_panel = PolicyPanel(lambda: self.server.policy, lambda n, v: self.server.set_policy(**{n: v}))
        self.policy_panel.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        policy_box = QGroupBox('Policy: shipped behaviour ↔ fix (live)')
        QVBoxLayout(policy_box).addWidget(self.policy_panel)

        left = QSplitter(Qt.Orientation.Vertical)
        top_left = QWidget()
        tl = QVBoxLayout(top_left)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(server_box)
        tl.addWidget(windows_box)
        tl.addWidget(scen_box, 1)
        left.addWidget(top_left)
        left.addWidget(policy_box)
        left.setSizes([480, 320])

        # timeline + log
        self.timeline_view = TimelineView()
        self.timeline_view.attach(self.timeline)
        self.timeline_view.event_clicked.connect(self.select_event)
        self.timeline_view.plot.getViewBox().sigRangeChangedManually.connect(
            lambda *_: self.follow_box.setChecked(False))
        self.follow_box = QCheckBox('Follow live')
        self.follow_box.setChecked(True)
        self.follow_box.toggled.connect(self._set_follow)
        export_button = QPushButton('Export timeline…')
        export_button.clicked.connect(self._export_timeline)
        timeline_box = QWidget()
        tbl = QVBoxLayout(timeline_box)
        tbl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        title = QLabel('<b>Timeline</b> — one lane per window; wheel to zoom, drag to pan, click a marker to '
                       'find its log row')
        row.addWidget(title, 1)
        row.addWidget(self.follow_box)
        row.addWidget(export_button)
        tbl.addLayout(row)
        tbl.addWidget(self.timeline_view, 1)

        self.log_model = EventLogModel(self)
        self.log_model.attach(self.timeline)
        self.log_view = QTableView()
        self.log_view.setModel(self.log_model)
        self.log_view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.log_view.verticalHeader().setVisible(False)
        self.log_view.verticalHeader().setDefaultSectionSize(20)
        self.log_view.horizontalHeader().setStretchLastSection(True)
        for col, width in enumerate((80, 70, 160, 170, 75)):
            self.log_view.setColumnWidth(col, width)
        self.log_model.rows_appended.connect(self._autoscroll_log)
        self.window_filter = QComboBox()
        self.kind_filter = QComboBox()
        self.window_filter.addItem(ALL)
        self.kind_filter.addItem(ALL)
        self.log_model.sources_changed.connect(lambda: self._sync_combo(self.window_filter, self.log_model.sources))
        self.log_model.kinds_changed.connect(lambda: self._sync_combo(self.kind_filter, sorted(self.log_model.kinds)))
        self.window_filter.currentTextChanged.connect(self._apply_log_filter)
        self.kind_filter.currentTextChanged.connect(self._apply_log_filter)
        log_box = QWidget()
        lbl = QVBoxLayout(log_box)
        lbl.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel('Window:'))
        row.addWidget(self.window_filter)
        row.addWidget(QLabel('Kind:'))
        row.addWidget(self.kind_filter)
        row.addStretch(1)
        self.log_count = QLabel('')
        row.addWidget(self.log_count)
        lbl.addLayout(row)
        lbl.addWidget(self.log_view, 1)

        self.tabs = QTabWidget()
        self.tabs.addTab(log_box, 'Event log')
        self.measurements_panel = MeasurementsPanel(self.timeline)
        self.tabs.addTab(self.measurements_panel, 'Measurements')
        self.state_panel = ServerStatePanel(self.timeline, lambda: self.server.jobs.summary())
        self.tabs.addTab(self.state_panel, 'Models && jobs')

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(timeline_box)
        right.addWidget(self.tabs)
        right.setSizes([330, 470])

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setSizes([380, 900])
        main.setStretchFactor(1, 1)
        self.setCentralWidget(main)

        self._status_throttle = Throttle(self._update_status, 200, self)
        self.timeline.subscribe(lambda _e: self._status_throttle())
        self._build_menu()
        self._update_status()

    def _build_menu(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu('&File')
        file_menu.addAction('Open scenario…', QKeySequence.StandardKey.Open, self._open_scenario_file)
        file_menu.addAction('Export timeline (PNG/SVG)…', QKeySequence('Ctrl+E'), self._export_timeline)
        file_menu.addAction('Export events (JSON lines)…', QKeySequence('Ctrl+Shift+E'), self._export_events)
        file_menu.addSeparator()
        file_menu.addAction('Quit', QKeySequence.StandardKey.Quit, self.close)
        win_menu = menu.addMenu('&Windows')
        win_menu.addAction('Open on the auto-index', QKeySequence('Ctrl+N'), lambda: self.open_window('/'))
        win_menu.addAction('Open on a private page', QKeySequence('Ctrl+Shift+N'),
                           lambda: self.open_window('/private'))
        win_menu.addAction('Tile windows', QKeySequence('Ctrl+T'), self.tile_windows)
        win_menu.addAction('Close all windows', QKeySequence('Ctrl+Shift+W'),
                           lambda: self._spawn(self.close_all_windows()))
        scen_menu = menu.addMenu('&Scenario')
        scen_menu.addAction('Play selected', QKeySequence('Ctrl+P'), self.play_selected)
        scen_menu.addAction('Clear timeline', QKeySequence('Ctrl+K'), self.clear_timeline)

    # ---- helpers --------------------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.statusBar().showMessage(f'error: {type(task.exception()).__name__}: {task.exception()}', 10000)

    @staticmethod
    def _sync_combo(combo: QComboBox, values: list[str]) -> None:
        have = {combo.itemText(i) for i in range(combo.count())}
        for v in values:
            if v not in have:
                combo.addItem(v)

    def _apply_log_filter(self) -> None:
        w, k = self.window_filter.currentText(), self.kind_filter.currentText()
        self.log_model.set_filter(None if w in (ALL, '') else w, None if k in (ALL, '') else k)

    def _autoscroll_log(self) -> None:
        if self.follow_box.isChecked():
            self.log_view.scrollToBottom()

    def _set_follow(self, on: bool) -> None:
        self.timeline_view.follow = on
        if on:
            self.timeline_view.redraw()

    def select_event(self, event_index: int) -> None:
        """Select the log row of ``timeline.events[event_index]`` (clears filters that hide it)."""
        self.log_model.flush()
        row = self.log_model.row_of_event_index(event_index)
        if row < 0:
            self.window_filter.setCurrentText(ALL)
            self.kind_filter.setCurrentText(ALL)
            row = self.log_model.row_of_event_index(event_index)
        if row >= 0:
            self.tabs.setCurrentIndex(0)
            self.follow_box.setChecked(False)
            self.log_view.selectRow(row)
            self.log_view.scrollTo(self.log_model.index(row, 0))

    def _update_status(self) -> None:
        running = self.server.running
        self.state_label.setText('<span style="color:#2e7d32">●</span> running' if running
                                 else '<span style="color:#9e9e9e">●</span> stopped')
        self.url_label.setText(self.server.url or '—')
        n_err = len(self.server.errors)
        self.errors_label.setText(f'server errors: <b style="color:{"#c62828" if n_err else "#2e7d32"}">{n_err}</b>'
                                  + (f' ({", ".join(sorted({e["type"] for e in self.server.errors}))})' if n_err else '')
                                  + f'  ·  clients alive: {len(self.server.registry.instances)}')
        self.log_count.setText(f'{self.log_model.rowCount()} of {len(self.timeline.events)} events')
        self.statusBar().showMessage(f'{len(self.windows)} windows · {len(self.timeline.events)} events · '
                                     f'{n_err} server errors')

    # ---- server ---------------------------------------------------------------------------------------------
    async def start(self) -> str:
        """Start the embedded server; returns its URL."""
        url = await self.server.start()
        self._update_status()
        return url

    async def restart_server(self, policy: ServerPolicy) -> None:
        """Stop the server, clear the timeline, start again with ``policy`` (a fresh client registry)."""
        await self.server.stop()
        self.server.errors.clear()
        self.clear_timeline()
        self.server.policy = policy.model_copy()
        await self.server.start()
        self.policy_panel.refresh()
        self._update_status()

    def clear_timeline(self) -> None:
        """Empty the timeline, the log and the timeline view."""
        self.timeline.clear()
        self.log_model.refilter()
        self.timeline_view.reset()
        self.timeline_view.redraw()
        self.state_panel.refresh()

    # ---- windows --------------------------------------------------------------------------------------------
    def _next_name(self) -> str:
        while True:
            n = self._window_counter
            self._window_counter += 1
            name = WINDOW_NAMES[n] if n < len(WINDOW_NAMES) else f'w{n + 1}'
            if name not in self.windows:
                return name

    def adopt_browser(self, browser: SimulatedBrowser) -> BrowserWindow:
        """Create, place and show the Qt window of ``browser``."""
        window = BrowserWindow(browser, base_url=lambda: self.server.url)
        window.closed_by_user.connect(self._on_window_closed_by_user)
        window.inspect_requested.connect(self._inspect)
        self.windows[browser.name] = window
        index = len(self.windows) - 1
        window.move(60 + 30 * (index % 10), 60 + 30 * (index % 10))
        window.show()
        self._update_status()
        return window

    def open_window(self, page: str) -> BrowserWindow:
        """Open a new simulated browser window on ``page`` (``/`` or ``/private``) of the embedded server."""
        browser = SimulatedBrowser(self._next_name(), self.timeline)
        window = self.adopt_browser(browser)
        self._spawn(browser.open((self.server.url or '') + page))
        return window

    def _on_window_closed_by_user(self, window: BrowserWindow) -> None:
        self.windows.pop(window.browser.name, None)
        self._spawn(window.browser.close())
        self._update_status()

    def _inspect(self, window: BrowserWindow) -> None:
        inspector = FrameInspector(window.browser, window)
        inspector.show()
        self.inspectors.append(inspector)

    async def close_all_windows(self) -> None:
        """Close every browser window and its browser."""
        windows = list(self.windows.values())
        self.windows.clear()
        for w in windows:
            w.close_programmatically()
        await asyncio.gather(*(w.browser.close() for w in windows), return_exceptions=True)
        self._window_counter = 0
        self._update_status()

    def tile_windows(self) -> None:
        """Arrange all browser windows in a grid on the screen's available area."""
        windows = list(self.windows.values())
        if not windows:
            return
        screen = (self.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        cols = math.ceil(math.sqrt(len(windows)))
        rows = math.ceil(len(windows) / cols)
        w, h = max(screen.width() // cols, 200), max(screen.height() // rows, 160)
        for i, window in enumerate(windows):
            r, c = divmod(i, cols)
            window.setGeometry(QRect(screen.x() + c * w, screen.y() + r * h, w, h))
            window.raise_()

    # ---- scenarios ------------------------------------------------------------------------------------------
    def play_selected(self) -> None:
        """Play the scenario selected in the library."""
        item = self.scenario_list.currentItem()
        if item is None or self.playing:
            return
        try:
            scenario = load_scenario(item.data(Qt.ItemDataRole.UserRole))
        except ScenarioError as e:
            self.result_label.setText(f'<span style="color:#c62828">{e}</span>')
            return
        self._spawn(self.play_scenario(scenario))

    def _open_scenario_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, 'Open scenario', '', 'Scenarios (*.yaml *.yml)')
        if not path:
            return
        try:
            scenario = load_scenario(path)
        except ScenarioError as e:
            self.result_label.setText(f'<span style="color:#c62828">{e}</span>')
            return
        self._spawn(self.play_scenario(scenario))

    async def play_scenario(self, scenario: Scenario) -> dict[str, Any]:
        """Close the windows, restart the server with the scenario's policy, play it with a Qt window per
        browser, and show the result; returns the report."""
        from simulator.player import ScenarioPlayer
        self.playing = True
        self.play_button.setEnabled(False)
        try:
            await self.close_all_windows()
            await self.restart_server(scenario.policy)
            for i in range(self.scenario_list.count()):
                item = self.scenario_list.item(i)
                if scenario.path and Path(item.data(Qt.ItemDataRole.UserRole)).resolve() == Path(scenario.path).resolve():
                    self.scenario_list.setCurrentRow(i)
            self.result_label.setText(f'playing <b>{scenario.name}</b>…')
            steps = scenario.parsed_steps
            self.scenario_progress.setRange(0, max(len(steps), 1))
            self.scenario_progress.setValue(0)
            player = ScenarioPlayer(scenario, server=self.server, on_window=self.adopt_browser,
                                    on_step=lambda _s, i, _n: self.scenario_progress.setValue(i))
            report = await player.run()
            self.scenario_progress.setValue(len(steps))
            self.last_report = report
            self._show_result(report)
            if any(e.kind == 'models' or e.kind.startswith('job_') for e in self.timeline.events):
                self.tabs.setCurrentWidget(self.state_panel)  # problems 4 and 5 show their evidence there
            return report
        finally:
            self.playing = False
            self.play_button.setEnabled(True)
            self.log_model.flush()
            self.timeline_view.redraw()
            self._update_status()

    def _show_result(self, report: dict[str, Any]) -> None:
        ok = report['passed']
        checks = report['expectations']
        lines = [f'<b style="color:{"#2e7d32" if ok else "#c62828"}">{"PASS" if ok else "FAIL"}</b> '
                 f'{sum(c["passed"] for c in checks)}/{len(checks)} expectations — {report["scenario"]}']
        for c in checks:
            if not c['passed']:
                lines.append(f'<span style="color:#c62828">✘ {c["name"]}: expected {c["expected"]}, '
                             f'got {c["actual"]}</span>')
        self.result_label.setText('<br>'.join(lines))
        self.result_label.setToolTip('\n'.join(f'{"✔" if c["passed"] else "✘"} {c["name"]}: {c["actual"]}'
                                               for c in checks))

    # ---- export ---------------------------------------------------------------------------------------------
    def _export_timeline(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, 'Export timeline', 'timeline.png', 'PNG (*.png);;SVG (*.svg)')
        if path:
            try:
                self.timeline_view.export(path)
                self.statusBar().showMessage(f'timeline saved to {path}', 5000)
            except (OSError, ValueError) as e:
                self.statusBar().showMessage(f'export failed: {e}', 10000)

    def _export_events(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, 'Export events', 'events.jsonl', 'JSON lines (*.jsonl)')
        if path:
            try:
                self.timeline.write_jsonl(path)
                self.statusBar().showMessage(f'{len(self.timeline.events)} events saved to {path}', 5000)
            except OSError as e:
                self.statusBar().showMessage(f'export failed: {e}', 10000)

    # ---- shutdown -------------------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Close every window and inspector, stop the server, stop listening to the timeline. Idempotent."""
        if self._shutting_down:
            return
        self._shutting_down = True
        for inspector in self.inspectors:
            inspector.close()
        await self.close_all_windows()
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*(t for t in self._tasks if t is not asyncio.current_task()), return_exceptions=True)
        await self.server.stop()
        self.log_model.detach()
        self.timeline_view.detach()
        self.measurements_panel.detach()
        self.state_panel.detach()
        self.closed.set()

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        if not self.closed.is_set():
            event.ignore()
            if not self._shutting_down:
                task = asyncio.ensure_future(self.shutdown())
                task.add_done_callback(lambda _t: self.close())
            return
        super().closeEvent(event)
