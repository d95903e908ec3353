"""``clientsim matrix``: play one target scenario against several NiceGUI releases, each in its own cached venv.

``clientsim matrix FILE [--nicegui 2.11.0,2.11.1] [--report OUT.json|OUT.html]`` creates (on first use) a venv
per version with ``nicegui==VERSION`` from PyPI under :func:`cache_dir` (``venv-nicegui-<version>``, reused; about
20-30 s each the first time), plays the scenario with ``{python}`` = that venv's interpreter and ``{port}`` = a
free port, and prints a table: one column per version, one row per expectation (actual value, ✓/✗), then key
figures (server errors by type, download statuses, FINALIZED models, clients alive, timing). Without
``--nicegui`` it plays the file's ``nicegui: {bug_in, fixed_in}`` versions. The venvs come from
:mod:`clientsim.simulator.venvs` (uv when installed, else pip; one cache with ``clientsim bisect``).

The command (:mod:`clientsim.simulator.commands.matrix`) exits 0 when every version behaves as the file says
(``bug_in`` versions fail an expectation, ``fixed_in`` and unlisted versions pass all), 1 when one does not, 2 for
a bad file or ``--report``, 3 for a version that cannot be installed. No Qt import.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Optional

from .errors import BadInputError, TargetError
from .event_kinds import EventKind
from .outcome import verdict_colour
from .run_report import RunReport
from .terminal import render, styled, table, verdict
from .venvs import CACHE_ENV, VenvError, cache_dir, nicegui_python

# The venv cache is shared with ``clientsim bisect`` (simulator/venvs.py); these names stay importable from here.
__all__ = ['CACHE_ENV', 'VenvError', 'cache_dir', 'nicegui_python', 'play_version', 'matrix_table', 'versions_of',
           'as_expected']


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
    except TargetError as e:  # the app did not start or answer (TargetStartError)
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
    finalized = sum(1 for e in report.events if e.kind == EventKind.MODEL_FINALIZED)
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


def matrix_table(scenario: Any, reports: list[RunReport], colour: bool = False) -> str:
    """The version × expectations table for ``reports`` (one per version), rendered with rich
    (:mod:`clientsim.simulator.terminal`): plain text, or with ``colour`` ✓/✗ and PASS/FAIL in the outcome colours."""
    names: list[str] = []
    for r in reports:
        names += [c.name for c in r.expectations if c.name not in names]
    header = ['', *[f'nicegui {r.nicegui_version}' for r in reports]]
    rows: list[list[Any]] = [['expected', *['bug shows' if expected_outcome(scenario, r.nicegui_version or '') == 'bug'
                                            else 'fixed' for r in reports]]]
    for name in names:
        cells: list[Any] = []
        for r in reports:
            check = r.expectation(name)
            cells.append('-' if check is None else styled(f"{check.actual} {'✓' if check.passed else '✗'}"[:40],
                                                         verdict_colour(check.passed)))
        wanted = next(c.expected for r in reports for c in r.expectations if c.name == name)
        rows.append([f'{name} (want {wanted})'[:60], *cells])
    figures = [_figures(r) for r in reports]
    for key in figures[0] if figures else []:
        rows.append([key, *[f[key][:40] for f in figures]])
    rows.append(['result', *[verdict(r.passed) for r in reports]])
    rows.append(['as expected', *[styled('yes' if as_expected(scenario, r) else 'NO',
                                         verdict_colour(as_expected(scenario, r))) for r in reports]])
    return render(table(header, rows), colour)


def as_expected(scenario: Any, report: RunReport) -> bool:
    """Whether a version behaved as the file says: failed where ``bug_in`` lists it, passed elsewhere."""
    bug_expected = expected_outcome(scenario, report.nicegui_version or '') == 'bug'
    return (not report.passed) if bug_expected else report.passed


def versions_of(scenario: Any, file: str, versions_arg: Optional[str]) -> list[str]:
    """The versions to play: ``versions_arg`` (``'2.11.0,2.11.1'``) or the file's ``nicegui: bug_in, fixed_in``.
    Raises :class:`BadInputError` when ``scenario`` has no target or no version is named."""
    if scenario.target is None or isinstance(scenario.target, str):
        raise BadInputError(f'{file}: clientsim matrix needs a target: {{command: [...], url: ...}} scenario '
                            "(its command uses '{python}')")
    versions = [v.strip() for v in versions_arg.split(',') if v.strip()] if versions_arg else (
        [*scenario.nicegui.bug_in, *scenario.nicegui.fixed_in] if scenario.nicegui else [])
    if not versions:
        raise BadInputError(f'{file}: no versions: pass --nicegui 2.11.0,2.11.1 or set nicegui: {{bug_in, fixed_in}}')
    return versions


def play_matrix(scenario: Any, versions: list[str],
                on_version: Optional[Callable[[str], None]] = None) -> list[RunReport]:
    """Play the target ``scenario`` on each NiceGUI release of ``versions`` (one cached venv each); returns one
    report per version, its ``scenario`` suffixed ``[nicegui V]``. ``on_version(version)`` is called before each.
    Raises :class:`VenvError` (a TargetError) when a release cannot be installed."""
    reports = []
    for version in versions:
        python = nicegui_python(version, extras=target_extras(scenario))
        if on_version is not None:
            on_version(version)
        report = asyncio.run(play_version(scenario, version, python))
        report.scenario = f'{report.scenario} [nicegui {version}]'
        reports.append(report)
    return reports
