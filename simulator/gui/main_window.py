"""The main window: it composes the views (server box, simulated windows box, scenario library, policy panel,
timeline pane, event log, measurements and models/jobs panels), owns the embedded server and every browser
window, and starts its background work through one :class:`~simulator.tasks.TaskGroup`."""
from __future__ import annotations

import asyncio
import math
from typing import Any, Optional

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QFileDialog, QGroupBox, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from server.app import EmbeddedServer
from server.policy import ServerPolicy
from simulator.browser import SimulatedBrowser
from simulator.scenario import Scenario, ScenarioError, load_scenario
from simulator.tasks import TaskGroup
from simulator.timeline import Timeline

from .browser_window import BrowserWindow
from .event_log import EventLogModel, EventLogView
from .frame_inspector import FrameInspector
from .panels import MeasurementsPanel, ServerStatePanel
from .policy_panel import PolicyPanel
from .scenario_library import ScenarioLibrary
from .server_box import ServerBox
from .throttle import Throttle
from .timeline_view import TimelinePane
from .windows_box import WindowsBox

WINDOW_NAMES = ('alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy')


class MainWindow(QMainWindow):
    """``MainWindow()``; ``await start()`` starts the embedded server; ``await shutdown()`` closes every
    window and stops the server. ``windows`` maps window name → :class:`BrowserWindow`; ``tasks`` is the
    :class:`TaskGroup` of the work it started (its errors go to the status bar)."""

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
        self.tasks = TaskGroup('main window', on_error=self._task_failed)
        self._closing = TaskGroup('main window shutdown', on_error=self._task_failed)  # not cancelled by shutdown
        self._window_counter = 0
        self.last_report: Optional[dict[str, Any]] = None
        self.playing = False
        self._build()

    # ---- layout ---------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.server_box = ServerBox()
        self.windows_box = WindowsBox(self.open_window, self.tile_windows,
                                      lambda: self.tasks.spawn(self.close_all_windows()))
        self.library = ScenarioLibrary(self.play_selected)
        self.policy_panel = PolicyPanel(lambda: self.server.policy, lambda n, v: self.server.set_policy(**{n: v}))
        self.policy_panel.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        policy_box = QGroupBox('Policy: shipped behaviour ↔ fix (live)')
        QVBoxLayout(policy_box).addWidget(self.policy_panel)

        left = QSplitter(Qt.Orientation.Vertical)
        top_left = QWidget()
        tl = QVBoxLayout(top_left)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.server_box)
        tl.addWidget(self.windows_box)
        tl.addWidget(self.library, 1)
        left.addWidget(top_left)
        left.addWidget(policy_box)
        left.setSizes([480, 320])

        self.timeline_pane = TimelinePane(self._export_timeline)
        self.timeline_view = self.timeline_pane.view
        self.timeline_view.attach(self.timeline)
        self.timeline_view.event_clicked.connect(self.select_event)
        self.follow_box = self.timeline_pane.follow_box

        self.log_model = EventLogModel(self)
        self.log_model.attach(self.timeline)
        self.event_log = EventLogView(self.log_model, self.follow_box.isChecked)
        self.log_view = self.event_log.log_view
        self.window_filter, self.kind_filter = self.event_log.window_filter, self.event_log.kind_filter

        self.tabs = QTabWidget()
        self.tabs.addTab(self.event_log, 'Event log')
        self.measurements_panel = MeasurementsPanel(self.timeline)
        self.tabs.addTab(self.measurements_panel, 'Measurements')
        self.state_panel = ServerStatePanel(self.timeline, lambda: self.server.jobs.summary())
        self.tabs.addTab(self.state_panel, 'Models && jobs')
        from .explore_view import ExploreView  # the race explorer (simulator.explore)
        self.explore_view = ExploreView(self)
        self.tabs.addTab(self.explore_view, 'Explore')

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.timeline_pane)
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
                           lambda: self.tasks.spawn(self.close_all_windows()))
        scen_menu = menu.addMenu('&Scenario')
        scen_menu.addAction('Play selected', QKeySequence('Ctrl+P'), self.play_selected)
        scen_menu.addAction('Clear timeline', QKeySequence('Ctrl+K'), self.clear_timeline)

    # ---- helpers --------------------------------------------------------------------------------------------
    def _task_failed(self, exc: BaseException, _task: asyncio.Task) -> None:
        self.statusBar().showMessage(f'error: {type(exc).__name__}: {exc}', 10000)

    def select_event(self, event_index: int) -> None:
        """Select the log row of ``timeline.events[event_index]`` (clears filters that hide it)."""
        row = self.event_log.find_row(event_index)
        if row >= 0:
            self.tabs.setCurrentIndex(0)
            self.follow_box.setChecked(False)
            self.event_log.select_row(row)

    def _update_status(self) -> None:
        self.server_box.show_server(self.server)
        self.event_log.show_count(len(self.timeline.events))
        self.statusBar().showMessage(f'{len(self.windows)} windows · {len(self.timeline.events)} events · '
                                     f'{len(self.server.errors)} server errors')

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
        self.tasks.spawn(browser.open((self.server.url or '') + page), name=f'open {browser.name}')
        return window

    def _on_window_closed_by_user(self, window: BrowserWindow) -> None:
        self.windows.pop(window.browser.name, None)
        self.tasks.spawn(self._close_window(window), name=f'close {window.browser.name}')
        self._update_status()

    def _inspect(self, window: BrowserWindow) -> None:
        inspector = FrameInspector(window.browser, window)
        inspector.show()
        self.inspectors.append(inspector)

    @staticmethod
    async def _close_window(window: BrowserWindow) -> None:
        """Close the browser of ``window``, then cancel what its Qt window still runs."""
        try:
            await window.browser.close()
        finally:
            await window.tasks.cancel_all()

    async def close_all_windows(self) -> None:
        """Close every browser window and its browser (and cancel the window's pending actions)."""
        windows = list(self.windows.values())
        self.windows.clear()
        for w in windows:
            w.close_programmatically()
        await asyncio.gather(*(self._close_window(w) for w in windows), return_exceptions=True)
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
        path = self.library.current_path()
        if path is None or self.playing:
            return
        try:
            scenario = load_scenario(path)
        except ScenarioError as e:
            self.library.show_error(str(e))
            return
        self.tasks.spawn(self.play_scenario(scenario), name='play scenario')

    def _open_scenario_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, 'Open scenario', '', 'Scenarios (*.yaml *.yml)')
        if not path:
            return
        try:
            scenario = load_scenario(path)
        except ScenarioError as e:
            self.library.show_error(str(e))
            return
        self.tasks.spawn(self.play_scenario(scenario), name='play scenario')

    async def play_scenario(self, scenario: Scenario) -> dict[str, Any]:
        """Close the windows, restart the server with the scenario's policy, play it with a Qt window per
        browser, and show the result; returns the report."""
        from simulator.player import ScenarioPlayer
        self.playing = True
        self.library.play_button.setEnabled(False)
        progress = self.library.scenario_progress
        try:
            await self.close_all_windows()
            await self.restart_server(scenario.policy)
            steps = scenario.parsed_steps
            self.library.start(scenario.name, scenario.path, len(steps))
            player = ScenarioPlayer(scenario, server=self.server, on_window=self.adopt_browser,
                                    on_step=lambda _s, i, _n: progress.setValue(i))
            report = await player.run()
            progress.setValue(len(steps))
            self.last_report = report
            self.library.show_result(report)
            if any(e.kind == 'models' or e.kind.startswith('job_') for e in self.timeline.events):
                self.tabs.setCurrentWidget(self.state_panel)  # problems 4 and 5 show their evidence there
            return report
        finally:
            self.playing = False
            self.library.play_button.setEnabled(True)
            self.log_model.flush()
            self.timeline_view.redraw()
            self._update_status()

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
        await self.tasks.cancel_all()  # shutdown itself runs outside self.tasks (see closeEvent)
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
                task = self._closing.spawn(self.shutdown(), name='shutdown')
                task.add_done_callback(lambda _t: self.close())
            return
        super().closeEvent(event)
