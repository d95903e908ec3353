"""pytest-qt tests of the GUI workspace (issue 10), offscreen, through real sockets: shortcuts from a browser
window, latency controls and the race demo, the event log count and filter reset, hand policy changes at Play,
200 windows as tiles, bug ⇄ fix side by side, the ``clientsim_gui`` fixture, the xcb check."""
from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QPushButton

from clientsim.simulator.browser import HANDSHAKE_DONE, SimulatedBrowser
from clientsim.simulator.gui import app as gui_app
from clientsim.simulator.gui.compare_view import policy_variant
from clientsim.simulator.scenario import load_scenario, parse_scenario

from .conftest import QUIET_REMOVAL_SEED, SCENARIOS, assert_gui_verdict_as_headless


def download_button(window) -> QPushButton:
    return next(b for b in window.findChildren(QPushButton) if b.text() == 'Download')


def test_shortcuts_work_from_a_detached_browser_window(clientsim_gui, qtbot):
    gui = clientsim_gui
    window = gui.main.open_window('/')
    gui.main.workspace.detach(window)
    window.activateWindow()
    gui.run(gui.until(lambda: QApplication.activeWindow() is window))
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)  # Ctrl+N in the browser window
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert len(gui.main.windows) == 3
    assert all(w.parent() is not None for w in list(gui.main.windows.values())[1:])  # new ones are docked
    qtbot.keyClick(window, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier)  # Ctrl+T docks it back
    assert gui.main.workspace.detached == []
    gui.run(gui.until(lambda: all(w.browser.state == HANDSHAKE_DONE for w in gui.main.windows.values())))


def test_latency_controls_give_the_losers_red(clientsim_gui, qtbot):
    gui = clientsim_gui
    gui.main.server.rng.seed(QUIET_REMOVAL_SEED)  # bob's 50 ms GET finds the route gone
    gui.main.windows_box.latency_editors.spins['download_ms'].setValue(100)  # default for new windows
    windows = [gui.main.open_window('/') for _ in range(3)]
    assert [w.browser.latency.download_ms for w in windows] == [100, 100, 100]
    for window, delay in zip(windows, (0, 50, 100), strict=False):  # a person edits each window's download delay
        window.latency_editors.spins['download_ms'].setValue(delay)
    gui.run(gui.until(lambda: all(w.browser.state == HANDSHAKE_DONE for w in windows)))
    gui.settle()
    qtbot.mouseClick(download_button(windows[1]), Qt.MouseButton.LeftButton)
    gui.run(gui.until(lambda: all(w.browser.downloads for w in windows)))
    gui.settle()
    assert [w.property('outcome') for w in windows] == ['received', 'failed', 'failed']
    assert [w.browser.latency.download_ms for w in windows] == [0, 50, 100]


def test_race_demo_shows_red(clientsim_gui):
    gui = clientsim_gui
    gui.main.server.rng.seed(QUIET_REMOVAL_SEED)  # bob's 50 ms GET finds the route gone
    windows = gui.run(gui.main.race_demo())
    gui.run(gui.until(lambda: all(w.browser.downloads for w in windows)))
    gui.settle()
    assert [(w.browser.name, w.property('outcome')) for w in windows] == [
        ('alice', 'received'), ('bob', 'failed'), ('carol', 'failed')]
    assert all(w.isVisible() and w.window() is gui.main for w in windows)  # inside the main window


def test_event_log_count_and_filter_reset(clientsim_gui):
    gui = clientsim_gui
    main = gui.main
    windows = [main.open_window('/') for _ in range(2)]
    gui.run(gui.until(lambda: all(w.browser.state == HANDSHAKE_DONE for w in windows)))
    main.log_model.flush()
    main.window_filter.setCurrentText('bob')
    rows = main.log_model.rowCount()
    assert 0 < rows < len(main.timeline.events)
    assert main.event_log.log_count.text().startswith(f'{rows} of {len(main.timeline.events)} events')
    storm = load_scenario(SCENARIOS / 'fast_navigation_storm.yaml')
    report = gui.run(main.play_scenario(storm), timeout_s=180)  # real time: a busy machine stretches it
    assert_gui_verdict_as_headless(report, storm)  # or "timing distorted"
    main.log_model.flush()
    assert main.window_filter.currentText() == 'all'  # bob is not in the storm: the filter went back to all
    assert main.log_model.rowCount() == len(main.timeline.events)
    assert main.event_log.log_count.text() == f'{len(main.timeline.events)} of {len(main.timeline.events)} events'
    assert main.timeline_pane.follow_box.isChecked()


def test_hand_policy_change_is_reported_or_kept(clientsim_gui):
    gui = clientsim_gui
    main = gui.main
    main.policy_panel._editors['download_target'].setCurrentText('sender')
    gui.run(main.play_scenario(load_scenario(SCENARIOS / 'download_race_auto_index.yaml')))
    notice = main.library.notice_label.text()
    assert 'overrode your change' in notice and 'download_target: sender → room' in notice
    assert 'scenario sets <b>download_target</b>=room' in notice
    assert main.server.policy.download_target == 'room'
    # ticked "Keep my changes": the change survives Play (a scenario that does not set the field)
    main.policy_panel.keep_box.setChecked(True)
    main.policy_panel._editors['disconnect_guard'].setChecked(True)
    gui.run(main.play_scenario(load_scenario(SCENARIOS / 'download_private_pages.yaml')))
    assert '<b>kept your change</b> disconnect_guard=True' in main.library.notice_label.text()
    assert main.server.policy.disconnect_guard is True
    assert 'yours' in main.policy_panel._titles['disconnect_guard'].text()


def test_200_windows_become_readable_tiles(clientsim_gui, qtbot):
    gui = clientsim_gui
    main = gui.main
    main.resize(1400, 900)
    browsers = [SimulatedBrowser(f'w{i}', main.timeline) for i in range(200)]
    for browser in browsers[:3]:
        main.adopt_browser(browser)
    assert main.workspace.mode == 'full'  # a few windows that fit show in full (more, or no room: tiles)
    for browser in browsers[3:]:
        main.adopt_browser(browser)
    assert main.workspace.mode == 'tiles' and main.workspace.tiles.rowCount() == 200
    assert not any(w.isVisible() for w in main.windows.values())  # no 200 widgets: painted tiles
    gui.run(asyncio.gather(*(b.open(gui.url + '/private') for b in browsers[:20])))
    gui.settle(0.3)
    view = main.workspace.tile_view
    rect = view.visualRect(main.workspace.tiles.index(7))
    assert rect.width() >= 140 and rect.height() >= 50  # room for name, dot and status
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert main.workspace.detached == [main.windows['w7']] and main.windows['w7'].isVisible()
    assert main.windows['w7'].isWindow()


def test_bug_and_fix_side_by_side(clientsim_gui):
    """Play on a file with a fix: block (the library, as a person does) plays the shipped and the fixed variant
    at once, one above the other, each against its own expectations: both pass, and the outcomes differ."""
    gui = clientsim_gui
    library = gui.main.library.scenario_list
    row = next(i for i in range(library.count()) if library.item(i).text() == 'download_race_auto_index')
    library.setCurrentRow(row)
    gui.main.play_selected()
    gui.run(gui.until(lambda: gui.main.playing))
    gui.run(gui.until(lambda: not gui.main.playing), timeout_s=180)
    gui.settle()
    top, bottom = gui.main.compare.panes
    assert [pane.report.variant for pane in (top, bottom)] == ['shipped', 'fixed']
    # each variant against its own expectations: the headless verdict (both pass), or "timing distorted"
    variants = dict(load_scenario(SCENARIOS / 'download_race_auto_index.yaml').variants())
    distorted = [assert_gui_verdict_as_headless(pane.report, variants[pane.report.variant]) for pane in (top, bottom)]
    assert top.workspace.mode == bottom.workspace.mode == 'tiles'  # painted from the browser's download outcome
    outcomes = [{w.browser.name: w.browser.download_outcome for w in pane.workspace.windows} for pane in (top, bottom)]
    if not distorted[0]:  # the outcomes are the race's: a distorted run's latencies did not play as drawn
        assert outcomes[0] == {'alice': 'received', 'bob': 'failed', 'carol': 'failed'}
    if not distorted[1]:
        assert outcomes[1] == {'alice': 'none', 'bob': 'received', 'carol': 'none'}
    # one time axis from each run's start
    top_range = top.timeline_view.plot.getViewBox().viewRange()[0]
    assert top_range[0] == 0 and top_range[1] > 300  # the whole run from the scenario start
    assert bottom.timeline_view.plot.getViewBox().viewRange()[0] == pytest.approx(top_range)
    assert gui.main.right.currentWidget() is gui.main.compare


def test_hand_changes_side_by_side_without_fix_block(clientsim_gui):
    """A file without fix: compares the file's policy with a hand-changed one; the lower run is checked against
    the file's (shipped) expectations, so it fails where the hand change fixes the race."""
    gui = clientsim_gui
    scenario = load_scenario(SCENARIOS / 'download_race_grace.yaml')
    fixed = policy_variant(scenario, {'single_use_grace_s': 0.0})
    shipped_report, fixed_report = gui.run(gui.main.play_side_by_side(scenario, fixed), timeout_s=180)
    # as headless (shipped passes, the hand-fixed run fails the shipped expectations), or "timing distorted"
    assert_gui_verdict_as_headless(shipped_report, scenario)
    assert_gui_verdict_as_headless(fixed_report, fixed)


def test_readme_example_click_and_colour(clientsim_gui, qtbot):
    """The README's example: open two windows on a private page, click Download in one, check its colour."""
    gui = clientsim_gui
    first, second = gui.main.open_window('/private'), gui.main.open_window('/private')
    gui.run(gui.until(lambda: first.browser.state == second.browser.state == 'handshake done'))
    gui.settle()
    qtbot.mouseClick(download_button(first), Qt.MouseButton.LeftButton)
    gui.run(gui.until(lambda: first.browser.downloads))
    gui.settle()
    assert first.property('outcome') == 'received'  # green
    assert second.property('outcome') == 'none'     # neutral


def test_main_window_works_from_900_px(clientsim_gui):
    main = clientsim_gui.main
    assert main.minimumSizeHint().width() <= 900
    main.resize(900, 700)
    clientsim_gui.settle()
    assert main.width() == 900


def test_missing_xcb_library_says_what_to_install(monkeypatch):
    monkeypatch.setitem(gui_app.XCB_PACKAGES, 'libclientsim-missing.so.9', 'libclientsim-missing9')
    monkeypatch.setenv('QT_QPA_PLATFORM', 'xcb')
    monkeypatch.setenv('DISPLAY', ':99')
    monkeypatch.setattr(gui_app.QApplication, 'instance', staticmethod(lambda: None))
    with pytest.raises(gui_app.QtPlatformError, match='sudo apt-get install .*libclientsim-missing9'):
        gui_app.check_qt_platform()


def test_timeline_export_has_title_and_legend(clientsim_gui, tmp_path):
    gui = clientsim_gui
    gui.run(gui.main.play_scenario(load_scenario(SCENARIOS / 'download_race_auto_index.yaml')))
    view = gui.main.timeline_view
    view.export(str(tmp_path / 't.svg'))
    view.export(str(tmp_path / 't.png'))
    svg = (tmp_path / 't.svg').read_text()
    assert 'download race on the auto-index page' in svg  # the title names the scenario
    assert 'handshake pending (socket connected)' in svg and 'download GET failed' in svg  # the legend
    from PySide6.QtGui import QImage
    image = QImage(str(tmp_path / 't.png'))
    assert image.height() > view.plot.height() and image.width() >= 900


def test_markers_merge_when_zoomed_out_and_split_when_zoomed_in(clientsim_gui):
    gui = clientsim_gui
    main = gui.main
    main._start_manual_session()
    for i in range(40):  # 40 clicks 1 ms apart on one lane
        main.timeline.record('alice', 'event_sent', window='alice', label='Download')
        main.timeline.events[-1].t_ns = main.timeline.t0_ns + 1000_000 * (1000 + i)
    main.timeline.record('alice', 'window_closed', window='alice')
    main.timeline.events[-1].t_ns = main.timeline.t0_ns + 10_000 * 1000_000
    main.timeline_view.redraw()
    clicks = main.timeline_view.scatters['click']
    assert len(clicks.points()) < 10  # zoomed out over 10 s: the 40 clicks are a few merged points
    assert sum(main.timeline_view.cluster_size('click', int(p.data()), p.pos().y()) for p in clicks.points()) == 40
    main.timeline_pane.follow_box.setChecked(False)
    main.timeline_view.plot.setXRange(1000, 1040, padding=0)
    main.timeline_view.redraw()
    assert len(clicks.points()) >= 30  # zoomed in to 40 ms: (nearly) one point per click


def test_target_scenario_plays_in_the_gui_in_target_mode(clientsim_gui):
    """A scenario with ``target:`` (here a URL: a second embedded server stands in for the app) plays in the GUI
    against that app, on the GUI's timeline; the server box shows the target and the policy panel says why its
    switches are off."""
    from clientsim.server.app import EmbeddedServer
    gui = clientsim_gui
    app = EmbeddedServer()
    url = gui.run(app.start())
    try:
        scenario = parse_scenario(f'''
name: the auto-index page of an app that is already running
target: {url}
windows:
  - {{name: alice, page: /}}
  - {{name: bob, page: /}}
steps:
  - open: [alice, bob]
  - click: {{window: bob, label: Download}}
  - wait: 300
expect:
  windows:
    alice: {{download_events: 1}}
    bob: {{download_events: 1}}
''', 'target_url.yaml')
        report = gui.run(gui.main.play_scenario(scenario))
        gui.settle()
        assert report.passed, report.expectations
        assert report.target.url == url
        box = gui.main.server_box
        assert gui.main.target is not None and box.title().startswith('Target app')
        assert box.url_label.text() == url and 'URL target' in box.errors_label.text()
        assert 'real app' in gui.main.policy_panel.reason.text() and gui.main.policy_panel.reason.isVisibleTo(
            gui.main)
        assert {'alice', 'bob'} <= set(gui.main.timeline_view.lane_names())
    finally:
        gui.run(app.stop())


def test_event_log_shows_several_kinds_at_once(clientsim_gui):
    """The Kind filter takes several values (issue 19): ticking kinds in the "several…" menu shows exactly those
    kinds, the kind box says how many, and picking one kind or "all" in the box replaces the set."""
    gui = clientsim_gui
    main = gui.main
    windows = [main.open_window('/') for _ in range(2)]
    gui.run(gui.until(lambda: all(w.browser.state == HANDSHAKE_DONE for w in windows)))
    log = main.event_log
    main.log_model.flush()
    kinds = {'handshake_sent', 'handshake_acked'}
    assert kinds <= set(main.log_model.kinds)
    log._fill_kinds_menu()  # what opening the menu does: one check box per kind, sorted
    boxes = [a.defaultWidget() for a in log.kinds_menu.actions()]
    assert [b.text() for b in boxes] == sorted(main.log_model.kinds)
    for box in boxes:
        if box.text() in kinds:
            box.setChecked(True)
    shown = {main.log_model.data(main.log_model.index(r, 2)) for r in range(main.log_model.rowCount())}
    assert shown == kinds
    assert main.log_model.rowCount() == sum(e.kind in kinds for e in main.timeline.events)
    assert log.kind_filter.currentIndex() == -1 and log.kind_filter.placeholderText() == '2 kinds'
    log.kind_filter.setCurrentText('handshake_sent')  # one kind from the box replaces the set
    assert main.log_model.kind_filter == {'handshake_sent'}
    log.kind_filter.setCurrentText('all')
    assert main.log_model.kind_filter is None and main.log_model.rowCount() == len(main.timeline.events)


def test_the_windows_area_keeps_room_for_tiles_at_1024x700(clientsim_gui):
    """At 1024×700 the event-log tabs no longer force their height on the windows area (Models & jobs and Explore
    scroll inside their tab): 50 tiles get several rows (issue 19: "50 storm tiles get one visible row")."""
    main = clientsim_gui.main
    main.resize(1024, 700)
    main.show()
    clientsim_gui.run(clientsim_gui.until(lambda: main.workspace.height() > 0))
    assert main.tabs.minimumSizeHint().height() < 200
    rows = main.workspace.height() // 58  # a tile row: 54 px and its grid gap
    assert rows >= 3, main.workspace.height()
