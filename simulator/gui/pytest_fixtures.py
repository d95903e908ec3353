"""pytest plugin with the GUI fixture ``clientsim_gui`` (needs pytest-qt and PySide6).

Load it in a project's top-level ``conftest.py`` with ``pytest_plugins = ['simulator.gui.pytest_fixtures']``.
clientsim's own pytest plugin can offer the same fixture lazily (Qt imported only when a test asks for it)::

    @pytest.fixture
    def clientsim_gui(request):
        from simulator.gui.pytest_fixtures import gui_session
        yield from gui_session(request.getfixturevalue('qapp'))
"""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from .testing import GuiSession


def gui_session(qapp: Any) -> Iterator[GuiSession]:
    """Yield a started :class:`~simulator.gui.testing.GuiSession` on pytest-qt's ``qapp``; close it after."""
    session = GuiSession(qapp)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def clientsim_gui(qapp, qtbot) -> Iterator[GuiSession]:
    """A :class:`~simulator.gui.testing.GuiSession`: clientsim's main window, started (its embedded server
    runs) and shown, on a qasync loop that works with ``qtbot``. Shut down after the test."""
    yield from gui_session(qapp)
