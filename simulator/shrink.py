"""Shrink a failing explore run to the smallest scenario that still fails the same expectation.

Delta debugging, one element at a time (the scenarios are small): starting from the run's scenario with its
draws written in, try without each window (its steps and expectations go too), without each step, then each
latency value at 0, else rounded to 100, 50, 10, 5 or 1 ms. A candidate is kept only if it fails the run's first
failed expectation the same way (the same actual value; for a window's expectation, the same download events and
GET statuses of that window) in 3 of 3 plays (played at once, each on its own embedded server, with the run's
seed, so the server's draws are the run's). Passes repeat until nothing changes. The result is written next to
the input (or in a chosen folder; never into the installed library) as ``<name>.min.yaml`` with ``seed:`` set, a
name and description generated from its content and a comment naming the seed it came from; ``clientsim play``
plays it.
No Qt import here.
"""
from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import yaml

from .player import ScenarioPlayer
from .run_report import RunReport
from .scenario import ScenarioError, parse_scenario

PLAYS = 3
"""A candidate must fail this many plays out of this many."""
ROUNDINGS_MS = (100, 50, 10, 5, 1)


def _without_window(raw: dict[str, Any], name: str) -> dict[str, Any]:
    """``raw`` without window ``name``: its spec, its expectations, steps that target it alone, its name in lists."""
    raw = copy.deepcopy(raw)
    raw['windows'] = [w for w in raw.get('windows') or [] if w.get('name') != name]
    steps = []
    for step in raw.get('steps') or []:
        (kind, value), = step.items()
        if isinstance(value, dict) and value.get('window') == name:
            continue
        if value == name:
            continue
        if isinstance(value, list):
            value = [v for v in value if v != name]
            if not value:
                continue
        elif isinstance(value, dict) and isinstance(value.get('windows'), list):
            value = {**value, 'windows': [v for v in value['windows'] if v != name]}
            if not value['windows']:
                continue
        steps.append({kind: value})
    raw['steps'] = steps
    (raw.get('expect') or {}).get('windows', {}).pop(name, None)
    for key in list(raw.get('vary') or {}):
        if key.startswith(f'{name}.'):
            del raw['vary'][key]
    return raw


def _candidates(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(description, candidate)`` pairs, smaller or rounder than ``raw``, in the order they are tried."""
    windows = [w['name'] for w in raw.get('windows') or []]
    if len(windows) > 1:
        for name in windows:
            yield f'without window {name}', _without_window(raw, name)
    for i in reversed(range(len(raw.get('steps') or []))):
        candidate = copy.deepcopy(raw)
        removed = candidate['steps'].pop(i)
        yield f'without step {i} ({next(iter(removed))})', candidate
    for wi, window in enumerate(raw.get('windows') or []):
        for knob, value in sorted((window.get('latency') or {}).items()):
            options = [0.0] + [float(round(value / r) * r) for r in ROUNDINGS_MS]
            for option in dict.fromkeys(o for o in options if o != value):
                candidate = copy.deepcopy(raw)
                candidate['windows'][wi]['latency'][knob] = option
                yield f"{window['name']}.{knob} {value:g} → {option:g} ms", candidate


def _failure(report: RunReport, expectation: str) -> Optional[tuple]:
    """What identifies the failure of ``expectation`` in ``report``: its ``actual`` value and, for a window's
    expectation (``alice: ...``), that window's download events and GET statuses; None when it did not fail."""
    check = report.expectation(expectation)
    if check is None or check.passed:
        return None
    window = next((w for w in report.windows if expectation.startswith(f'{w.name}:')), None)
    outcome = (window.download_events, window.statuses) if window else None
    return repr(check.actual), repr(outcome)


async def _failures(raw: dict[str, Any], path: str, seed: int, expectation: str) -> list[Optional[tuple]]:
    """:func:`_failure` of :data:`PLAYS` plays of ``raw`` at once (each on its own server, all with ``seed``);
    ``[None]`` for an invalid scenario."""
    try:
        scenario = parse_scenario(yaml.safe_dump(raw, sort_keys=False), path)
    except ScenarioError:
        return [None]
    plays = [ScenarioPlayer(scenario.model_copy(deep=True), seed=seed).run() for _ in range(PLAYS)]
    return [_failure(r, expectation) for r in await asyncio.gather(*plays)]


async def shrink(raw: dict[str, Any], path: str, seed: int, expectation: str,
                 log: Callable[[str], None] = lambda _: None) -> Optional[dict[str, Any]]:
    """The smallest variant of ``raw`` (a scenario mapping with the run's draws written in) that still fails
    ``expectation`` 3 of 3 times with ``seed``; None when ``raw`` itself does not."""
    raw = {k: v for k, v in copy.deepcopy(raw).items() if k != 'vary'}
    raw['seed'] = seed
    reference = await _failures(raw, path, seed, expectation)
    if reference[0] is None or len(set(reference)) != 1:
        return None
    changed = True
    while changed:
        changed = False
        for description, candidate in _candidates(raw):
            if await _failures(candidate, path, seed, expectation) == reference:
                log(f'  shrink: {description}')
                raw, changed = candidate, True
                break
    return raw


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


async def shrink_to_file(path: str, raw: dict[str, Any], seed: int, expectation: str,
                         log: Callable[[str], None] = print, out_dir: Optional[str | Path] = None) -> Optional[str]:
    """Shrink the failing run ``seed`` of the scenario file ``path`` (``raw``: its mapping with the run's draws
    written in; ``expectation``: the name of its first failed expectation) and write ``<name>.min.yaml`` in
    ``out_dir`` or next to the file (never into the installed library, never over a file: :func:`minimal_path`),
    with its own name and description (:func:`describe_minimal`) and without the ``fix:`` block (it reproduces
    the shipped failure). Returns that path, or None (after logging why) when the run does not fail 3 of 3 times
    on its own. Raises OSError when the file cannot be written."""
    log(f'shrinking seed {seed} (fails: {expectation})')
    result = await shrink(raw, path, seed, expectation, log)
    if result is None:
        log(f'  seed {seed} does not fail {PLAYS} of {PLAYS} plays (a tie?): no minimal scenario')
        return None
    source = Path(path)
    out = minimal_path(source, Path(out_dir) if out_dir is not None else None)
    name, description = describe_minimal(result, source.name, seed, expectation)
    result = {'name': name, 'description': description,
              **{k: v for k, v in result.items() if k not in ('name', 'description', 'fix')}}
    header = (f'# minimal scenario from {source.name}, explore seed {seed}: fails "{expectation}" '
              f'{PLAYS} of {PLAYS} times\n# play it: clientsim play --headless {out.name}\n')
    out.write_text(header + yaml.safe_dump(result, sort_keys=False, allow_unicode=True), encoding='utf-8')
    log(f'minimal scenario: {out} ({len(result["windows"])} windows, {len(result.get("steps") or [])} steps)')
    return str(out)
