"""``clientsim matrix``: play one target scenario against several NiceGUI releases, each in its own cached venv.

``clientsim matrix FILE [--nicegui 2.11.0,2.11.1] [--report OUT.json|OUT.html]`` creates (on first use) a venv
per version with ``nicegui==VERSION`` from PyPI under :func:`cache_dir` (``venv-nicegui-<version>``, reused; about
20-30 s each the first time), plays the scenario with ``{python}`` = that venv's interpreter and ``{port}`` = a
free port, and prints a table: one column per version, one row per expectation (actual value, ✓/✗), then key
figures (server errors by type, download statuses, FINALIZED models, clients alive, timing). Without
``--nicegui`` it plays the file's ``nicegui: {bug_in, fixed_in}`` versions. The venvs come from
:mod:`clientsim.simulator.venvs` (uv when installed, else pip; one cache with ``clientsim bisect``).

Exit codes as for ``play``: 0 when every version behaves as the file says (``bug_in`` versions fail an
expectation, ``fixed_in`` and unlisted versions pass all), 1 when one does not, 2 for a bad file, a bad
``--report`` or a version that cannot be installed. No Qt import.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any, Optional

from .run_report import RunReport
from .venvs import CACHE_ENV, VenvError, cache_dir, nicegui_python

# The venv cache is shared with ``clientsim bisect`` (simulator/venvs.py); these names stay importable from here.
__all__ = ['CACHE_ENV', 'VenvError', 'cache_dir', 'nicegui_python', 'play_version', 'matrix_table', 'cmd_matrix']


def target_extras(scenario: Any) -> str:
    """The ``nicegui[...]`` extras a target scenario's app needs: ``'redis'`` with ``target: {redis: true}``."""
    return 'redis' if getattr(scenario.target, 'redis', False) else ''


async def play_version(scenario: Any, version: str, python: str) -> RunReport:
    """Play ``scenario`` (a target scenario) with ``{python}`` = ``python``; returns the report with
    ``nicegui_version`` added. An app that does not come up gives a failed report (not an exception)."""
    from .player import ScenarioPlayer
    player = ScenarioPlayer(scenario)
    assert player.target is not None
    player.target.python = python
    try:
        report = await player.run()
    except (RuntimeError, OSError) as e:
        report = RunReport.failed_to_start(scenario, str(e))
    report.nicegui_version = version
    return report


def expected_outcome(scenario: Any, version: str) -> str:
    """``'bug'`` when the scenario's ``nicegui.bug_in`` lists ``version`` (its expectations should fail there),
    else ``'pass'``."""
    return 'bug' if scenario.nicegui is not None and version in scenario.nicegui.bug_in else 'pass'


def _figures(report: RunReport) -> dict[str, str]:
    errors = report.error_counts()
    statuses: dict[str, int] = {}
    for w in report.windows:
        for d in w.downloads:
            statuses[str(d.status)] = statuses.get(str(d.status), 0) + 1
    finalized = sum(1 for e in report.events if e.kind == 'model_finalized')
    probe = report.target.probe if report.target is not None else None
    installed, reason = (probe.installed, probe.reason) if probe is not None else (False, None)
    return {
        'server errors': ' '.join(f'{k}:{v}' for k, v in sorted(errors.items())) or '0',
        'downloads': ' '.join(f'{k}:{v}' for k, v in sorted(statuses.items())) or '-',
        'models finalized': str(finalized),
        'clients alive': str(report.clients_alive),
        'timing': ('one clock' if installed else f"client side ({reason or 'no probe'})"
                   if report.timing else 'not run'),
    }


def matrix_table(scenario: Any, reports: list[RunReport]) -> str:
    """The version × expectations table (plain text, fixed width) for ``reports`` (one per version)."""
    names: list[str] = []
    for r in reports:
        names += [c.name for c in r.expectations if c.name not in names]
    rows = [['', *[f'nicegui {r.nicegui_version}' for r in reports]],
            ['expected', *['bug shows' if expected_outcome(scenario, r.nicegui_version or '') == 'bug' else 'fixed'
                           for r in reports]]]
    for name in names:
        cells = []
        for r in reports:
            check = r.expectation(name)
            cells.append('-' if check is None else f"{check.actual} {'✓' if check.passed else '✗'}"[:40])
        wanted = next(c.expected for r in reports for c in r.expectations if c.name == name)
        rows.append([f'{name} (want {wanted})'[:60], *cells])
    figures = [_figures(r) for r in reports]
    for key in figures[0] if figures else []:
        rows.append([key, *[f[key][:40] for f in figures]])
    rows.append(['result', *['PASS' if r.passed else 'FAIL' for r in reports]])
    rows.append(['as expected', *['yes' if as_expected(scenario, r) else 'NO' for r in reports]])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return '\n'.join(lines)


def as_expected(scenario: Any, report: RunReport) -> bool:
    """Whether a version behaved as the file says: failed where ``bug_in`` lists it, passed elsewhere."""
    bug_expected = expected_outcome(scenario, report.nicegui_version or '') == 'bug'
    return (not report.passed) if bug_expected else report.passed


def cmd_matrix(file: str, versions_arg: Optional[str], report_path: Optional[str]) -> int:
    """``clientsim matrix``; returns the exit code (0 as expected, 1 not, 2 bad input)."""
    from .report import write_report
    from .scenario import ScenarioError, load_scenario
    try:
        scenario = load_scenario(file)
    except ScenarioError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if scenario.target is None or isinstance(scenario.target, str):
        print(f'error: {file}: clientsim matrix needs a target: {{command: [...], url: ...}} scenario '
              "(its command uses '{python}')", file=sys.stderr)
        return 2
    versions = [v.strip() for v in versions_arg.split(',') if v.strip()] if versions_arg else (
        [*scenario.nicegui.bug_in, *scenario.nicegui.fixed_in] if scenario.nicegui else [])
    if not versions:
        print(f'error: {file}: no versions: pass --nicegui 2.11.0,2.11.1 or set nicegui: {{bug_in, fixed_in}}',
              file=sys.stderr)
        return 2
    if report_path and Path(report_path).suffix not in ('.json', '.html'):
        print(f'error: --report must end in .json or .html, got {report_path}', file=sys.stderr)
        return 2
    reports = []
    for version in versions:
        try:
            python = nicegui_python(version, extras=target_extras(scenario))
        except VenvError as e:
            print(f'error: {e}', file=sys.stderr)
            return 2
        print(f'nicegui {version}: playing {Path(file).name} ...', flush=True)
        report = asyncio.run(play_version(scenario, version, python))
        report.scenario = f'{report.scenario} [nicegui {version}]'
        reports.append(report)
    print(f'\n{scenario.name}\n{matrix_table(scenario, reports)}')
    if report_path:
        try:
            write_report(reports, report_path)
        except (OSError, ValueError) as e:
            print(f'error: {e}', file=sys.stderr)
            return 2
        print(f'report: {report_path}')
    return 0 if all(as_expected(scenario, r) for r in reports) else 1
