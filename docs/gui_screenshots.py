"""Take the GUI screenshots of docs/ (issue 19): the race demo, side by side, a 50-window storm and Explore, at
the size of the X screen. Run under Xvfb with a window manager, e.g.::

    Xvfb :99 -screen 0 1024x700x24 & DISPLAY=:99 openbox &
    DISPLAY=:99 python docs/gui_screenshots.py 1024x700

Each shot is the whole X screen (``import -window root``), saved as docs/gui_<size>_<what>.png."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from clientsim.simulator.gui.app import make_loop
from clientsim.simulator.gui.main_window import MainWindow

DOCS = Path(__file__).resolve().parent


def shoot(size: str, what: str) -> None:
    subprocess.run(['import', '-window', 'root', str(DOCS / f'gui_{size}_{what}.png')], check=True)
    print('saved', what)


async def until(predicate, timeout_s: float = 60.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(poll(), timeout_s)


async def tour(main: MainWindow, size: str) -> None:
    await main.start()
    main.showMaximized()
    await asyncio.sleep(1.0)
    await main.race_demo()
    await until(lambda: all(w.browser.downloads for w in main.windows.values()))
    await asyncio.sleep(1.0)
    shoot(size, 'race_demo')
    items = main.library.scenario_list
    items.setCurrentRow(next(i for i in range(items.count()) if items.item(i).text() == 'download_race_auto_index'))
    main.play_selected()
    await until(lambda: main.playing)
    await until(lambda: not main.playing)
    await asyncio.sleep(1.0)
    shoot(size, 'side_by_side')
    main.show_live()
    await main.close_all_windows()
    for _ in range(50):
        main.open_window('/')
    await until(lambda: all(w.browser.state == 'handshake done' for w in main.windows.values()))
    await main.windows['bob'].browser.click('Download')
    await until(lambda: all(w.browser.downloads for w in main.windows.values()))
    await asyncio.sleep(1.0)
    shoot(size, 'storm_50_windows')
    items.setCurrentRow(next(i for i in range(items.count()) if items.item(i).text() == 'download_race_tie'))
    main.tabs.setCurrentWidget(main.explore_view)
    main.explore_view.runs_box.setValue(30)
    main.explore_view.jobs_box.setValue(2)
    main.explore_view.start()
    await until(lambda: main.explore_view.explore_button.isEnabled() and main.explore_view.rows, 120)
    await asyncio.sleep(1.0)
    shoot(size, 'explore')


def main() -> None:
    size = sys.argv[1]
    _app, loop = make_loop()
    window = MainWindow()

    async def run() -> None:
        try:
            await tour(window, size)
        finally:
            await window.shutdown()
            window.close()
    with loop:
        loop.run_until_complete(run())


if __name__ == '__main__':
    main()
