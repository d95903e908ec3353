"""Bug ⇄ fix side by side: two runs of a scenario, one above the other, each with its own windows (a
:class:`~simulator.gui.workspace.Workspace`) and its own lanes (a :class:`~simulator.gui.timeline_view.TimelineView`)
on one shared time axis that starts at each run's scenario start.

Each run gets its own :class:`~simulator.timeline.Timeline` (created just before it starts, so t = 0 is the
scenario's start) and its own embedded server (the player starts one with that run's policy), so the two runs
play at the same time without sharing a client registry.
"""
from __future__ import annotations

import asyncio
import html
from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from clientsim.simulator.browser import SimulatedBrowser
from clientsim.simulator.outcome import FAIL_COLOUR, PASS_COLOUR, verdict_colour, verdict_label
from clientsim.simulator.run_report import RunReport
from clientsim.simulator.scenario import Scenario
from clientsim.simulator.timeline import Timeline

from .browser_window import BrowserWindow
from .timeline_view import TimelineView
from .workspace import Workspace


def policy_variant(scenario: Scenario, policy_update: dict[str, Any]) -> Scenario:
    """A copy of ``scenario`` whose policy has ``policy_update`` applied (field → value, validated by
    :class:`~server.policy.ServerPolicy`; raises ``pydantic.ValidationError`` for a bad field or value)."""
    policy = type(scenario.policy).model_validate({**scenario.policy.model_dump(exclude_unset=True),
                                                   **policy_update})
    return scenario.model_copy(update={'policy': policy})


def hand_variant(scenario: Scenario, changes: dict[str, Any]) -> tuple[Scenario, tuple[str, str], tuple[str, str]]:
    """The side-by-side pair for hand ``changes`` (policy field → value): (the variant with them, the two run
    labels, the two notes after PASS/FAIL). Raises ``pydantic.ValidationError`` for a bad value."""
    label = ', '.join(f'{k}={v}' for k, v in changes.items())
    return (policy_variant(scenario, dict(changes)), ('shipped (as in the file)', f'with {label}'),
            ('', " (of the file's expectations)"))


def result_html(report: RunReport, note: str = '') -> str:
    """PASS/FAIL with the count of expectations held, then ``note`` (after a dash) and each failed one (rich
    text)."""
    ok = report.passed
    lines = [f'<b style="color:{verdict_colour(ok)}">{verdict_label(ok)}</b> '
             f'{report.n_passed}/{len(report.expectations)} expectations'
             + (f' — {html.escape(note.strip())}' if note.strip() else '')]
    lines += [f'<span style="color:{FAIL_COLOUR}">✘ {c.name}: expected {c.expected}, got {c.actual}</span>'
              for c in report.failed][:3]
    return '<br>'.join(lines)


class RunPane(QWidget):
    """One run: ``title`` (variant and policy), ``result`` (PASS/FAIL), ``workspace`` and ``timeline_view``;
    ``report`` is the run's report once it finished (None before)."""

    def __init__(self, colour: str) -> None:
        super().__init__()
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setStyleSheet(f'QLabel {{ border-left: 6px solid {colour}; padding-left: 6px; font-size: 13px; }}')
        self.title.setWordWrap(True)
        self.result = QLabel('')
        self.result.setTextFormat(Qt.TextFormat.RichText)
        self.result.setWordWrap(True)
        self.workspace = Workspace(full_limit=0)  # tiles: name, state, outcome colour, last status at a glance
        self.timeline_view = TimelineView()
        self.timeline: Optional[Timeline] = None
        self.base_url: Optional[str] = None
        self.report: Optional[RunReport] = None
        body = QSplitter(Qt.Orientation.Vertical)  # tiles above, the lanes below at full width
        body.addWidget(self.workspace)
        body.addWidget(self.timeline_view)
        body.setStretchFactor(0, 1)
        body.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        head = QHBoxLayout()
        head.addWidget(self.title, 2)
        head.addWidget(self.result, 1)
        layout.addLayout(head)
        layout.addWidget(body, 1)

    def adopt(self, browser: SimulatedBrowser) -> BrowserWindow:
        """``on_window`` for the player: a docked window for ``browser``."""
        window = BrowserWindow(browser, base_url=lambda: self.base_url)
        self.workspace.add(window)
        return window

    async def clear(self) -> None:
        """Close this run's windows (their browsers were closed by the player) and forget its timeline."""
        windows = list(self.workspace.windows)
        self.workspace.clear()
        for window in windows:
            window.close_programmatically()
            window.setParent(None)
        await asyncio.gather(*(w.browser.close() for w in windows), return_exceptions=True)
        await asyncio.gather(*(w.tasks.cancel_all() for w in windows), return_exceptions=True)
        self.timeline_view.detach()
        self.result.setText('')


class CompareView(QWidget):
    """Two :class:`RunPane` (``panes[0]`` above: the shipped behaviour, ``panes[1]`` below: the fix) whose
    timelines share one x axis. :meth:`play` plays two scenarios at once; ``back_button`` returns to the live
    workspace (its owner connects it)."""

    def __init__(self) -> None:
        super().__init__()
        self.panes = [RunPane(FAIL_COLOUR), RunPane(PASS_COLOUR)]
        self.panes[1].timeline_view.plot.setXLink(self.panes[0].timeline_view.plot)
        self.panes[1].timeline_view.follow = False  # the upper view drives the shared x range
        self.panes[1].timeline_view.legend_area.hide()  # one legend (above) for both
        self.heading = QLabel('<b>Bug ⇄ fix side by side</b>')
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.back_button = QPushButton('◀ Back to the live workspace')
        head = QHBoxLayout()
        head.addWidget(self.heading, 1)
        head.addWidget(self.back_button)
        split = QSplitter(Qt.Orientation.Vertical)
        for pane in self.panes:
            split.addWidget(pane)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(split, 1)

    async def clear(self) -> None:
        """Close both runs' windows."""
        await asyncio.gather(*(pane.clear() for pane in self.panes))

    async def play(self, scenarios: Sequence[Scenario], labels: Sequence[str] = ('shipped', 'fixed'),
                   notes: Sequence[str] = ('', ''),
                   on_step: Optional[Callable[[int], None]] = None) -> list[RunReport]:
        """Play ``scenarios[0]`` (above) and ``scenarios[1]`` (below) at the same time, each on its own server
        and timeline; returns both reports in that order. ``labels`` name the runs; ``notes`` follow each
        PASS/FAIL line; ``on_step(index)`` is called before each step of either run (0-based).
        A run that raises (e.g. OSError when no port is free) propagates after both ended."""
        from clientsim.simulator.player import ScenarioPlayer
        await self.clear()
        self.heading.setText(f'<b>Bug ⇄ fix side by side</b> — {scenarios[0].name}<br>the same steps, two '
                             'policies; both timelines on one axis from the scenario start (t = 0)')

        async def run(pane: RunPane, scenario: Scenario, label: str, note: str) -> RunReport:
            pane.title.setText(f'<b>{label}</b> — policy: {scenario.policy_summary()}')
            pane.result.setText('playing…')
            pane.timeline = Timeline()  # t0 = this run's start
            pane.timeline_view.title = f'clientsim timeline — {scenario.name}, {label}'
            pane.timeline_view.attach(pane.timeline)
            player = ScenarioPlayer(scenario, timeline=pane.timeline, on_window=pane.adopt,
                                    on_step=None if on_step is None else lambda _s, i, _n: on_step(i))
            pane.base_url, pane.report = None, None
            report = pane.report = await player.run()
            pane.base_url = player.base_url
            pane.result.setText(result_html(report, note))
            return report

        runs = zip(self.panes, scenarios, labels, notes, strict=False)
        results = await asyncio.gather(*(run(p, s, lb, n) for p, s, lb, n in runs), return_exceptions=True)
        for pane in self.panes:
            pane.timeline_view.redraw()
        end_ms = max(pane.timeline_view.lanes.last_ms for pane in self.panes)
        self.panes[0].timeline_view.plot.setXRange(0, max(end_ms, 10.0) * 1.03, padding=0)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return list(results)  # type: ignore[arg-type]
