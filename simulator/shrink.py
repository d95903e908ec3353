"""Shrink a failing explore run to the smallest scenario that still fails the same expectation.

Delta debugging, one element at a time (the scenarios are small), on scenario models (candidates are model copies,
no YAML in between): starting from the run's scenario with its draws written in
(:meth:`clientsim.simulator.explore.Exploration.scenario_for`), try without each window (its steps and expectations
go too), without each step, then each latency value at 0, else rounded to 100, 50, 10, 5 or 1 ms. A candidate is
kept only if it fails the run's first failed expectation the same way (the same actual value; for a window's
expectation, the same download events and GET statuses of that window) in 3 of 3 plays (played at once, each on
its own embedded server, with the run's seed, so the server's draws are the run's). Passes repeat until nothing
changes. The result is written next to the input (or in a chosen folder; never into the installed library) as
``<name>.min.yaml`` (:meth:`Scenario.to_mapping`) with ``seed:`` set, a name and description generated from its
content and a comment naming the seed it came from; ``clientsim play`` plays it.
No Qt import here.
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import yaml

from .player import ScenarioPlayer
from .run_report import RunReport
from .scenario import Scenario

PLAYS = 3
"""A candidate must fail this many plays out of this many."""
ROUNDINGS_MS = (100, 50, 10, 5, 1)


def _renumbered(steps: list) -> list:
    """``steps`` with ``index`` 0, 1, … (a step's index names it in reports)."""
    return [step if step.index == i else step.model_copy(update={'index': i}) for i, step in enumerate(steps)]


def _without_window(scenario: Scenario, name: str) -> Scenario:
    """``scenario`` without window ``name``: its spec, its expectations, steps that target it alone, its name in
    the steps' window lists."""
    steps = []
    for step in scenario.parsed_steps:
        args = step.args
        if getattr(args, 'window', None) == name:
            continue
        windows = getattr(args, 'windows', None)
        if isinstance(windows, list) and name in windows:
            windows = [w for w in windows if w != name]
            if not windows:
                continue
            step = step.model_copy(update={'args': args.model_copy(update={'windows': windows})})
        steps.append(step)
    expect = scenario.expect.model_copy(update={
        'windows': {k: v for k, v in scenario.expect.windows.items() if k != name},
        'sometimes': {k: v for k, v in scenario.expect.sometimes.items() if k != name}})
    return scenario.model_copy(update={'windows': [w for w in scenario.windows if w.name != name],
                                       'steps': _renumbered(steps), 'expect': expect})


def _with_latency(scenario: Scenario, index: int, knob: str, ms: float) -> Scenario:
    """``scenario`` with window ``index``'s latency ``knob`` set to ``ms``."""
    windows = list(scenario.windows)
    window = windows[index]
    windows[index] = window.model_copy(update={'latency': window.latency.model_copy(update={knob: ms})})
    return scenario.model_copy(update={'windows': windows})


def _candidates(scenario: Scenario) -> Iterator[tuple[str, Scenario]]:
    """``(description, candidate)`` pairs, smaller or rounder than ``scenario``, in the order they are tried."""
    windows = [w.name for w in scenario.windows]
    if len(windows) > 1:
        for name in windows:
            yield f'without window {name}', _without_window(scenario, name)
    steps = scenario.parsed_steps
    for i in reversed(range(len(steps))):
        yield (f'without step {i} ({steps[i].kind})',
               scenario.model_copy(update={'steps': _renumbered(steps[:i] + steps[i + 1:])}))
    for wi, window in enumerate(scenario.windows):
        for knob, value in sorted(window.latency.model_dump(exclude_defaults=True).items()):
            options = [0.0] + [float(round(value / r) * r) for r in ROUNDINGS_MS]
            for option in dict.fromkeys(o for o in options if o != value):
                yield (f"{window.name}.{knob} {value:g} → {option:g} ms",
                       _with_latency(scenario, wi, knob, option))


def _failure(report: RunReport, expectation: str) -> Optional[tuple]:
    """What identifies the failure of ``expectation`` in ``report``: its ``actual`` value and, for a window's
    expectation (``alice: ...``), that window's download events and GET statuses; None when it did not fail."""
    check = report.expectation(expectation)
    if check is None or check.passed:
        return None
    window = next((w for w in report.windows if expectation.startswith(f'{w.name}:')), None)
    outcome = (window.download_events, window.statuses) if window else None
    return repr(check.actual), repr(outcome)


async def _failures(scenario: Scenario, seed: int, expectation: str) -> list[Optional[tuple]]:
    """:func:`_failure` of :data:`PLAYS` plays of ``scenario`` at once (each on its own server, all with
    ``seed``)."""
    plays = [ScenarioPlayer(scenario.model_copy(deep=True), seed=seed).run() for _ in range(PLAYS)]
    return [_failure(r, expectation) for r in await asyncio.gather(*plays)]


async def shrink(scenario: Scenario, seed: int, expectation: str,
                 log: Callable[[str], None] = lambda _: None) -> Optional[Scenario]:
    """The smallest variant of ``scenario`` (a run's scenario with its draws written in) that still fails
    ``expectation`` 3 of 3 times with ``seed`` (``vary:`` dropped, ``seed:`` set); None when ``scenario`` itself
    does not."""
    scenario = scenario.model_copy(update={'vary': None, 'seed': seed})
    reference = await _failures(scenario, seed, expectation)
    if reference[0] is None or len(set(reference)) != 1:
        return None
    changed = True
    while changed:
        changed = False
        for description, candidate in _candidates(scenario):
            if await _failures(candidate, seed, expectation) == reference:
                log(f'  shrink: {description}')
                scenario, changed = candidate, True
                break
    return scenario


def describe_minimal(result: dict[str, Any], source_name: str, seed: int, expectation: str) -> tuple[str, str]:
    """``(name, description)`` of a minimal scenario, generated from what it contains (its windows, steps and
    the expectation it fails), not copied from the file it came from."""
    windows = [w.get('name', '?') for w in result.get('windows') or []]
    steps = []
    for step in result.get('steps') or []:
        (kind, value), = step.items()
        steps.append(kind if not isinstance(value, (str, int, float)) else f'{kind} {value}')
    name = f'minimal {Path(source_name).stem}: fails "{expectation}"'
    description = (f'{len(windows)} window{"s" if len(windows) != 1 else ""} ({", ".join(windows)}), '
                   f'{len(steps)} step{"s" if len(steps) != 1 else ""} ({"; ".join(steps)}); fails "{expectation}" '
                   f'in {PLAYS} of {PLAYS} plays with seed {seed}. Shrunk from {source_name} by clientsim explore.')
    return name, description


def minimal_path(source: Path, out_dir: Optional[Path] = None) -> Path:
    """Where ``<name>.min.yaml`` goes: ``out_dir`` if given, else next to ``source`` — but never into the
    installed scenario library (:func:`clientsim.simulator.scenario.library_dir`: then the current directory);
    ``-2``, ``-3``, … are added rather than overwrite a file."""
    from .scenario import library_dir
    folder = out_dir or source.parent
    if out_dir is None and folder.resolve() == library_dir().resolve():
        folder = Path.cwd()
    stem = source.name.removesuffix('.yaml').removesuffix('.min')
    out, n = folder / f'{stem}.min.yaml', 2
    while out.exists():
        out, n = folder / f'{stem}.min-{n}.yaml', n + 1
    return out


async def shrink_to_file(path: str, scenario: Scenario, seed: int, expectation: str,
                         log: Callable[[str], None] = lambda _: None,
                         out_dir: Optional[str | Path] = None) -> Optional[str]:
    """Shrink the failing run ``seed`` of the scenario file ``path`` (``scenario``: the run's scenario,
    :meth:`clientsim.simulator.explore.Exploration.scenario_for`; ``expectation``: the name of its first failed
    expectation) and write ``<name>.min.yaml`` (:meth:`Scenario.to_mapping`) in
    ``out_dir`` or next to the file (never into the installed library, never over a file: :func:`minimal_path`),
    with its own name and description (:func:`describe_minimal`) and without the ``fix:`` block (it reproduces
    the shipped failure). Returns that path, or None (after logging why) when the run does not fail 3 of 3 times
    on its own. Raises OSError when the file cannot be written."""
    log(f'shrinking seed {seed} (fails: {expectation})')
    result = await shrink(scenario, seed, expectation, log)
    if result is None:
        log(f'  seed {seed} does not fail {PLAYS} of {PLAYS} plays (a tie?): no minimal scenario')
        return None
    source = Path(path)
    out = minimal_path(source, Path(out_dir) if out_dir is not None else None)
    mapping = result.to_mapping()
    name, description = describe_minimal(mapping, source.name, seed, expectation)
    mapping = {'name': name, 'description': description,
               **{k: v for k, v in mapping.items() if k not in ('name', 'description', 'fix')}}
    header = (f'# minimal scenario from {source.name}, explore seed {seed}: fails "{expectation}" '
              f'{PLAYS} of {PLAYS} times\n# play it: clientsim play --headless {out.name}\n')
    out.write_text(header + yaml.safe_dump(mapping, sort_keys=False, allow_unicode=True), encoding='utf-8')
    log(f'minimal scenario: {out} ({len(mapping["windows"])} windows, {len(mapping["steps"])} steps)')
    return str(out)
