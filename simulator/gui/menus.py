"""The main window's menu bar: File (scenarios, sessions, recent files, exports), Windows, Scenario, Policy,
View and Help. Every shortcut is application-wide (``Qt.ApplicationShortcut``): Ctrl+N works in a detached
window too. The Help texts ("First steps" is the README's first section, condensed) live here."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox

from .panels import export_events_dialog, export_timeline_dialog
from .session_file import SessionFileError, add_recent, load_session, recent_files, save_session

FIRST_STEPS = """<h3>First steps</h3>
<p>clientsim runs an <b>embedded web server</b> that speaks NiceGUI 2.x's wire protocol and opens
<b>simulated browser windows</b> against it, on the shared <b>auto-index page</b> <code>/</code> or on a
<b>private page</b> <code>/private</code>. Every handshake, disconnect, download and server error on both
sides is stamped on <b>one clock</b>; each problem can be switched live between the behaviour that shipped and
the fix.</p>
<ol>
<li><b>See a race:</b> Windows ▸ Race demo (Ctrl+R). alice, bob and carol open with download delays 0/50/100
ms and bob clicks Download: alice turns green, bob and carol red (404). About 1 run in 30 bob turns green too: the
server's thread pool was busy and removed the single-use route after his GET, as real 2.11.0 sometimes does.</li>
<li><b>Switch bug ↔ fix:</b> in the policy panel set <code>download_target</code> to <code>sender</code>, press
Ctrl+R again: only bob, the clicker, gets the file.</li>
<li><b>Play a scenario:</b> pick one in the library and press Play (Ctrl+P). A file with a <code>fix:</code>
block plays shipped and fixed side by side. The verdict shows in the run header.</li>
<li><b>Read the timing:</b> the timeline has one lane per window from t = 0 at the start of the run or manual
session; click a marker for its event-log row. Earlier runs are in the Runs tab.</li>
<li><b>Find a race:</b> the Explore tab plays a scenario many times and charts its outcomes.</li>
<li><b>Your own app:</b> File ▸ Record a session (Ctrl+Shift+R): use it once in a browser, then replay the
recording in 50 windows.</li>
</ol>
<p>Headless: <code>clientsim play assets/scenarios/*.yaml --headless</code>. More in README.md.</p>"""


def _about(main: Any) -> None:
    QMessageBox.about(main, 'About clientsim',
                      '<b>clientsim</b> — a desktop lab for multi-client web UI bugs (NiceGUI 2.x protocol, '
                      'embedded server, simulated windows, one clock).<br>PySide6 + qasync + pyqtgraph.')


def _first_steps(main: Any) -> None:
    box = QMessageBox(QMessageBox.Icon.Information, 'First steps', FIRST_STEPS, QMessageBox.StandardButton.Ok, main)
    box.setTextFormat(Qt.TextFormat.RichText)
    box.open()
    main.help_box = box


def _save_session(main: Any) -> None:
    path, _ = QFileDialog.getSaveFileName(main, 'Save session', 'session.clientsim.json', 'Sessions (*.json)')
    if path:
        try:
            save_session(main, path)
            add_recent(path)
            main.statusBar().showMessage(f'session saved to {path}', 5000)
        except OSError as e:
            QMessageBox.warning(main, 'Session not saved', f'{path}: {e}')


def open_file(main: Any, path: str) -> None:
    """Open ``path``: a session file (``.json``) reopens its view, a scenario (``.yaml``) plays."""
    if path.endswith('.json'):
        try:
            load_session(main, path)
            add_recent(path)
        except SessionFileError as e:
            QMessageBox.critical(main, 'Session cannot be loaded', str(e))
        return
    add_recent(path)
    main._load_and_play(path)


def _open_session(main: Any) -> None:
    path, _ = QFileDialog.getOpenFileName(main, 'Open session', '', 'Sessions (*.json)')
    if path:
        open_file(main, path)


def _fill_recent(main: Any, menu: QMenu) -> None:
    menu.clear()
    files = recent_files()
    for path in files:
        menu.addAction(Path(path).name, lambda p=path: open_file(main, p)).setToolTip(path)
    if not files:
        menu.addAction('(none yet)').setEnabled(False)


def build_menus(main: Any) -> None:
    """Fill ``main``'s menu bar (``main`` is the :class:`~simulator.gui.main_window.MainWindow`)."""
    menu = main.menuBar()
    menu.setNativeMenuBar(False)
    file_menu = menu.addMenu('&File')
    file_menu.addAction('Open scenario…', QKeySequence.StandardKey.Open, main._open_scenario_file)
    main.recent_menu = file_menu.addMenu('Recent files')
    main.recent_menu.aboutToShow.connect(lambda: _fill_recent(main, main.recent_menu))
    file_menu.addSeparator()
    file_menu.addAction('Record a session…', QKeySequence('Ctrl+Shift+R'), main.open_record)
    file_menu.addAction('Save session…', QKeySequence('Ctrl+S'), lambda: _save_session(main))
    file_menu.addAction('Open session…', QKeySequence('Ctrl+Shift+O'), lambda: _open_session(main))
    file_menu.addSeparator()
    file_menu.addAction('Export timeline (PNG/SVG)…', QKeySequence('Ctrl+E'),
                        lambda: export_timeline_dialog(main, main.timeline_view))
    file_menu.addAction('Export events (JSON lines)…', QKeySequence('Ctrl+Shift+E'),
                        lambda: export_events_dialog(main, main.timeline))
    file_menu.addSeparator()
    file_menu.addAction('Quit', QKeySequence.StandardKey.Quit, main.close)
    win_menu = menu.addMenu('&Windows')
    win_menu.addAction('Open on the auto-index', QKeySequence('Ctrl+N'), lambda: main.open_window('/'))
    win_menu.addAction('Open on a private page', QKeySequence('Ctrl+Shift+N'), lambda: main.open_window('/private'))
    win_menu.addAction('Open Chromium window (headless, on the target app)', main.open_chromium_window)
    win_menu.addAction('Race demo (alice, bob, carol: download 0/50/100 ms)', QKeySequence('Ctrl+R'),
                       lambda: main.tasks.spawn(main.race_demo(), name='race demo'))
    win_menu.addAction('Dock all windows', QKeySequence('Ctrl+T'), main.tile_windows)
    win_menu.addAction('Close all windows', QKeySequence('Ctrl+Shift+W'),
                       lambda: main.tasks.spawn(main.close_all_windows()))
    scen_menu = menu.addMenu('&Scenario')
    scen_menu.addAction('Play selected', QKeySequence('Ctrl+P'), main.play_selected)
    scen_menu.addAction('Play selected: shipped ⇄ my policy changes', QKeySequence('Ctrl+Shift+P'),
                        main.play_selected_side_by_side)
    scen_menu.addAction('Clear timeline', QKeySequence('Ctrl+K'), main.clear_timeline)
    scen_menu.addAction('Bisect NiceGUI releases…', QKeySequence('Ctrl+B'), main.open_bisect)
    policy_menu = menu.addMenu('&Policy')
    policy_menu.addAction('Reset policy to shipped (NiceGUI 2.11.0)', main.policy_panel.reset_to_shipped)
    view_menu = menu.addMenu('&View')
    view_menu.addAction('Live workspace', QKeySequence('Ctrl+1'), main.show_live)
    view_menu.addAction('Side by side', QKeySequence('Ctrl+2'), lambda: main.right.setCurrentWidget(main.compare))
    view_menu.addSeparator()
    for i in range(main.tabs.count()):
        view_menu.addAction(main.tabs.tabText(i).replace('&&', '&'),
                            lambda i=i: (main.show_live(), main.tabs.setCurrentIndex(i)))
    view_menu.addSeparator()
    follow = view_menu.addAction('Follow live')
    follow.setCheckable(True)
    follow.setChecked(main.follow_box.isChecked())
    follow.toggled.connect(main.follow_box.setChecked)
    main.follow_box.toggled.connect(follow.setChecked)
    help_menu = menu.addMenu('&Help')
    help_menu.addAction('First steps', QKeySequence.StandardKey.HelpContents, lambda: _first_steps(main))
    help_menu.addAction('About clientsim', lambda: _about(main))
    for sub in (file_menu, win_menu, scen_menu, policy_menu, view_menu, help_menu):
        for action in sub.actions():
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
