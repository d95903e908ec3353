"""pytest plugin with the GUI fixture ``clientsim_gui`` (needs pytest-qt and PySide6, imported only when a test
uses the fixture).

Register it as a plugin: ``pytest_plugins = ['clientsim.simulator.gui.pytest_fixtures']`` in a top-level
``conftest.py``, or ``config.pluginmanager.import_plugin('clientsim.simulator.gui.pytest_fixtures')`` from a plugin's
``pytest_configure``. Both the fixture and the teardown hook are needed: the hook shuts the GUI down before
pytest-qt processes the Qt events left at the end of a test (with the qasync loop stopped, those events would
run asyncio callbacks outside a running loop).
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

_SESSION = pytest.StashKey[Any]()


def gui_session(qapp: Any) -> Iterator[Any]:
    """Yield a started :class:`~simulator.gui.testing.GuiSession` on pytest-qt's ``qapp``; close it after."""
    from .testing import GuiSession
    session = GuiSession(qapp)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def clientsim_gui(request: pytest.FixtureRequest, qapp: Any, qtbot: Any) -> Iterator[Any]:
    """A :class:`~simulator.gui.testing.GuiSession`: clientsim's main window, started (its embedded server
    runs) and shown, on a qasync loop that works with ``qtbot``. Shut down right after the test body."""
    for session in gui_session(qapp):
        request.node.stash[_SESSION] = session
        yield session


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """Close the test's GUI session before pytest-qt's teardown processes Qt events."""
    session = item.stash.get(_SESSION, None)
    if session is not None:
        session.close()
    yield
