"""The main window: it composes the views (server box, simulated windows box, scenario library, policy panel,
the windows area (:class:`~simulator.gui.workspace.Workspace`), timeline pane, event log, measurements and
models/jobs panels, and the bug ⇄ fix :class:`~simulator.gui.compare_view.CompareView`), owns the embedded
server and every browser window, and starts its background work through one :class:`~simulator.tasks.TaskGroup`.
Its menu shortcuts are application-wide (``Qt.ApplicationShortcut``): Ctrl+N works in a detached window too."""
from __future__ import annotations

import asyncio
import time
import urllib.parse
from typing import Any, Optional

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QGroupBox,
    QLabel,
    QMainWindow,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from clientsim.server.app import EmbeddedServer
from clientsim.server.policy import ServerPolicy
from clientsim.simulator.browser import Latency, SimulatedBrowser
from clientsim.simulator.lab import Lab
from clientsim.simulator.run_report import RunReport
from clientsim.simulator.tasks import TaskGroup
from clientsim.simulator.timeline import Timeline

from .browser_window import BrowserWindow
from .compare_view import CompareView
from .event_log import EventLogModel, EventLogView
from .frame_inspector import FrameInspector
from .menus import build_menus
from .panels import MeasurementsPanel, ServerStatePanel, export_timeline_dialog, give_tab_room
from .playback import ScenarioPlayback
from .policy_panel import PolicyPanel
from .scenario_library import ScenarioLibrary
from .server_box import ServerBox
from .sessions import RunRecord, RunsPanel, verdict_text
from .throttle import GcFreezer, Throttle
from .timeline_pane import TimelinePane
from .windows_box import WindowsBox, race_demo
from .workspace import Workspace

WINDOW_NAMES = ('alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy')


class MainWindow(ScenarioPlayback, QMainWindow):
    """``MainWindow()``; ``await start()`` starts the embedded server; ``await shutdown()`` closes every
    window and stops the server. ``windows`` maps window name → :class:`BrowserWindow`; ``tasks`` is the
    :class:`TaskGroup` of the work it started (its errors go to the status bar)."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle('clientsim — multi-client web UI lab')
        screen = QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else None
        self.resize(min(1500, room.width()) if room else 1500, min(940, room.height()) if room else 940)
        self.setMinimumWidth(900)
        self.timeline = Timeline()
        self.server = EmbeddedServer(ServerPolicy(), self.timeline)
        #: the manual session's lab: this server and the windows a person opens (simulator.lab)
        self.lab = Lab(server=self.server, on_window=self.adopt_browser)
        self.windows: dict[str, BrowserWindow] = {}
        self.inspectors: list[FrameInspector] = []
        self.closed = asyncio.Event()
        self._shutting_down = False
        self.tasks = TaskGroup('main window', on_error=self._task_failed)
        self._closing = TaskGroup('main window shutdown', on_error=self._task_failed)  # not cancelled by shutdown
        self._window_counter = 0
        self._pending_closes: set[asyncio.Future] = set()
        self.last_report: Optional[RunReport] = None
        self.playing = False
        self.target: Any = None  # the ExternalTarget of the last scenario with ``target:`` (target mode)
        #: the current session (see simulator.gui.sessions): its title, wall-clock start and verdict
        self.session_title, self.session_started, self.session_verdict = 'no session yet', time.time(), ''
        self._build()

    # ---- layout ---------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.server_box = ServerBox()
        self.windows_box = WindowsBox(self.open_window, self.tile_windows,
                                      lambda: self.tasks.spawn(self.close_all_windows()),
                                      lambda: self.tasks.spawn(self.race_demo(), name='race demo'))
        self.library = ScenarioLibrary(self.play_selected, self.play_selected_side_by_side)
        self.policy_panel = PolicyPanel(lambda: self.server.policy, lambda n, v: self.server.set_policy(**{n: v}))
        self.policy_panel.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        policy_box = QGroupBox('Policy in force (live): shipped behaviour ↔ fix')
        QVBoxLayout(policy_box).addWidget(self.policy_panel)

        left = QSplitter(Qt.Orientation.Vertical)
        top_left = QWidget()
        tl = QVBoxLayout(top_left)
        tl.setContentsMargins(0, 0, 0, 0)
        tl.addWidget(self.server_box)
        tl.addWidget(self.windows_box)
        tl.addWidget(self.library, 1)
        top_scroll = QScrollArea()
        top_scroll.setWidgetResizable(True)
        top_scroll.setWidget(top_left)
        top_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # never sideways: the pane is as wide as its widest row needs (plus a vertical scrollbar)
        top_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        top_scroll.setMinimumWidth(top_left.minimumSizeHint().width()
                                   + top_scroll.verticalScrollBar().sizeHint().width() + 4)
        left.addWidget(top_scroll)
        left.addWidget(policy_box)
        left.setSizes([560, 340])
        self.left_pane, self.left_scroll = left, top_scroll
        self.workspace = Workspace('Windows')

        self.timeline_pane = TimelinePane(lambda: export_timeline_dialog(self, self.timeline_view))
        self.timeline_view = self.timeline_pane.view
        self.timeline_view.attach(self.timeline)
        self.timeline_view.page_of = self._page_of
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
        self.runs_panel = RunsPanel(lambda: f'{self.session_title} {self.session_verdict}')
        self.tabs.addTab(self.runs_panel, 'Runs')
        self.run_header = QLabel()  # the current session and its verdict, above the windows
        self.run_header.setTextFormat(Qt.TextFormat.RichText)
        self.run_header.setWordWrap(True)
        self.run_header.setStyleSheet('padding: 2px 4px; background: #eceff1; border-radius: 3px;')

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.workspace)
        split.addWidget(self.timeline_pane)
        split.addWidget(self.tabs)
        self.timeline_pane.setMinimumHeight(230)  # the lanes stay readable at 1024×700
        split.setSizes([420, 300, 220])
        for i, stretch in enumerate((4, 3, 2)):
            split.setStretchFactor(i, stretch)
        self.tabs.currentChanged.connect(lambda _index: give_tab_room(split, self.tabs))
        live = QWidget()
        live_layout = QVBoxLayout(live)
        live_layout.setContentsMargins(0, 0, 0, 0)
        live_layout.addWidget(self.run_header)
        live_layout.addWidget(split, 1)
        self._show_run_header()
        self.compare = CompareView()
        self.compare.back_button.clicked.connect(self.show_live)
        self.right = QStackedWidget()
        self.right.addWidget(live)
        self.right.addWidget(self.compare)
        self.right.setMinimumWidth(400)

        main = QSplitter(Qt.Orientation.Horizontal)
        main.addWidget(left)
        main.addWidget(self.right)
        main.setSizes([max(380, self.width() // 3), self.width() - max(380, self.width() // 3)])
        main.setStretchFactor(1, 1)
        main.setChildrenCollapsible(False)
        self.setCentralWidget(main)

        self._gc_freezer = GcFreezer(lambda: len(self.timeline.events), self)
        self._status_throttle = Throttle(self._update_status, 200, self)
        self._unsubscribe = self._subscribe_main(self.timeline)
        build_menus(self)  # File, Windows, Scenario, Policy, View, Help (simulator.gui.menus)
        self._update_status()

    def open_bisect(self) -> QDialog:
        """Scenario ▸ Bisect NiceGUI releases…: the dialog, on the library's selected file (a target scenario)."""
        from .bisect_view import BisectDialog
        path = self.library.current_path()
        self.bisect_dialog = BisectDialog(self, str(path) if path else None)
        self.bisect_dialog.show()
        return self.bisect_dialog

    # ---- helpers --------------------------------------------------------------------------------------------
    def _page_of(self, name: str) -> str:
        url = self.windows[name].browser.url if name in self.windows else None
        return urllib.parse.urlsplit(url).path or '/' if url else 'no page'

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
        if self.target is not None:
            errors = self.target.error_counts()
            self.server_box.show_target(self.target.describe(), self.playing, errors)
            n_errors = sum(errors.values())
        else:
            self.server_box.show_server(self.server)
            n_errors = len(self.server.errors)
        self.event_log.show_count()
        compared = sum(len(p.workspace.windows) for p in self.compare.panes)  # side by side's own windows
        shown = f'{len(self.windows)} windows' + (f' live · {compared} side by side' if compared else '')
        self.statusBar().showMessage(f'{shown} · {len(self.timeline.events)} events · '
                                     f'{n_errors} server errors'
                                     + (' (target app)' if self.target is not None else ''))

    # ---- server ---------------------------------------------------------------------------------------------
    async def start(self) -> str:
        """Start the embedded server; returns its URL."""
        url = await self.lab.start()
        self._update_status()
        return url

    async def restart_server(self, policy: ServerPolicy, title: str = 'scenario run') -> None:
        """Stop the server, start a new session called ``title`` (:meth:`new_session`: the current one goes to
        the run list), start again with ``policy`` (a fresh client registry)."""
        await self.server.stop()
        self.server.errors.clear()
        self.new_session(title)
        self.server.policy = policy.model_copy()
        self.lab.url = await self.server.start()
        self.policy_panel.refresh()
        self._update_status()

    def clear_timeline(self) -> None:
        """Empty the timeline, the log, the timeline view and Measurements (Ctrl+K; not archived)."""
        self.timeline.clear()
        self.log_model.refilter()
        self.timeline_view.reset()
        self.timeline_view.redraw()
        self.state_panel.refresh()
        self.measurements_panel.refresh()

    def _subscribe_main(self, timeline: Timeline) -> Any:
        gc_off = timeline.subscribe(lambda _e: self._gc_freezer.note())
        status_off = timeline.subscribe(lambda _e: self._status_throttle())
        return lambda: (gc_off(), status_off())

    def new_session(self, title: str) -> None:
        """Archive the current session in the run list (when it has events), then start session ``title``
        on a NEW timeline (t = 0 = now) that the server, the lab and every view follow: the timeline, lanes, log
        and Measurements show only it, and what the earlier session's windows still record while they close
        goes to that session's own (archived) timeline."""
        old = self.timeline
        if old.events:
            self.runs_panel.add(RunRecord(self.session_title, self.session_started, old.t0_ns, old.events,
                                          self.session_verdict))
        self.session_title, self.session_started, self.session_verdict = title, time.time(), ''
        self.show_timeline(Timeline())
        self.runs_panel.refresh()
        self._show_run_header()
        self._update_status()

    def show_timeline(self, timeline: Timeline) -> None:
        """Make ``timeline`` the live one: the server and the lab record into it, every view shows it."""
        self._unsubscribe()
        self.timeline = self.server.timeline = self.lab.timeline = timeline
        self._unsubscribe = self._subscribe_main(timeline)
        self.log_model.attach(timeline)
        self.timeline_view.attach(timeline)
        self.measurements_panel.attach(timeline)
        self.state_panel.attach(timeline)

    def set_verdict(self, report: Optional[dict[str, Any]]) -> None:
        """The current session's verdict (:func:`~simulator.gui.sessions.verdict_text` of ``report``) in the run
        header and the run list."""
        self.set_verdict_text(verdict_text(report))

    def set_verdict_text(self, verdict: str) -> None:
        """Show ``verdict`` (``PASS 4/4``, ``TIMING DISTORTED …``, ``''``) in the run header and run list."""
        self.session_verdict = verdict
        self.runs_panel.refresh()
        self._show_run_header()

    def _show_run_header(self) -> None:
        verdict = self.session_verdict
        colour = ('#ef6c00' if verdict.startswith('TIMING') else '#2e7d32' if verdict.startswith('PASS')
                  else '#c62828')
        shown = f' — <b style="color:{colour}">{verdict}</b>' if verdict else ''
        self.run_header.setText(f'<b>Run:</b> {self.session_title}{shown}')

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
        self.workspace.add(window)
        self._update_status()
        return window

    def open_window(self, page: str, name: Optional[str] = None, latency: Optional[Latency] = None, *,
                    fresh_session: bool = True) -> BrowserWindow:
        """Open a new simulated browser window on ``page`` (``/`` or ``/private``) of the embedded server, named
        ``name`` (else the next free name), with ``latency`` (ms; else the defaults of the windows box). The first
        window after all were closed starts a new manual session (t = 0 = now; the previous session goes to the
        run list) unless ``fresh_session`` is False (a loaded session reopening its windows)."""
        if not self.windows and not self.playing and fresh_session:
            self._start_manual_session()
        defaults = self.windows_box.default_latency
        latency = latency or Latency(page_get_ms=defaults.page_get_ms, handshake_ms=defaults.handshake_ms,
                                         download_ms=defaults.download_ms)
        browser = self.lab.add(name or self._next_name(), latency)  # adopt_browser makes its Qt window
        self.tasks.spawn(browser.open(self.lab.url_for(page)), name=f'open {browser.name}')
        return self.windows[browser.name]

    def open_chromium_window(self, page: str = '/') -> Optional[BrowserWindow]:
        """Open a real headless Chromium tab (:class:`~clientsim.simulator.chromium.ChromiumWindow`) on ``page`` of
        the target app of the last target scenario, beside the simulated windows and on the same timeline; returns
        its Qt window, or None (with a status message) when Chromium is missing or no target app runs: the embedded
        server's pages carry no nicegui.js, so a real browser would load them but never connect."""
        from clientsim.simulator.chromium import missing_reason
        reason = missing_reason()
        url = self.target.url if self.target is not None and self.target.url else None
        if reason is None and url is None:
            reason = 'a real tab needs a real app: play a target scenario (e.g. real/chromium_download_race_2_11.yaml)'
        if reason is not None:
            self.statusBar().showMessage(f'Chromium window: {reason}', 15000)
            return None
        browser = self.lab.add(self._next_name(), browser='chromium')  # adopt_browser makes its Qt window
        self.tasks.spawn(browser.open(url.rstrip('/') + page), name=f'open {browser.name} (Chromium)')
        return self.windows[browser.name]

    def _start_manual_session(self) -> None:
        """A new session (:meth:`new_session`; the previous one goes to the run list) whose t = 0 is now;
        Follow live goes on."""
        self.target = None  # back from target mode: the embedded server serves the windows again
        self.policy_panel.set_disabled_reason(None)
        self.new_session('manual session')
        self.timeline_view.from_first_action = True
        self.timeline_view.title = 'clientsim timeline — manual session'
        self.follow_box.setChecked(True)
        self.timeline_view.redraw()

    async def race_demo(self) -> list[BrowserWindow]:
        """Close the windows, then :func:`~simulator.gui.windows_box.race_demo`; returns alice, bob, carol."""
        await self.close_all_windows()
        windows = await race_demo(self.open_window)
        self.statusBar().showMessage('race demo: bob clicked Download; alice 0 ms, bob 50 ms, carol 100 ms', 10000)
        return windows

    def _on_window_closed_by_user(self, window: BrowserWindow) -> None:
        self.windows.pop(window.browser.name, None)
        self.lab.forget(window.browser.name)
        self.workspace.remove(window)
        window.setParent(None)
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
        for name in list(self.lab.windows):
            self.lab.forget(name)
        self.workspace.clear()
        for w in windows:
            w.close_programmatically()
            w.setParent(None)  # out of the windows area; Python frees it with the last reference
        closing = asyncio.ensure_future(asyncio.gather(*(self._close_window(w) for w in windows),
                                                       return_exceptions=True))
        self._pending_closes.add(closing)
        closing.add_done_callback(self._pending_closes.discard)
        await asyncio.gather(*self._pending_closes, return_exceptions=True)  # earlier closes too: a new session
        self._window_counter = 0                                             # starts after the old one ended
        self._update_status()

    def tile_windows(self) -> None:
        """Dock every detached browser window back into the windows area (which lays them out) and show it."""
        self.workspace.dock_all()
        self.show_live()

    def show_live(self) -> None:
        """Show the live workspace (windows, timeline, log) instead of the side-by-side view."""
        self.right.setCurrentIndex(0)

    # ---- shutdown -------------------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Close every window and inspector, stop the server, stop listening to the timeline. Idempotent."""
        if self._shutting_down:
            return
        self._shutting_down = True
        self._gc_freezer.stop()
        for inspector in self.inspectors:
            inspector.close()
        if getattr(self, 'record_dialog', None) is not None:  # a recording in progress is saved, its app stopped
            self.record_dialog.stop()
            await self.record_dialog.finished()
        await self.close_all_windows()
        await self.compare.clear()
        self.runs_panel.close_viewers()
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
