"""The simulated-browser package keeps one concept per module: each under 450 lines, and its imports go one way
(no cycle inside the package, counting imports under ``TYPE_CHECKING``; no part imports the ``window`` facade)."""
from __future__ import annotations

import ast

import simulator.browser as browser

from .conftest import ROOT

PACKAGE = ROOT / 'simulator' / 'browser'


def _sibling_imports(path) -> set[str]:
    """Names of sibling modules ``path`` imports (relative or absolute, anywhere in the file)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module is None:  # from . import x
                found |= {a.name for a in node.names}
            elif node.level == 1:  # from .x import y
                found.add(node.module.split('.')[0])
            elif node.level == 0 and (node.module or '').startswith('simulator.browser.'):
                found.add(node.module.split('.')[2])
        elif isinstance(node, ast.Import):
            found |= {a.name.split('.')[2] for a in node.names if a.name.startswith('simulator.browser.')}
    return found


def _graph() -> dict[str, set[str]]:
    modules = {p.stem: p for p in PACKAGE.glob('*.py')}
    return {name: _sibling_imports(path) & set(modules) - {name} for name, path in modules.items()
            if name != '__init__'}


def test_modules_are_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob('*.py')}
    assert len(sizes) >= 7 and {name: n for name, n in sizes.items() if n >= 450} == {}


def test_no_import_cycle_and_parts_do_not_import_the_facade():
    graph = _graph()
    assert {name for name, imports in graph.items() if 'window' in imports} == set()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f'import cycle: {" -> ".join(path + (name,))}'
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, path + (name,))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())
    assert graph['state'] == set()  # the leaf every part is typed against


def test_public_names_still_importable_from_the_package():
    for name in ('SimulatedBrowser', 'Latency', 'Download', 'Frame', 'PageError', 'parse_page', 'js_query_value',
                 'describe_element', 'stringify_event_args', 'WIDGET_KINDS', 'VALUE_EVENTS', 'STATES', 'CLOSED',
                 'LOADING', 'CONNECTING', 'CONNECTED', 'HANDSHAKE_DONE', 'DISCONNECTED', 'LOAD_FAILED'):
        assert hasattr(browser, name), name
    assert browser.SimulatedBrowser.__module__ == 'simulator.browser.window'
