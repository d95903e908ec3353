"""The architecture rules, checked on the source tree:

* the import contracts in pyproject.toml ``[tool.importlinter]`` (import-linter), one test per contract: no Qt in
  the core, ``server`` uses only the leaves ``simulator.timeline`` / ``simulator.tasks``, nobody outside
  ``simulator.gui`` imports it (``simulator.cli`` launches it), no cycles between sibling modules;
* no import cycle at all between the modules of ``server`` and ``simulator``, TYPE_CHECKING imports included
  (grimp's graph, strongly connected components — also cycles through a package's ``__init__``);
* no module in ``server/`` or ``simulator/`` (``gui/`` included) over 450 lines;
* ``ruff check`` (rules in pyproject.toml ``[tool.ruff]``) passes on server, simulator, tests and benchmarks.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import grimp
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
    assert len(CONTRACTS) == 5, CONTRACTS


@pytest.mark.parametrize('contract', CONTRACTS)
def test_import_contract(contract: str) -> None:
    proc = subprocess.run([str(_lint_imports()), '--no-cache', '--no-logo', '--contract', contract], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert 'KEPT' in proc.stdout, proc.stdout[-4000:]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def test_cycle_finder_finds_cycles() -> None:
    """The check below can fail: a ring a -> b -> c -> a and a pair d <-> e are found, a chain is not."""
    graph = grimp.ImportGraph()
    for importer, imported in [('p.a', 'p.b'), ('p.b', 'p.c'), ('p.c', 'p.a'), ('p.d', 'p.e'), ('p.e', 'p.d'),
                               ('p.f', 'p.a')]:
        graph.add_import(importer=importer, imported=imported)
    assert sorted(_cycles(graph)) == [['p.a', 'p.b', 'p.c'], ['p.d', 'p.e']]


def test_no_import_cycles() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=False, cache_dir=None)
    cycles = _cycles(graph)
    details = []
    for component in cycles:
        members = set(component)
        edges = sorted(f'{a} -> {b}' for a in component for b in graph.find_modules_directly_imported_by(a)
                       if b in members)
        details.append(f'{", ".join(component)}:\n    ' + '\n    '.join(edges))
    assert cycles == [], 'import cycles (TYPE_CHECKING imports included):\n' + '\n'.join(details)


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
                           'server', 'simulator', 'tests', 'benchmarks'], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
