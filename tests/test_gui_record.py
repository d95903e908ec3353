"""File ▸ Record a session… (issue 21, item 4; pytest-qt, offscreen, qasync loop, real sockets): the Record dialog
records a session through its proxy in front of the lab's embedded server, lists each page load and action as it
is recorded, saves the scenario in the recordings folder, puts it in the scenario library (rec:) and replays it in
N windows. "My own browser" is played here by a clientsim window on the proxy URL."""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

from clientsim.server.app import EmbeddedServer
from clientsim.simulator.browser.state import Latency
from clientsim.simulator.browser.window import SimulatedBrowser
from clientsim.simulator.gui.main_window import MainWindow
from clientsim.simulator.record.session import RECORDINGS_ENV
from clientsim.simulator.scenario import load_scenario
from clientsim.simulator.steps import shows_text
from clientsim.simulator.timeline import Timeline

from .conftest import until


def test_record_dialog_records_saves_lists_and_replays(qtbot, qloop):
    main = MainWindow()
    qtbot.addWidget(main)
    app = EmbeddedServer()

    async def go():
        await main.start()
        dialog = main.open_record()
        assert dialog.app_edit.text() == main.server.url + '/'
        assert Path(dialog.out_edit.text()).parent == Path(os.environ[RECORDINGS_ENV])
        app_url = await app.start()  # the app to record: a second server speaking NiceGUI's protocol
        dialog.app_edit.setText(app_url + '/counter')
        dialog.browser.setCurrentIndex(1)  # my own browser: the dialog shows the URL to open
        dialog.end_after_s = 1.0
        dialog.start()
        assert not dialog.start_button.isEnabled() and dialog.stop_button.isEnabled()
        assert await until(lambda: dialog.status.text().startswith('Recording.'))
        proxy_url = dialog.session.proxy_url
        assert proxy_url in dialog.status.text()
        person = SimulatedBrowser('person', Timeline(), Latency(load='instant'))
        await person.open(proxy_url + '/counter')
        for _ in range(2):
            await person.click('+1')
            await asyncio.sleep(0.2)
        assert await until(lambda: shows_text(person, 'count: 2'), 10)
        await person.close()  # the tab closes: no socket, nothing requested for end_after_s -> saved
        assert await until(lambda: dialog.saved is not None, 30), dialog.status.text()
        steps = [dialog.steps.item(i).text() for i in range(dialog.steps.count())]
        scenario = load_scenario(dialog.saved)
        first = main.library.scenario_list.item(0)
        listed = (first.text(), first.data(256), main.library.current_path())
        assert dialog.replay_button.isEnabled()
        dialog.windows.setValue(3)
        dialog.replay_button.click()
        assert await until(lambda: sorted(main.windows) == ['w01', 'w02', 'w03'], 30), sorted(main.windows)
        assert await until(lambda: 'PASS' in main.library.result_label.text()
                            or 'FAIL' in main.library.result_label.text(), 60), main.library.result_label.text()
        result = main.library.result_label.text()
        await main.shutdown()
        await app.stop()
        return steps, scenario, listed, result

    steps, scenario, (text, data, current), result = qloop.run_until_complete(go())
    assert steps[:1] == ['open: user'] and steps.count("click: {label: '+1', window: user}") == 2, steps
    clicks = [s.args for s in scenario.steps if s.kind == 'click']
    assert len(clicks) == 2 and all(c.label == '+1' for c in clicks), scenario.steps
    assert text.startswith('rec: recording-') and data == current
    assert Path(data).parent == Path(os.environ[RECORDINGS_ENV])
    assert 'PASS' in result, result
