"""The desktop-tool parts of the main window (issue 19, items 5-6): Help and View menus, "Reset policy to
shipped", session save and load (a JSON file that reopens the same windows, latencies, policy and timeline),
recent files, Explore's "checked against" line and a legend without duplicate labels. Offscreen, real sockets."""
from __future__ import annotations

import json

from clientsim.simulator.browser import HANDSHAKE_DONE, Latency
from clientsim.simulator.gui import session_file
from clientsim.simulator.lanes import legend


def test_menus_exist(clientsim_gui):
    titles = [a.text() for a in clientsim_gui.main.menuBar().actions()]
    assert titles == ['&File', '&Windows', '&Scenario', '&Policy', '&View', '&Help']
    help_menu = clientsim_gui.main.menuBar().actions()[-1].menu()
    assert [a.text() for a in help_menu.actions()] == ['First steps', 'About clientsim']
    help_menu.actions()[0].trigger()
    assert 'Race demo' in clientsim_gui.main.help_box.text() and clientsim_gui.main.help_box.isVisible()


def test_reset_policy_to_shipped(clientsim_gui):
    main = clientsim_gui.main
    main.policy_panel._editors['download_target'].setCurrentText('sender')
    assert main.server.policy.download_target == 'sender' and main.policy_panel.hand_changes
    main.policy_panel.reset_to_shipped()
    assert main.server.policy == type(main.server.policy)() and not main.policy_panel.hand_changes


def test_session_save_and_load_reopens_the_view(clientsim_gui, tmp_path, monkeypatch):
    monkeypatch.setattr(session_file, '_settings', lambda: _MemorySettings())
    gui = clientsim_gui
    main = gui.main
    main.policy_panel._editors['download_target'].setCurrentText('sender')
    windows = [main.open_window('/', 'ann', Latency(download_ms=30)), main.open_window('/private', 'ben')]
    gui.run(gui.until(lambda: all(w.browser.state == HANDSHAKE_DONE for w in windows)))
    path = tmp_path / 'my.clientsim.json'
    session_file.save_session(main, path)
    saved = json.loads(path.read_text())
    assert [w['name'] for w in saved['windows']] == ['ann', 'ben'] and saved['policy']['download_target'] == 'sender'
    n_events = len(saved['events'])
    gui.run(main.close_all_windows())
    main.policy_panel.reset_to_shipped()
    session_file.load_session(main, path)
    session_file.add_recent(path)
    gui.run(gui.until(lambda: all(w.browser.state == HANDSHAKE_DONE for w in main.windows.values())))
    assert sorted(main.windows) == ['ann', 'ben']
    assert main.windows['ann'].browser.latency.download_ms == 30
    assert main.windows['ben'].browser.url.endswith('/private')
    assert main.server.policy.download_target == 'sender'
    assert len(main.timeline.events) > n_events  # the saved events, then the reopened windows' own
    assert [d['kind'] for d in main.timeline.to_dicts()[:n_events]] == [e['kind'] for e in saved['events']]
    assert min(d['t_ms'] for d in main.timeline.to_dicts()) >= 0
    assert 'ann' in main.timeline_view.lane_names() and 'loaded from my.clientsim.json' in main.run_header.text()
    assert session_file.recent_files() == [str(path.resolve())]


def test_a_bad_session_file_says_why(tmp_path):
    bad = tmp_path / 'x.json'
    bad.write_text('{"format": "other"}')
    try:
        session_file.read_session(bad)
    except session_file.SessionFileError as e:
        assert str(e).startswith(f'{bad}: not a clientsim session file')
    else:
        raise AssertionError('no error')


def test_explore_says_what_pass_means_and_legend_labels_are_unique(clientsim_gui):
    text = clientsim_gui.main.explore_view.checked_against.text()
    assert 'shipped' in text and 'PASS = the bug reproduced' in text
    labels = [entry.label for entry in legend()]
    assert len(labels) == len(set(labels)), labels


class _MemorySettings:
    store: dict = {}

    def value(self, key, default=None):
        return self.store.get(key, default)

    def setValue(self, key, value):  # noqa: N802
        self.store[key] = value


def test_manual_session_follows_from_the_first_action(clientsim_gui):
    """Windows opened long before the click: Follow live shows the race, not a sliver at the right edge."""
    import asyncio
    gui = clientsim_gui
    main = gui.main
    windows = [main.open_window('/') for _ in range(2)]
    gui.run(gui.until(lambda: all(w.browser.state == HANDSHAKE_DONE for w in windows)))
    gui.run(asyncio.sleep(1.5))  # a person reads the windows before clicking (setup, not a verdict)
    gui.run(windows[1].browser.click('Download'))
    gui.run(gui.until(lambda: all(w.browser.downloads for w in windows)))
    main.timeline_view.redraw()
    gui.settle(0.2)
    (x0, x1), _ = main.timeline_view.plot.getViewBox().viewRange()
    click_ms = next(m['t_ms'] for m in main.timeline_view.markers if m['kind'] == 'click')
    assert click_ms > 1400 and x0 > 0.5 * click_ms and x0 < click_ms < x1
