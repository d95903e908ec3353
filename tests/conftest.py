"""Shared fixtures: a qasync loop for Qt tests and helpers to run the core on a plain asyncio loop."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')
from simulator.gui.pytest_fixtures import clientsim_gui, pytest_runtest_teardown  # noqa: E402,F401  (GUI fixture)
ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / 'assets' / 'scenarios'


@pytest.fixture
def qloop(qapp):
    """A qasync QEventLoop on pytest-qt's QApplication, set as the current loop (as qasync's own tests do)."""
    import qasync
    qapp.setQuitOnLastWindowClosed(False)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    assert not pending, f'tasks left pending by the test: {pending}'
    loop.close()
    asyncio.set_event_loop(None)


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m simulator.cli ARGS`` in a subprocess from the project root."""
    return subprocess.run([sys.executable, '-m', 'simulator.cli', *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


CLEAN_EXIT_MARKERS = ('Traceback', 'Task was destroyed but it is pending', 'Unclosed client session',
                      'Unclosed connector', 'Fatal Python error', 'never awaited')


def assert_clean_exit(proc) -> None:
    """Exit code 0 and none of the unclean-exit markers in stdout/stderr."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    for marker in CLEAN_EXIT_MARKERS:
        assert marker not in output, f'{marker!r} in output:\n{output[-3000:]}'
