"""Shared fixtures: the project's own pytest plugin (``clientsim``, ``clientsim_lab``, ``clientsim_windows`` …, see
:mod:`clientsim.simulator.pytest_plugin`) for tests on a plain asyncio loop, a qasync loop for Qt tests, and CLI
helpers."""
from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import settings

# Hypothesis profiles for tests/test_hostile_input_fuzz.py: the default keeps each test's own bounded max_examples;
# `pytest --hypothesis-profile=long tests/test_hostile_input_fuzz.py` runs each fuzz test for thousands of
# examples (minutes).
settings.register_profile('long', max_examples=3000, deadline=None)

os.environ.setdefault('QT_QPA_PLATFORM', 'offscreen')
# Timeline.record rejects event kinds that are not in clientsim.simulator.event_kinds.EventKind: in this process
# (the flag; the pytest plugin may have imported the timeline already) and in every CLI/app subprocess (the env).
os.environ['CLIENTSIM_STRICT_EVENT_KINDS'] = '1'
# the trust store of `clientsim trust` (simulator.trust) and the GUI's recordings folder (its scenario library lists
# it): throwaway ones per test process, never the user's, removed when the process ends
_SESSION_DIR = tempfile.mkdtemp(prefix='clientsim-tests-')
atexit.register(shutil.rmtree, _SESSION_DIR, ignore_errors=True)
os.environ['CLIENTSIM_TRUST_STORE'] = os.path.join(_SESSION_DIR, 'trust', 'trusted.json')
os.environ['CLIENTSIM_RECORDINGS_DIR'] = os.path.join(_SESSION_DIR, 'recordings')
os.makedirs(os.environ['CLIENTSIM_RECORDINGS_DIR'])
from clientsim.simulator import timeline as _timeline  # noqa: E402

_timeline.strict_kinds = True
ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / 'assets' / 'scenarios'
QUIET_REMOVAL_SEED = 'test_three_windows_click_second_colours'
"""A seed for the embedded server's draws (``server.rng.seed(...)``) whose first single-use route removal wakes
after 4.8 ms, a quiet server's. Unseeded, ~3 % of removals wait for a busy pool (5-80 ms, ``server.removal``)
and then serve a GET 50 ms later too, which the race tests' "bob gets 404" does not expect."""
PLUGIN = 'clientsim.simulator.pytest_plugin'
CLI = [sys.executable, '-m', 'clientsim.simulator.cli']
"""``python -m`` the CLI: the checkout's code, as the tests import it (not the venv's ``clientsim`` script)."""


STRESS_ENV = 'CLIENTSIM_STRESS'
"""``CLIENTSIM_STRESS=N pytest ...``: N busy-loop processes run beside the whole session (the stress mode, issue 26)."""


def stress_level() -> int:
    """N of ``CLIENTSIM_STRESS=N`` (0 when unset). Raises pytest.UsageError for a value that is not an int 0..64."""
    raw = os.environ.get(STRESS_ENV, '').strip() or '0'
    if not raw.isdigit() or int(raw) > 64:
        raise pytest.UsageError(f'{STRESS_ENV}={raw!r}: expected a number of busy processes, 0..64')
    return int(raw)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject's addopts): two workers per core, at most 8. The suite waits on sockets, app processes,
    Chromium and Locust more than it computes: on 2 cores, 2 workers kept the cores 45 % busy (5 min 21 s for the
    suite); 4 workers took 3 min 18 s, green."""
    return min(8, 2 * (os.cpu_count() or 1))


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stress mode: start ``CLIENTSIM_STRESS`` busy processes (tests/stress.py) for the whole session."""
    from .stress import start_busy
    n = stress_level()
    if hasattr(session.config, 'workerinput'):  # a pytest-xdist worker: the controller runs the busy processes
        n = 0
    session.config._clientsim_busy = start_busy(n)  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stress mode: kill exactly the busy processes :func:`pytest_sessionstart` started."""
    from .stress import stop_busy
    stop_busy(getattr(session.config, '_clientsim_busy', []))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``stress`` (minutes of load) run with ``-m stress`` or in stress mode, else they are skipped."""
    if 'stress' in (config.getoption('-m') or '') or stress_level():
        return
    skip = pytest.mark.skip(reason=f'a load test: select it with -m stress or run in stress mode ({STRESS_ENV}=2)')
    for item in items:
        if 'stress' in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str | None:
    n = len(getattr(config, '_clientsim_busy', []))
    return f'clientsim stress mode: {n} busy processes beside the suite ({STRESS_ENV})' if n else None


def pytest_configure(config: pytest.Config) -> None:
    """Load the project's pytest plugin once. Installed (``pip install -e .``), pytest loads it from the ``pytest11``
    entry point named ``clientsim``; listing the module in ``pytest_plugins`` as well would register it twice
    (pluggy: "Plugin already registered under a different name"). From a bare checkout (or with
    ``-p no:clientsim``) it is registered here by its module name."""
    if not config.pluginmanager.has_plugin('clientsim') and not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


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


def answers(url: str) -> bool:
    """Whether a GET of ``url``'s root page is answered 200 within 5 s (an app or ``clientsim serve`` is up)."""
    try:
        with urllib.request.urlopen(url + '/', timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


async def until(predicate, timeout_s: float = 20.0, poll_s: float = 0.02) -> bool:
    """Poll ``predicate()`` every ``poll_s`` s until it is true (returns True) or ``timeout_s`` s passed (returns
    False, so the test's own assert states what was not reached). A deadline, never a fixed sleep that decides a
    verdict: a busy machine only makes it wait longer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(poll_s)
    return True


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``python -m simulator.cli ARGS`` in a subprocess from the project root."""
    return subprocess.run([*CLI, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


CLEAN_EXIT_MARKERS = ('Traceback', 'Task was destroyed but it is pending', 'Unclosed client session',
                      'Unclosed connector', 'Unclosed response', 'Fatal Python error', 'never awaited')


def assert_clean_exit(proc) -> None:
    """Exit code 0 and none of the unclean-exit markers in stdout/stderr."""
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    for marker in CLEAN_EXIT_MARKERS:
        assert marker not in output, f'{marker!r} in output:\n{output[-3000:]}'


def play(name: str, variant: str = 'shipped', *, expect_of: str | None = None, **policy) -> dict:
    """Play the ``variant`` (shipped/fixed) of ``assets/scenarios/NAME`` headless (virtual time, as ``clientsim
    play --headless``) and return the report.
    ``expect_of``: check the expectations of that other variant instead (the bug/fix difference test);
    ``policy``: ServerPolicy fields changed on top of the variant's."""
    from clientsim.simulator.player import ScenarioPlayer
    from clientsim.simulator.scenario import load_scenario
    variants = dict(load_scenario(SCENARIOS / name).variants())
    scenario = variants[variant]
    if expect_of is not None:
        scenario = scenario.model_copy(update={'expect': variants[expect_of].expect})
    if policy:
        scenario = scenario.model_copy(update={'policy': scenario.policy.model_copy(update=policy)})
    from clientsim.simulator import virtual_time
    return virtual_time.run(ScenarioPlayer(scenario).run(), 'real' if scenario.target is not None else 'virtual')


def play_headless(scenario) -> 'RunReport':  # noqa: F821 (clientsim.simulator.run_report.RunReport)
    """Play a loaded ``Scenario`` headless, as ``clientsim play --headless`` does (virtual time on the embedded
    server), on a loop of its own in a worker thread: callable between the steps of a Qt test whose qasync loop
    stays the thread's current loop."""
    import concurrent.futures

    from clientsim.simulator import virtual_time
    from clientsim.simulator.player import ScenarioPlayer
    mode = 'real' if scenario.target is not None else 'virtual'
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: virtual_time.run(ScenarioPlayer(scenario).run(), mode)).result(timeout=300)


def assert_gui_verdict_as_headless(report, scenario) -> bool:
    """A scenario played in the GUI (real time on qasync: load stretches its latencies) must give the verdict of the
    same scenario played headless (virtual time: load changes nothing) — the same pass/fail and the same failed
    expectations — unless the GUI run is marked "timing distorted" (``report.loop_lag``, #19), which is the
    honest answer on a busy machine. Never a bare PASS that load can flip. Returns True when the run was
    distorted (the caller then skips checks of timing-made outcomes)."""
    from clientsim.simulator.loop_lag import distortion_of
    if distortion_of(report):
        return True
    headless = play_headless(scenario)
    assert (report.passed, [c.name for c in report.failed]) == (headless.passed, [c.name for c in headless.failed]), (
        f'GUI verdict differs from headless without a timing distortion (loop_lag {report.loop_lag}): '
        f'GUI failed {[(c.name, c.actual) for c in report.failed]}, '
        f'headless failed {[c.name for c in headless.failed]}')
    return False


def failed_checks(report: dict) -> list[str]:
    """Names of the expectations a report failed."""
    return [c.name for c in report.expectations if not c.passed]


# ---- real NiceGUI from PyPI (tests marked ``network``) ---------------------------------------------------------------
def nicegui_python_or_skip(version: str, extras: str = '') -> str:
    """The interpreter of a cached venv with ``nicegui[extras]==version``
    (:func:`clientsim.simulator.matrix.nicegui_python`); skips the test with the reason when it cannot be installed
    (no network)."""
    from clientsim.simulator.matrix import VenvError, nicegui_python
    try:
        return nicegui_python(version, extras=extras)
    except VenvError as e:
        pytest.skip(str(e))


@pytest.fixture(scope='session')
def nicegui_2110() -> str:
    """Python of the NiceGUI 2.11.0 venv (the release with problems 1, 3 and 4)."""
    return nicegui_python_or_skip('2.11.0')


@pytest.fixture(scope='session')
def nicegui_2111() -> str:
    """Python of the NiceGUI 2.11.1 venv (the fixes of problems 3 and 4)."""
    return nicegui_python_or_skip('2.11.1')
