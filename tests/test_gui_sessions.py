"""One session model in the GUI (issue 19, item 1): what the timeline, lanes, event log and Measurements show
belongs to the current session only; earlier runs go to the run list. Offscreen, real sockets, the sequence a
newcomer followed: Explore, replay a bar, Ctrl+Shift+W, 50 windows with Ctrl+N, Ctrl+Shift+W, Ctrl+R."""
from __future__ import annotations

from PySide6.QtCore import Qt

from clientsim.simulator.browser import HANDSHAKE_DONE


def _select(main, name: str) -> None:
    items = main.library.scenario_list
    items.setCurrentRow(next(i for i in range(items.count()) if items.item(i).text() == name))


def test_sessions_do_not_leak_into_each_other(clientsim_gui, qtbot):
    gui = clientsim_gui
    main = gui.main
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    _select(main, 'download_race_auto_index')
    view = main.explore_view
    view.runs_box.setValue(6)
    view.jobs_box.setValue(2)
    view.start()
    gui.run(gui.until(lambda: view.explore_button.isEnabled() and view.rows, timeout_s=60), timeout_s=70)
    view.replay(len(view.rows) - 1)  # what a click on the last bar does
    gui.run(gui.until(lambda: main.playing))
    gui.run(gui.until(lambda: not main.playing, timeout_s=30), timeout_s=40)
    replayed = len(main.timeline.events)
    assert replayed and main.session_verdict, main.statusBar().currentMessage()  # the replay's verdict …
    assert main.session_verdict in main.run_header.text()  # … is in the run header

    qtbot.keyClick(main, Qt.Key.Key_W, ctrl | shift)
    gui.run(gui.until(lambda: not main.windows))
    for _ in range(50):
        qtbot.keyClick(main, Qt.Key.Key_N, ctrl)
    assert len(main.windows) == 50
    assert main.timeline.events == [] or all(e.t_ns >= main.timeline.t0_ns for e in main.timeline.events)
    gui.run(gui.until(lambda: all(w.browser.state == HANDSHAKE_DONE for w in main.windows.values()),
                      timeout_s=30), timeout_s=40)
    qtbot.keyClick(main, Qt.Key.Key_W, ctrl | shift)
    gui.run(gui.until(lambda: not main.windows))
    qtbot.keyClick(main, Qt.Key.Key_R, ctrl)
    gui.run(gui.until(lambda: len(main.windows) == 3 and all(w.browser.downloads for w in main.windows.values()),
                      timeout_s=15), timeout_s=20)
    gui.settle(0.3)
    main.log_model.flush()
    main.timeline_view.redraw()

    # the lanes: only the race's three windows, with their own outcomes
    assert main.timeline_view.lane_names() == ['server', 'alice', 'bob', 'carol']
    assert {w: main.timeline_view.group_of('outcome', w) for w in ('alice', 'bob', 'carol')} == {
        'alice': 'received', 'bob': 'download failed', 'carol': 'download failed'}  # simulator.outcome labels
    # no event of an earlier session, none at a negative time
    t_ms = [d['t_ms'] for d in main.timeline.to_dicts()]
    assert t_ms and min(t_ms) >= 0
    windows_seen = {e.window or e.source for e in main.timeline.events} - {'server', None}
    assert windows_seen <= {'alice', 'bob', 'carol'}, windows_seen  # no server event about an earlier window
    assert main.log_model.total == len(main.timeline.events)
    # Measurements: the three race windows, then p50/p95/max
    main.tabs.setCurrentWidget(main.measurements_panel)
    table = main.measurements_panel.table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ['alice', 'bob', 'carol', 'p50', 'p95',
                                                                          'max']
    # the earlier runs are reachable in the run list, newest first
    runs = main.runs_panel.runs
    assert [r.title.split(' (')[0] for r in runs][-2:] == ['download race on the auto-index page', 'manual session'] \
        or runs[-1].title == 'manual session'
    assert len(runs[-1].events) > 50 * 3 and main.runs_panel.run_list.count() == len(runs)
    viewer = main.runs_panel.open(len(runs) - 1)
    gui.settle(0.2)
    assert len(viewer.view.lane_names()) == 51  # server + the 50 windows of that session
    # Ctrl+K clears the timeline and Measurements too
    qtbot.keyClick(main, Qt.Key.Key_K, ctrl)
    assert main.timeline.events == [] or len(main.timeline.events) < 5
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ['p50', 'p95', 'max']
