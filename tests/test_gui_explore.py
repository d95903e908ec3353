"""The GUI's Explore tab (pytest-qt, offscreen, qasync loop, real sockets): the chart grows to the outcomes of a
tie, and clicking a bar's outcome replays its seed with the windows on screen."""
from __future__ import annotations

import asyncio

from clientsim.simulator.gui.main_window import MainWindow

from .conftest import SCENARIOS


def test_explore_tab_distribution_and_replay(qtbot, qloop):
    main = MainWindow()
    qtbot.addWidget(main)
    view = main.explore_view
    items = main.library.scenario_list
    row = next(i for i in range(items.count()) if items.item(i).text() == 'download_race_tie')
    items.setCurrentRow(row)
    view.runs_box.setValue(12)

    async def go():
        await main.start()
        view.start()
        assert not view.explore_button.isEnabled()
        for _ in range(500):  # the tab plays the runs in the background; wait until it is done
            if view.explore_button.isEnabled():
                break
            await asyncio.sleep(0.02)
        results = view.results
        report = await main.play_scenario(view.exploration.scenario_for(view.rows[0]['seeds'][0]))
        windows = sorted(main.windows)
        await main.shutdown()
        return results, report, windows

    results, report, windows = qloop.run_until_complete(go())
    assert len(results) == 12 and view.progress.value() == 12
    assert sum(r['count'] for r in view.rows) == 12 and len(view.plot.getPlotItem().items) == 1
    legend = view.legend.text()  # each bar named: its outcome, share and PASS/FAIL
    assert legend.count('<b>#') == min(len(view.rows), 6) and view.rows[0]['signature'].split(' | ')[0] in legend
    assert report.passed and windows == ['alice', 'bob']
    assert str(SCENARIOS) in view.exploration.path
