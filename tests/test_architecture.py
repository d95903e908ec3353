"""The architecture rules, checked on the source tree:

* the import contracts in pyproject.toml ``[tool.importlinter]`` (import-linter), one test per contract: no Qt in
  the core, ``server`` uses only the leaves ``clientsim.simulator.timeline`` / ``clientsim.simulator.tasks``, nobody
  outside
  ``clientsim.simulator.gui`` imports it (``clientsim.simulator.cli`` launches it), no cycles between sibling modules;
* no import cycle between the sibling modules of any package (``acyclic_siblings``), and the browser parts stacked
  below the ``window`` facade with ``state`` as their leaf (``layers``): contracts, no hand-written cycle finder;
* no module in ``server/`` or ``simulator/`` (``gui/`` included) over 450 lines;
* ``ruff check`` (rules in pyproject.toml ``[tool.ruff]``) passes on server, simulator, tests and benchmarks.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

MAX_LINES = 450
PACKAGES = ('server', 'simulator')
#: the ``id`` of every ``[[tool.importlinter.contracts]]`` table (read with a regex: tomllib is Python 3.11+)
CONTRACTS = re.findall(r'^id = "([\w-]+)"$', (ROOT / 'pyproject.toml').read_text().split('\n[tool.importlinter]\n')[1],
                       re.MULTILINE)


def _lint_imports() -> Path:
    """The ``lint-imports`` script next to this interpreter (installed with the ``test`` extra)."""
    script = Path(sys.executable).with_name('lint-imports')
    if not script.exists():
        pytest.fail(f'{script} not found: install the test extra (pip install -e ".[test]")')
    return script


def test_contracts_are_configured() -> None:
    assert len(CONTRACTS) == 6, CONTRACTS


@pytest.mark.parametrize('contract', CONTRACTS)
def test_import_contract(contract: str) -> None:
    proc = subprocess.run([str(_lint_imports()), '--no-cache', '--no-logo', '--contract', contract], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert 'KEPT' in proc.stdout, proc.stdout[-4000:]


def test_modules_at_most_450_lines() -> None:
    too_long = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob('*.py')):
            lines = len(path.read_text(encoding='utf-8').splitlines())
            if lines > MAX_LINES:
                too_long[str(path.relative_to(ROOT))] = lines
    assert too_long == {}, f'modules over {MAX_LINES} lines: {too_long}'


def test_ruff_clean() -> None:
    proc = subprocess.run([sys.executable, '-m', 'ruff', 'check', '--no-cache', '--output-format', 'concise',
                           'clientsim', 'server', 'simulator', 'tests', 'benchmarks', 'assets'], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_timeline_rejects_unknown_event_kinds_in_tests():
    """One event-kind vocabulary: the suite records in strict mode, so a kind missing from EventKind fails."""
    from clientsim.simulator.event_kinds import EventKind
    from clientsim.simulator.timeline import KINDS, Timeline, UnknownEventKind, strict_kinds
    assert strict_kinds, 'tests/conftest.py turns strict event kinds on'
    timeline = Timeline()
    assert timeline.record('server', EventKind.DOWNLOAD_GET).kind == 'download_get'  # the values are the strings
    assert timeline.record('server', 'download_get').kind is not None
    with pytest.raises(UnknownEventKind, match="unknown event kind 'download_gotten'"):
        timeline.record('server', 'download_gotten')
    assert set(KINDS) == {k.value for k in EventKind} and len(KINDS) == len(EventKind)


def test_browser_parts_use_the_windows_ports_not_its_privates() -> None:
    """Issue 17 item 8: the parts of a simulated window (connection, acks, boot, downloads, latency, messages, …)
    reach the window through :class:`WindowView` fields and its ``ports``, never through a private member of the
    facade (``window._record``, ``window._tasks`` …: 70 such uses before)."""
    import ast
    offenders = []
    for path in sorted((ROOT / 'simulator' / 'browser').glob('*.py')):
        if path.name in ('window.py', 'ports.py'):  # the facade itself, and where it hands its members to the parts
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Attribute) and node.attr.startswith('_') and not node.attr.startswith('__'):
                owner = node.value
                name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, 'id', '')
                if name in ('window', 'browser', 'w'):
                    offenders.append(f'{path.name}:{node.lineno} {name}.{node.attr}')
    assert offenders == []


def test_every_attribute_a_window_sets_has_a_slot() -> None:
    """Issue 24: a window's attributes live in slots (``WINDOW_SLOTS``); one attribute that ``SimulatedBrowser``
    sets outside them makes every window carry an instance dict again (1.5 KB each at 30+ keys). Every
    ``self.<name> =`` in the class is a slot or a property of the class."""
    import ast

    from clientsim.simulator.browser.state import WINDOW_SLOTS
    from clientsim.simulator.browser.window import SimulatedBrowser
    tree = ast.parse((ROOT / 'simulator' / 'browser' / 'window.py').read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == 'SimulatedBrowser')
    assigned = {t.attr for node in ast.walk(cls) for t in getattr(node, 'targets', [getattr(node, 'target', None)])
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == 'self'}
    properties = {name for klass in SimulatedBrowser.__mro__ for name, value in vars(klass).items()
                  if isinstance(value, property)}
    assert len(assigned) > 40
    assert assigned - set(WINDOW_SLOTS) - properties == set()
