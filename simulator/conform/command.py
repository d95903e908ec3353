"""``clientsim conform [--nicegui V ...] [--report OUT.json|OUT.html]``: run the conformance suite per NiceGUI version
and print (and optionally write) the table of checks. Exit code 0 when every row is the same, 1 when one is not,
3 when Chromium or the app cannot run (the message names the apt packages ``chromium chromium-driver``).
"""
from __future__ import annotations

import argparse
import asyncio
import html
import json
import sys
from pathlib import Path
from typing import Any, Optional

from ..errors import BadInputError, ClientsimError
from .checks import rows
from .chromium import missing_reason
from .runner import Run, observe

DEFAULT_VERSIONS = ('2.11.0', '3.18.0')


async def conform_version(version: str, *, seed: int = 0, loads: int = 3, race_runs: int = 2) -> dict[str, Any]:
    """Run the suite on NiceGUI ``version``; returns ``{version, rows: [Row dicts], same: bool, warnings}``.
    Raises :class:`~clientsim.simulator.errors.ClientsimError` subclasses when Chromium or the app cannot run."""
    run = Run(version, seed)
    try:
        await run.start()
        await observe(run, loads=loads, race_runs=race_runs)
    finally:
        await run.stop()
    table = rows(run.obs, version)
    skews = [x['clock_skew_ms'] for x in run.obs['chromium'].get('loads', []) if 'clock_skew_ms' in x]
    warnings = list(run.warnings)
    if any(not -5 <= skew <= 100 for skew in skews):
        warnings.append(f'CDP timestamps and perf_counter_ns disagree: proxy minus CDP = {skews} ms '
                        '(expected 0-100 ms: one CLOCK_MONOTONIC); timings across sides are doubtful')
    observations = json.loads(json.dumps(run.obs, default=lambda o: getattr(o, '__dict__', str(o))))
    return {'version': version, 'rows': [r.to_dict() for r in table], 'same': all(r.same for r in table),
            'clock_skew_ms': skews, 'warnings': warnings, 'observations': observations}


def render_text(result: dict[str, Any]) -> str:
    """One version's table as text (check | Chromium | clientsim | same)."""
    lines = [f"NiceGUI {result['version']}: {'all the same' if result['same'] else 'DIFFERENT'}"]
    for row in result['rows']:
        mark = 'same' if row['same'] else 'DIFF'
        lines.append(f"  [{mark}] {row['check']} ({row['tolerance']})\n"
                     f"         Chromium:  {row['chromium']}\n         clientsim: {row['clientsim']}")
    lines.extend(f'  warning: {w}' for w in result['warnings'])
    return '\n'.join(lines)


def render_html(results: list[dict[str, Any]]) -> str:
    """All versions' tables as one HTML page."""
    parts = ['<!doctype html><meta charset="utf-8"><title>clientsim conform</title>',
             '<style>td,th{border:1px solid #ccc;padding:4px;font:13px sans-serif}.no{background:#fdd}'
             '.yes{background:#dfd}</style>']
    for result in results:
        parts.append(f"<h2>NiceGUI {html.escape(result['version'])}</h2><table><tr><th>check</th><th>tolerance</th>"
                     '<th>Chromium</th><th>clientsim</th><th>same</th></tr>')
        for row in result['rows']:
            cls = 'yes' if row['same'] else 'no'
            parts.append('<tr>' + ''.join(f'<td>{html.escape(str(row[k]))}</td>'
                                          for k in ('check', 'tolerance', 'chromium', 'clientsim'))
                         + f"<td class={cls}>{'same' if row['same'] else 'different'}</td></tr>")
        parts.append('</table>' + ''.join(f'<p>warning: {html.escape(w)}</p>' for w in result['warnings']))
    return '\n'.join(parts)


def write_report(results: list[dict[str, Any]], out: str) -> None:
    """Write ``results`` to ``out`` (``.json`` or ``.html``). Raises :class:`BadInputError` for another suffix."""
    path = Path(out)
    if path.suffix == '.json':
        path.write_text(json.dumps(results, indent=2))
    elif path.suffix in ('.html', '.htm'):
        path.write_text(render_html(results))
    else:
        raise BadInputError(f'--report {out}: write .json or .html')


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``clientsim conform`` on the CLI's subparsers."""
    p = sub.add_parser('conform', help='compare clientsim windows with real headless Chromium on a real NiceGUI app')
    p.add_argument('--nicegui', action='append', metavar='V', help='NiceGUI version (repeatable; default: '
                   + ' and '.join(DEFAULT_VERSIONS) + '; commas allowed)')
    p.add_argument('--report', metavar='OUT', help='write the tables (.json or .html)')
    p.add_argument('--seed', type=int, default=0, help="seed of the clientsim windows' draws")


def cmd_conform(args: argparse.Namespace) -> int:
    """``clientsim conform``; returns the exit code (see the module docstring)."""
    versions: list[str] = [v.strip() for text in (args.nicegui or DEFAULT_VERSIONS) for v in text.split(',')
                           if v.strip()]
    if args.report and Path(args.report).suffix not in ('.json', '.html', '.htm'):
        print(f'error: --report {args.report}: write .json or .html', file=sys.stderr)
        return BadInputError.exit_code
    reason: Optional[str] = missing_reason()
    if reason is not None:
        print(f'error: cannot run Chromium: {reason}', file=sys.stderr)
        return 3
    results = []
    for version in versions:
        try:
            result = asyncio.run(conform_version(version, seed=args.seed))
        except (ClientsimError, TimeoutError) as e:
            print(f'error: NiceGUI {version}: {e}', file=sys.stderr)
            return getattr(e, 'exit_code', 3)
        print(render_text(result), flush=True)
        results.append(result)
    if args.report:
        write_report(results, args.report)
    return 0 if all(r['same'] for r in results) else 1
