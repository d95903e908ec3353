"""``clientsim bisect``: which NiceGUI release changed a target scenario's outcome, flake-aware.

``clientsim bisect FILE [--good V] [--bad V] [--runs N] [--confidence P] [--on NAME] [--report OUT.json|OUT.html]``
plays a target scenario (``{python}`` in its command) on real NiceGUI releases, each in a cached venv
(:mod:`clientsim.simulator.venvs`: uv when installed, one cache with ``clientsim matrix``), and finds the first
release, in the package index's order, whose outcome is the one ``--bad`` shows. Without bounds it uses the file's
``nicegui: {bug_in, fixed_in}`` (the oldest and newest named) or the whole 2.x-3.x range.

"Outcome" is the scenario's PASS/FAIL, or one expectation's with ``--on NAME`` (e.g. ``--on server_errors.KeyError``;
a prefix of the expectation's name). Each release gets ``--runs`` runs and more where the runs disagree (up to
3 × ``--runs``); the verdict comes from the Beta-Bernoulli model of :mod:`clientsim.simulator.bisect_model`: the
culprit with its posterior probability, or "can't tell" when no release reaches ``--confidence``.

Exit codes: 0 a culprit found with the asked confidence, 1 can't tell, 2 bad input, 3 a bound cannot be installed.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from .bisect_model import Tally, bounds_differ, next_release, posterior
from .errors import BadInputError
from .outcome import FAIL_COLOUR, NEUTRAL_COLOUR, PASS_COLOUR, WARN_COLOUR, verdict_label
from .outputs import write_atomic
from .run_report import RunReport
from .terminal import render, styled, table
from .venvs import Releases, VenvError, nicegui_python, releases, version_key

Progress = Callable[[str, 'Tally'], None]
"""Called after every run: (a line saying what happened, the release's tally so far)."""


@dataclass
class BisectResult:
    """What ``clientsim bisect`` found. ``culprit``: the first release with the new outcome, or None (can't tell);
    ``confidence``: its posterior probability (0..1); ``old``/``new``: the outcomes before and from the culprit
    (``PASS``/``FAIL``, or ``NAME passed``/``NAME failed`` with ``--on``); ``tallies``: every release in the range,
    oldest first, with runs and new-outcome counts (untested ones have 0 runs); ``reason``: why can't tell."""

    file: str
    good: str
    bad: str
    culprit: Optional[str]
    confidence: float
    old: str
    new: str
    runs_total: int
    tallies: list[Tally]
    yanked: list[str] = field(default_factory=list)
    reason: str = ''

    def table(self, colour: bool = False) -> str:
        """One line per release: version, runs, runs with the new outcome, and the verdict's marks (rendered with
        rich, :mod:`clientsim.simulator.terminal`; coloured with ``colour``)."""
        rows: list[list[Any]] = []
        for t in self.tallies:
            if t.skipped:
                rows.append([t.version, '-', '-', '-', f'skipped: {t.skipped}'])
            elif t.runs:
                mark = styled(f'← first with {self.new}', 'bold') if t.version == self.culprit else ''
                rows.append([t.version, str(t.runs), str(t.new), str(t.runs - t.new), mark])
            else:
                rows.append([t.version, '', 'not played', '', ''])
        return render(table(['release', 'runs', f'{self.new} runs', 'other', ''], rows, right=(1, 2, 3)), colour)

    def verdict(self) -> str:
        """The one-line answer."""
        if self.culprit is None:
            return f"can't tell ({self.reason}); {self.runs_total} runs"
        return (f'{self.old} → {self.new} first at nicegui {self.culprit} (posterior {self.confidence:.1%}, '
                f'{self.runs_total} runs)')

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return {**asdict(self), 'verdict': self.verdict()}


def outcome(report: RunReport, on: Optional[str]) -> str:
    """A run's outcome: ``PASS``/``FAIL``, or with ``on`` the first expectation whose name starts with it,
    ``'<name> passed'``/``'<name> failed'`` (``'<on> missing'`` when no expectation has that name)."""
    if on is None:
        return verdict_label(report.passed)
    for check in report.expectations:
        if check.name.startswith(on):
            return f'{on} {"passed" if check.passed else "failed"}'
    return f'{on} missing'


def bounds(scenario: Any, good: Optional[str], bad: Optional[str], known: Releases) -> tuple[str, str]:
    """(good, bad): the options, else the file's ``nicegui:`` versions (oldest, newest), else the oldest 2.x and
    the newest release served. Raises :class:`BadInputError` when they are the same release."""
    named = sorted([*scenario.nicegui.bug_in, *scenario.nicegui.fixed_in], key=version_key) if scenario.nicegui else []
    two_x = [v for v in known.installable if v.startswith(('2.', '3.'))]
    low = good or (named[0] if named else (two_x[0] if two_x else known.installable[0]))
    high = bad or (named[-1] if len(named) > 1 else known.installable[-1])
    if low == high:
        raise BadInputError(f'{scenario.path}: --good and --bad are both {low}; bisect needs two releases')
    return low, high


class Bisector:
    """Plays releases of one scenario and keeps the tallies (see the module docstring). ``play(version, python)``
    plays one run and returns its report (default: :func:`clientsim.simulator.matrix.play_version`)."""

    def __init__(self, scenario: Any, versions: list[str], *, runs: int = 3, confidence: float = 0.95,
                 on: Optional[str] = None, progress: Optional[Progress] = None,
                 play: Optional[Callable[[Any, str, str], Any]] = None) -> None:
        if runs < 1 or not 0.5 < confidence < 1:
            raise BadInputError(f'--runs must be >= 1 and --confidence between 0.5 and 1, got {runs}, {confidence}')
        self.scenario, self.runs, self.confidence, self.on = scenario, runs, confidence, on
        self.max_runs = 3 * runs
        self.tallies = [Tally(v) for v in versions]
        self.progress = progress or (lambda line, tally: None)
        self.new_outcome: Optional[str] = None
        self._play = play
        self._pythons: dict[str, str] = {}

    async def _python(self, tally: Tally) -> Optional[str]:
        if tally.version not in self._pythons:
            self.progress(f'nicegui {tally.version}: installing (cached venv)', tally)
            try:
                self._pythons[tally.version] = await asyncio.to_thread(nicegui_python, tally.version)
            except VenvError as e:
                tally.skipped = f'cannot install: {str(e)[:160]}'
                self.progress(f'nicegui {tally.version}: skipped ({tally.skipped})', tally)
                return None
        return self._pythons[tally.version]

    async def _run(self, index: int, count: int) -> None:
        from .matrix import play_version
        tally = self.tallies[index]
        python = await self._python(tally)
        if python is None:
            return
        for _ in range(count):
            report = await (self._play or play_version)(self.scenario, tally.version, python)
            result = outcome(report, self.on)
            tally.outcomes.append(result)
            tally.runs += 1
            self.progress(f'nicegui {tally.version}: run {tally.runs}: {result}', tally)
        self._recount()

    def _recount(self) -> None:
        if self.new_outcome is None:
            return
        for t in self.tallies:
            t.new = sum(1 for o in t.outcomes if o == self.new_outcome)

    async def run(self) -> BisectResult:
        """Play until a culprit reaches the confidence or no run can sharpen the answer; returns the result.
        Raises :class:`VenvError` (exit 3) when a bound cannot be installed."""
        good, bad = self.tallies[0], self.tallies[-1]
        for index in (0, len(self.tallies) - 1):
            await self._run(index, self.runs)
            if self.tallies[index].skipped:
                raise VenvError(f'the bound nicegui {self.tallies[index].version} cannot be installed: '
                                f'{self.tallies[index].skipped}')
        while True:
            shares = {o: (bad.outcomes.count(o) / bad.runs) - (good.outcomes.count(o) / good.runs)
                      for o in set(bad.outcomes) | set(good.outcomes)}
            self.new_outcome = max(sorted(shares), key=shares.__getitem__)
            self._recount()
            if bounds_differ(good, bad) >= self.confidence or bad.runs >= self.max_runs:
                break
            await self._run(0, self.runs)
            await self._run(len(self.tallies) - 1, self.runs)
        old = next((o for o in good.outcomes if o != self.new_outcome), 'the other outcome')
        if bounds_differ(good, bad) < self.confidence:
            return self._result(None, 0.0, old, f'the outcome at {good.version} ({good.new}/{good.runs} '
                                f'{self.new_outcome}) and at {bad.version} ({bad.new}/{bad.runs}) does not differ '
                                f'with {self.confidence:.0%} confidence')
        while True:
            post = posterior(self.tallies)
            best = max(range(len(post)), key=post.__getitem__)
            if post[best] >= self.confidence:
                return self._result(self.tallies[best].version, post[best], old, '')
            index = next_release(self.tallies, self.max_runs, self.confidence)
            if index is None:
                return self._result(None, post[best], old, f'most likely nicegui {self.tallies[best].version} '
                                    f'at {post[best]:.0%}, below {self.confidence:.0%} after the most runs allowed')
            await self._run(index, self.runs)

    def _result(self, culprit: Optional[str], confidence: float, old: str, reason: str) -> BisectResult:
        return BisectResult(file=str(self.scenario.path), good=self.tallies[0].version, bad=self.tallies[-1].version,
                            culprit=culprit, confidence=round(confidence, 4), old=old, new=self.new_outcome or '',
                            runs_total=sum(t.runs for t in self.tallies), tallies=self.tallies, reason=reason)


def write_bisect_report(result: BisectResult, path: str) -> None:
    """Write ``result`` as JSON (``.json``) or a small HTML page of coloured release cells (``.html``).
    Raises :class:`BadInputError` for another suffix, OSError when the file cannot be written."""
    suffix = Path(path).suffix
    if suffix == '.json':
        write_atomic(path, json.dumps(result.to_json(), indent=2) + '\n')
        return
    if suffix != '.html':
        raise BadInputError(f'--report must end in .json or .html, got {path}')
    cells = [{'version': t.version, 'new': t.new, 'runs': t.runs, 'culprit': t.version == result.culprit,
              'colour': (NEUTRAL_COLOUR if t.skipped or not t.runs else FAIL_COLOUR if t.new == t.runs
                         else PASS_COLOUR if t.new == 0 else WARN_COLOUR)} for t in result.tallies]
    from .html_report_timeline import environment  # Jinja2, autoescape on
    page = environment().get_template('bisect.html.j2').render(
        name=Path(result.file).name, verdict=result.verdict(), new=result.new, cells=cells, table=result.table())
    write_atomic(path, page + '\n')


def load_target_scenario(file: str) -> Any:
    """Load ``file`` and check that it is a target scenario whose command uses ``{python}``. Raises
    :class:`BadInputError`."""
    from .scenario import load_scenario
    scenario = load_scenario(file)
    if scenario.target is None or isinstance(scenario.target, str):
        raise BadInputError(f"{file}: clientsim bisect needs a target: {{command: [...], url: ...}} scenario "
                            "(its command uses '{python}')")
    return scenario


async def bisect_scenario(scenario: Any, good: Optional[str], bad: Optional[str], *, runs: int = 3,
                          confidence: float = 0.95, on: Optional[str] = None,
                          progress: Optional[Progress] = None,
                          on_versions: Optional[Callable[[list[str]], None]] = None) -> BisectResult:
    """Bisect a loaded target scenario on the running loop (the GUI's qasync loop, or :func:`bisect_file`'s).
    ``on_versions`` is told the releases in range before the first run. Raises as :func:`bisect_file`."""
    known = await asyncio.to_thread(releases)
    low, high = bounds(scenario, good, bad, known)
    versions = known.between(low, high)
    if on_versions:
        on_versions(versions)
    bisector = Bisector(scenario, versions, runs=runs, confidence=confidence, on=on, progress=progress)
    result = await bisector.run()
    result.yanked = [v for v in known.yanked if version_key(low) < version_key(v) < version_key(high)]
    return result


def bisect_file(file: str, good: Optional[str], bad: Optional[str], *, runs: int = 3, confidence: float = 0.95,
                on: Optional[str] = None, progress: Optional[Progress] = None) -> BisectResult:
    """Load ``file`` and bisect it (blocking; runs its own asyncio loop). Raises :class:`BadInputError` for a bad
    file, bounds or options, :class:`ReleaseError` for releases the index does not serve, :class:`VenvError` when a
    bound cannot be installed."""
    scenario = load_target_scenario(file)
    return asyncio.run(bisect_scenario(scenario, good, bad, runs=runs, confidence=confidence, on=on,
                                       progress=progress))
