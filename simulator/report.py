"""Writing reports: JSON (``.json``), events as JSON lines (``.jsonl``), and the console table. No Qt."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_report(reports: list[dict[str, Any]], path: str | Path) -> None:
    """Write one report (a single scenario) or ``{'scenarios': [...], 'passed': bool}`` (several) to ``path``.

    ``.json`` writes JSON; ``.html`` a self-contained HTML page (see :mod:`simulator.html_report`).
    Raises ValueError for another suffix, OSError when the file cannot be written."""
    path = Path(path)
    if path.suffix == '.html':
        from .html_report import render_html
        path.write_text(render_html(reports), encoding='utf-8')
        return
    if path.suffix != '.json':
        raise ValueError(f'--report must end in .json or .html, got {path.name}')
    data: Any = reports[0] if len(reports) == 1 else {
        'passed': all(r['passed'] for r in reports), 'scenarios': reports}
    path.write_text(json.dumps(data, indent=1, default=str), encoding='utf-8')


def write_events(reports: list[dict[str, Any]], path: str | Path) -> None:
    """Every event of every report as JSON lines, each with a ``scenario`` field. Raises OSError."""
    with open(path, 'w', encoding='utf-8') as f:
        for report in reports:
            for event in report['events']:
                f.write(json.dumps({'scenario': report['scenario'], **event}, default=str) + '\n')


def summary_table(reports: list[dict[str, Any]]) -> str:
    """A fixed-width table: scenario file, policy, expectations passed, duration (ms)."""
    rows = [('scenario', 'policy', 'expectations', 'duration', 'result')]
    for r in reports:
        n_ok = sum(c['passed'] for c in r['expectations'])
        rows.append((Path(r['file'] or r['scenario']).name, r['policy_summary'][:70],
                     f"{n_ok}/{len(r['expectations'])}", f"{r['duration_ms'] / 1000:.2f} s",
                     'PASS' if r['passed'] else 'FAIL'))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def failures_text(report: dict[str, Any]) -> str:
    """The failed expectations of a report, one per line, or '' when it passed."""
    return '\n'.join(f"  FAILED {c['name']}: expected {c['expected']}, got {c['actual']}"
                     for c in report['expectations'] if not c['passed'])
