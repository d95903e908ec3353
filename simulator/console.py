"""What ``clientsim play`` prints while it plays: the result table row by row, as each scenario variant finishes,
and on a terminal a progress line (``[2/6] fast_navigation.yaml (fixed) step 3/5: close …``) that is redrawn in
place (a transient :class:`rich.live.Live` display) and cleared before each row. No Qt import here.

The progress line goes to ``stderr`` and only when it is a terminal (``isatty()``), so piped or captured output
holds the table alone; the table is coloured (PASS/FAIL) only when ``stdout`` is a terminal.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional, TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from .report import ResultTable, shorten
from .terminal import is_terminal

if TYPE_CHECKING:
    from .run_report import RunReport
    from .scenario import Scenario
    from .steps import Step

#: characters of the progress line at most (it must fit one terminal row to be redrawn in place)
PROGRESS_WIDTH = 78


class PlayConsole:
    """Prints the table for ``scenarios`` (the variants about to play, in order) to ``out`` and a progress line to
    ``progress`` (default ``sys.stderr``) when that is a terminal.

    Call :meth:`start` once, :meth:`playing` before each scenario, :meth:`on_step` as the player's ``on_step``
    callback, :meth:`finished` with each report (prints its row at once) and :meth:`close` at the end."""

    def __init__(self, scenarios: list[Scenario], out: Optional[TextIO] = None,
                 progress: Optional[TextIO] = None) -> None:
        self.scenarios = scenarios
        self.out = out or sys.stdout
        self.progress = progress or sys.stderr
        self.live = is_terminal(self.progress)
        self.colour = is_terminal(self.out)
        self.table = ResultTable([(s.path or s.name, s.policy_summary()) for s in scenarios])
        self.done = 0
        #: the reports finished so far (kept by ``clientsim play`` when Ctrl+C ends the run)
        self.reports: list[RunReport] = []
        self._label = ''
        self._display: Optional[Live] = None

    def start(self) -> None:
        """Print the table header."""
        print(self.table.header(self.colour), file=self.out, flush=True)

    def playing(self, scenario: Scenario) -> None:
        """``scenario`` starts: show ``[i/n] file (variant)`` on the progress line."""
        name = Path(scenario.path).name if scenario.path else scenario.name
        self._label = f'[{self.done + 1}/{len(self.scenarios)}] {name} ({scenario.variant})'
        self._show(self._label + ' starting')

    def on_step(self, step: Step, index: int, total: int) -> None:
        """The player's ``on_step`` callback: show the step about to run."""
        self._show(f'{self._label} step {index + 1}/{total}: {step.describe()}')

    def finished(self, report: RunReport) -> None:
        """Print ``report``'s row now (clearing the progress line first)."""
        self.done += 1
        self.reports.append(report)
        self._clear()
        print(self.table.row(report, self.colour), file=self.out, flush=True)

    def close(self) -> None:
        """Clear the progress line."""
        self._clear()

    def _show(self, text: str) -> None:
        if not self.live:
            return
        line = Text(shorten(text, PROGRESS_WIDTH), no_wrap=True, overflow='ellipsis')
        if self._display is None:
            self._display = Live(line, console=Console(file=self.progress, highlight=False), transient=True,
                                 auto_refresh=False, redirect_stdout=False, redirect_stderr=False)
            self._display.start()
        self._display.update(line, refresh=True)

    def _clear(self) -> None:
        if self._display is not None:
            self._display.stop()  # transient: the line is erased
            self._display = None
