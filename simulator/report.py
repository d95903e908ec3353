"""Writing reports: JSON (``.json``), events as JSON lines (``.jsonl``), and the console table. No Qt.

The JSON report is always ``{"passed": bool, "scenarios": [report, ...]}``
(:class:`clientsim.simulator.run_report.ReportFile`, JSON Schema in ``docs/run_report.schema.json``): one
:class:`~clientsim.simulator.run_report.RunReport` per scenario file and variant, each with ``variant``
(``shipped`` or ``fixed``, see :mod:`clientsim.simulator.variants`).
"""
from __future__ import annotations

import json
from pathlib import Path

from .outputs import write_atomic
from .run_report import ReportFile, RunReport
from .terminal import render, table, verdict


def write_report(reports: list[RunReport], path: str | Path) -> None:
    """Write ``reports`` to ``path``: ``.json`` as ``{'passed': bool, 'scenarios': [...]}``
    (``passed``: every report passed), ``.html`` as a self-contained page (see :mod:`clientsim.simulator.html_report`).
    Raises ValueError for another suffix, OSError when the file cannot be written."""
    path = Path(path)
    if path.suffix == '.html':
        from .html_report import render_html
        write_atomic(path, render_html(reports))
        return
    if path.suffix != '.json':
        raise ValueError(f'--report must end in .json or .html, got {path.name}')
    data = ReportFile.of(reports).model_dump()
    write_atomic(path, json.dumps(data, indent=1, default=str))


def write_events(reports: list[RunReport], path: str | Path) -> None:
    """Every event of every report as JSON lines, each with ``scenario`` and ``variant`` fields, streamed into a
    temporary file that replaces ``path`` at the end (:func:`clientsim.simulator.outputs.write_atomic`).
    Raises OSError."""
    write_atomic(path, (json.dumps({'scenario': report.scenario, 'variant': report.variant, **event}, default=str)
                        + '\n' for report in reports for event in report.event_dicts()))


#: the console table's columns
COLUMNS = ('scenario', 'variant', 'policy', 'expectations', 'duration', 'result')
#: the policy column is cut to this many characters, ending in "…"
POLICY_WIDTH = 48


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the last one "…" when something was cut."""
    return text if len(text) <= width else text[:max(width - 1, 0)].rstrip() + '…'


class ResultTable:
    """The console table, printable row by row as scenarios finish: :meth:`header` first, then :meth:`row` per
    report (rendered with rich, :mod:`clientsim.simulator.terminal`). Column widths come from ``known`` —
    ``(file_or_name, policy_summary)`` of every row to come — so rows line up without waiting for the last one;
    expectations and duration have fixed widths. ``colour=True`` colours PASS/FAIL (for a terminal)."""

    def __init__(self, known: list[tuple[str, str]]) -> None:
        self.widths = [max([len(COLUMNS[0]), *(len(Path(f).name) for f, _p in known)]), len('shipped'),
                       max([len(COLUMNS[2]), *(len(shorten(p, POLICY_WIDTH)) for _f, p in known)]),
                       len(COLUMNS[3]), len('9999.99 s'), len(COLUMNS[5])]

    def header(self, colour: bool = False) -> str:
        """The column titles and the dashes under them (two lines)."""
        return render(table(COLUMNS, widths=self.widths), colour)

    def row(self, report: RunReport, colour: bool = False) -> str:
        """One report's row: file name, variant, policy summary (cut with "…"), expectations passed, duration
        (s), PASS/FAIL."""
        cells = (Path(report.file or report.scenario).name, report.variant,
                 shorten(report.policy_summary, POLICY_WIDTH), f'{report.n_passed}/{len(report.expectations)}',
                 f'{report.duration_ms / 1000:.2f} s', verdict(report.passed))
        return render(table(COLUMNS, [cells], widths=self.widths, show_header=False), colour)


def summary_table(reports: list[RunReport], colour: bool = False) -> str:
    """The whole table at once (see :class:`ResultTable`): scenario file, variant, policy, expectations passed,
    duration, result."""
    t = ResultTable([(r.file or r.scenario, r.policy_summary) for r in reports])
    return '\n'.join([t.header(colour), *(t.row(r, colour) for r in reports)])


def failures_text(report: RunReport) -> str:
    """The failed expectations of a report, one per line, or '' when it passed."""
    return '\n'.join(f'  FAILED {c.name}: expected {c.expected}, got {c.actual}' for c in report.failed)
