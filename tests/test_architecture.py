"""Principle 1 of the architecture: the core (server/, simulator/ outside gui/) never imports Qt."""
from __future__ import annotations

import ast

from .conftest import ROOT

QT = {'PySide6', 'qasync', 'shiboken6', 'pyqtgraph', 'PyQt5', 'PyQt6'}


def test_core_imports_no_qt():
    offenders = []
    for path in [*(ROOT / 'server').rglob('*.py'), *(ROOT / 'simulator').rglob('*.py')]:
        if 'gui' in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ''] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f'{path.relative_to(ROOT)}: {n}' for n in names if n.split('.')[0] in QT]
    assert offenders == []
