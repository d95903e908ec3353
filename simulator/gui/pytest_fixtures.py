"""pytest plugin with the GUI fixture ``clientsim_gui`` (needs pytest-qt and PySide6).

Load it in a project's ``conftest.py`` with ``pytest_plugins = ['simulator.gui.pytest_fixtures']`` (clientsim's
own pytest plugin loads it lazily, only when PySide6 and pytest-qt are installed).
"""
from __future__ import annotations

from typing import Iterator

import pytest

from .testing import GuiSession


@pytest.fixture
def clientsim_gui(qapp, qtbot) -> Iterator[GuiSession]:
    """A :class:`~simulator.gui.testing.GuiSession`: clientsim's main window, started (its embedded server
    runs) and shown, on a qasync loop that works with ``qtbot``. Shut down after the test."""
    session = GuiSession(qapp)
    try:
        yield session
    finally:
        session.close()
