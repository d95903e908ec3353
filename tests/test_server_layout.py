"""The layout rules of server/: no import cycles (TYPE_CHECKING imports included), no module over 450 lines,
only the leaves simulator.timeline / simulator.tasks from simulator/, and the server satisfies the protocols
its parts depend on."""
from __future__ import annotations

import ast
import asyncio

from server.app import EmbeddedServer
from server.context import ServerContext
from server.handlers import HandlerContext
from server.pages import PageContext

from .conftest import ROOT

SERVER = ROOT / 'server'


def _imports(path) -> set[str]:
    """Absolute module names ``path`` imports (relative imports resolved inside ``server``), wherever the
    import statement is (module level, functions, ``if TYPE_CHECKING:``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = 'server' if node.level else ''
            module = '.'.join(p for p in (base, node.module or '') if p)
            names.add(module)
            names.update(f'{module}.{a.name}' for a in node.names)  # `from . import x` imports server.x
    return names


def _graph() -> dict[str, set[str]]:
    modules = {f'server.{p.stem}' for p in SERVER.glob('*.py') if p.stem != '__init__'}
    return {f'server.{p.stem}': _imports(p) & modules for p in SERVER.glob('*.py') if p.stem != '__init__'}


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    """Every import chain that leads from a module back to itself, as ``a -> b -> a``."""
    cycles = []
    for start in graph:
        stack, seen = [(start, [start])], set()
        while stack:
            module, chain = stack.pop()
            for nxt in sorted(graph[module]):
                if nxt == start:
                    cycles.append(' -> '.join(chain + [nxt]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, chain + [nxt]))
    return cycles


def test_no_import_cycles_in_server():
    graph = _graph()
    assert 'server.client' in graph['server.handlers']  # the graph is really read
    assert _cycles(graph) == []


def test_cycle_finder_sees_type_checking_imports(tmp_path):
    (tmp_path / 'a.py').write_text('from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import B\n')
    assert 'server.b' in _imports(tmp_path / 'a.py')
    assert _cycles({'server.a': {'server.b'}, 'server.b': {'server.a'}, 'server.c': set()}) != []


def test_server_modules_are_short_and_import_only_simulator_leaves():
    offenders = []
    for path in SERVER.glob('*.py'):
        lines = len(path.read_text().splitlines())
        if lines > 450:
            offenders.append(f'{path.name}: {lines} lines')
        offenders += [f'{path.name}: imports {m}' for m in _imports(path)
                      if m.split('.')[0] == 'simulator' and m not in {'simulator', 'simulator.timeline',
                                                                      'simulator.tasks'}
                      and not m.startswith(('simulator.timeline.', 'simulator.tasks.'))]
    assert offenders == []


def test_server_satisfies_the_protocols_of_its_parts():
    async def main() -> tuple[bool, bool, bool]:
        server = EmbeddedServer()
        await server.start()
        try:
            return (isinstance(server, ServerContext), isinstance(server, PageContext),
                    isinstance(server, HandlerContext))
        finally:
            await server.stop()
    assert asyncio.run(main()) == (True, True, True)
    assert not isinstance(object(), ServerContext)
