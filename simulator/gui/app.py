"""Entry points of the GUI: :func:`run_gui` (interactive) and :func:`play_in_gui` (play scenarios in the GUI,
also offscreen, and save a screenshot). Both run the core on a qasync ``QEventLoop``."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import PySide6  # noqa: F401  (before qasync)
import qasync
from PySide6.QtCore import QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from clientsim.simulator.run_report import RunReport
from clientsim.simulator.scenario import Scenario

from ..errors import TargetError
from ..fdlimit import startup_budget
from .main_window import MainWindow
from .screenshot import save_screenshot


def _qt_messages(mode: QtMsgType, _context: Any, message: str) -> None:
    """Qt's own messages: drop the offscreen plugin's "does not support" notes, pass others to stderr."""
    if 'This plugin does not support' in message:
        return
    sys.stderr.write(f'qt: {message}\n')


#: libraries Qt 6's xcb platform plugin loads → the Debian/Ubuntu package that has them
XCB_PACKAGES = {
    'libxcb-cursor.so.0': 'libxcb-cursor0', 'libxcb-icccm.so.4': 'libxcb-icccm4',
    'libxcb-image.so.0': 'libxcb-image0', 'libxcb-keysyms.so.1': 'libxcb-keysyms1',
    'libxcb-randr.so.0': 'libxcb-randr0', 'libxcb-render-util.so.0': 'libxcb-render-util0',
    'libxcb-shape.so.0': 'libxcb-shape0', 'libxcb-xinerama.so.0': 'libxcb-xinerama0',
    'libxcb-xkb.so.1': 'libxcb-xkb1', 'libxkbcommon-x11.so.0': 'libxkbcommon-x11-0',
    'libEGL.so.1': 'libegl1', 'libfontconfig.so.1': 'libfontconfig1', 'libdbus-1.so.3': 'libdbus-1-3',
}


class QtPlatformError(TargetError, RuntimeError):
    """Qt's xcb platform plugin cannot load: the message names the Debian/Ubuntu packages to install."""


def check_qt_platform() -> None:
    """Before Qt aborts with "Could not load the Qt platform plugin xcb": when Qt will use xcb (a DISPLAY and
    ``QT_QPA_PLATFORM`` unset or ``xcb``, on Linux), check that the libraries the plugin needs load. Raises
    :class:`QtPlatformError` naming the missing packages; does nothing elsewhere (offscreen, Wayland, macOS)."""
    import ctypes
    platform = os.environ.get('QT_QPA_PLATFORM', '')
    if not sys.platform.startswith('linux') or QApplication.instance() is not None:
        return
    if platform not in ('', 'xcb') or (not platform and not os.environ.get('DISPLAY')):
        return
    missing = []
    for library, package in XCB_PACKAGES.items():
        try:
            ctypes.CDLL(library)
        except OSError:
            missing.append(package)
    if missing:
        raise QtPlatformError(
            'clientsim: Qt\'s xcb platform plugin cannot load: missing ' + ', '.join(missing) + '.\n'
            f'On Debian/Ubuntu: sudo apt-get install {" ".join(missing)}\n'
            'Without a desktop: QT_QPA_PLATFORM=offscreen clientsim …, or clientsim play --headless.')


def make_loop() -> tuple[QApplication, qasync.QEventLoop]:
    """The QApplication (created once) and a new qasync loop set as the current asyncio loop. Raises
    :class:`QtPlatformError` when Qt's xcb plugin cannot load (see :func:`check_qt_platform`)."""
    check_qt_platform()
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
    ``play``: a scenario file to play once the server is up. Raises :class:`QtPlatformError` (naming what to
    install) when Qt's xcb plugin cannot load."""
    _app, loop = make_loop()
    window = MainWindow()

    async def main() -> None:
        await window.start()
        window.show()
        # the soft open-files limit raised to the hard one, and how many windows that allows (simulator.fdlimit)
        window.statusBar().showMessage(startup_budget().message(), 10000)
        if play:
            def start() -> None:  # after the trust question, when the file has an untrusted target.command
                scenario = window._load(play, then=start)
                if scenario is not None:
                    window.tasks.spawn(window.play_scenario(scenario), name='play scenario')
            start()
        await window.closed.wait()
        await _drain(loop)

    with loop:
        loop.run_until_complete(main())
    return 0


def play_in_gui(scenarios: list[Scenario], screenshot: str | Path | None = None,
                on_report: Optional[Callable[[RunReport], None]] = None) -> list[RunReport]:
    """Play ``scenarios`` one after the other in the GUI; with ``screenshot``, tile the windows and save one
    image of the main window and all browser windows at the end. ``on_report(report)`` is called as each
    scenario finishes (the console prints its row). Returns the reports. Raises OSError if the screenshot cannot
    be written and :class:`QtPlatformError` (naming what to install) when Qt's xcb plugin cannot load."""
    _app, loop = make_loop()
    startup_budget()  # raise the open-files limit before the windows open (simulator.fdlimit)
    window = MainWindow()

    async def main() -> list[RunReport]:
        reports = []
        try:
            await window.start()
            window.show()
            for scenario in scenarios:
                reports.append(await window.play_scenario(scenario))
                if on_report is not None:
                    on_report(reports[-1])
            if screenshot:
                window.tile_windows()
                await asyncio.sleep(0.15)  # let throttled views redraw
                save_screenshot(window, list(window.workspace.detached), screenshot)
        finally:
            await window.shutdown()
            window.close()
            await _drain(loop)
        return reports

    with loop:
        return loop.run_until_complete(main())
