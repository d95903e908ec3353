"""Entry points of the GUI: :func:`run_gui` (interactive) and :func:`play_in_gui` (play scenarios in the GUI,
also offscreen, and save a screenshot). Both run the core on a qasync ``QEventLoop``."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Optional

import PySide6  # noqa: F401  (before qasync)
import qasync
from PySide6.QtCore import QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from simulator.scenario import Scenario, load_scenario

from .main_window import MainWindow
from .screenshot import save_screenshot


def _qt_messages(mode: QtMsgType, _context: Any, message: str) -> None:
    """Qt's own messages: drop the offscreen plugin's "does not support" notes, pass others to stderr."""
    if 'This plugin does not support' in message:
        return
    sys.stderr.write(f'qt: {message}\n')


def make_loop() -> tuple[QApplication, qasync.QEventLoop]:
    """The QApplication (created once) and a new qasync loop set as the current asyncio loop."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName('clientsim')
    app.setQuitOnLastWindowClosed(False)  # the main window's shutdown ends the loop, not Qt
    qInstallMessageHandler(_qt_messages)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    return app, loop  # type: ignore[return-value]


async def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Let finished sockets' tasks end so nothing is destroyed while pending."""
    for _ in range(20):
        pending = [t for t in asyncio.all_tasks(loop) if t is not asyncio.current_task()]
        if not pending:
            return
        await asyncio.sleep(0.05)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def run_gui(play: Optional[str] = None) -> int:
    """Open the main window and run until it is closed; returns the exit code (0).
    ``play``: a scenario file to play once the server is up."""
    _app, loop = make_loop()
    window = MainWindow()

    async def main() -> None:
        await window.start()
        window.show()
        if play:
            window.tasks.spawn(window.play_scenario(load_scenario(play)), name='play scenario')
        await window.closed.wait()
        await _drain(loop)

    with loop:
        loop.run_until_complete(main())
    return 0


def play_in_gui(scenarios: list[Scenario], screenshot: str | Path | None = None) -> list[dict[str, Any]]:
    """Play ``scenarios`` one after the other in the GUI; with ``screenshot``, tile the windows and save one
    image of the main window and all browser windows at the end. Returns the reports. Raises OSError if the
    screenshot cannot be written."""
    _app, loop = make_loop()
    window = MainWindow()

    async def main() -> list[dict[str, Any]]:
        reports = []
        try:
            await window.start()
            window.show()
            for scenario in scenarios:
                reports.append(await window.play_scenario(scenario))
            if screenshot:
                window.tile_windows()
                await asyncio.sleep(0.15)  # let throttled views redraw
                save_screenshot(window, list(window.windows.values()), screenshot)
        finally:
            await window.shutdown()
            window.close()
            await _drain(loop)
        return reports

    with loop:
        return loop.run_until_complete(main())
