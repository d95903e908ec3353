"""Knobs the race explorer varies from run to run, and the scenario's ``vary:`` block.

A knob is ``[WINDOW.]NAME=SPEC`` (``clientsim explore --vary``) or ``[WINDOW.]NAME: SPEC`` in a scenario::

    vary:
      download_ms: 0..100          # every window: uniform in [0, 100] ms (rounded to 0.1 ms)
      bob.handshake_ms: [0, 10, 30] # bob only: one of the list (also written "0,10,30")
      order: shuffle               # the order in which each open step starts its windows
      max_jobs: 1                  # against a target: how many runs may share the app at once (default 1)

``NAME`` is a latency knob of :class:`clientsim.simulator.scenario.LatencySpec` (``page_get_ms``, ``handshake_ms``,
``download_ms``, ``boot_ms``: page GET → socket connect, all ms) or ``order``. A window's own knob wins over the
one for every window. :func:`draw`
takes every value of a run from ``random.Random(seed)`` in a fixed order (windows in file order, knobs in
:data:`LATENCY_KNOBS` order, then the shuffle), so a seed fixes a run's draws. :func:`apply` writes them into the
raw YAML mapping of a scenario. A leaf: it imports nothing of the project.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from pydantic import RootModel, field_validator

from .browser.state import LATENCY_KNOBS  # the latency model's knobs in ms
from .errors import BadInputError

"""The latency knobs, in the order they are drawn (ms)."""
SERVER_KNOBS = ('removal_wake_ms', 'removal_busy_share', 'route_match_ms')
"""Server policy knobs (:mod:`clientsim.server.removal`), drawn after everything else and written into ``policy:``
(``--vary removal_wake_ms=0..20`` sweeps a quiet to a busy server)."""
MAX_MS = 60000.0


class VaryError(BadInputError, ValueError):
    """A knob spec is invalid; the message names the knob (``download_ms=0..x: ...``)."""


@dataclass(frozen=True)
class Knob:
    """One varied knob: ``window`` (None: every window), ``name`` (a latency knob or ``order``) and either
    ``low``/``high`` (uniform, ms), ``values`` (one of them, ms) or ``shuffle`` (``order`` only)."""
    window: Optional[str]
    name: str
    low: float = 0.0
    high: float = 0.0
    values: tuple[float, ...] = ()
    shuffle: bool = False

    @property
    def key(self) -> str:
        """``bob.download_ms`` or ``download_ms``."""
        return f'{self.window}.{self.name}' if self.window else self.name

    def describe(self) -> str:
        """The knob as ``key=spec`` text (``download_ms=0..100``)."""
        if self.shuffle:
            spec = 'shuffle'
        elif self.values:
            spec = ','.join(f'{v:g}' for v in self.values)
        else:
            spec = f'{self.low:g}..{self.high:g}'
        return f'{self.key}={spec}'


def _number(text: Any, key: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise VaryError(f'{key}: {text!r} is not a number of ms') from None
    if not 0 <= value <= MAX_MS:
        raise VaryError(f'{key}: {value:g} ms is outside 0..{MAX_MS:g}')
    return value


def parse_knob(key: str, spec: Any) -> Knob:
    """One knob from its key (``download_ms``, ``bob.download_ms``, ``order``) and spec (``'0..100'``,
    ``'0,10,30'``, ``[0, 10, 30]``, ``50``, ``'shuffle'``). Raises :class:`VaryError`."""
    window, _, name = key.rpartition('.')
    if name == 'order':
        if spec != 'shuffle' or window:
            raise VaryError(f'{key}: only "order: shuffle" is known (for every open step), got {spec!r}')
        return Knob(None, 'order', shuffle=True)
    if name in SERVER_KNOBS and window:
        raise VaryError(f'{key}: {name} is a server knob, not a window one')
    if name not in LATENCY_KNOBS + SERVER_KNOBS:
        raise VaryError(f'{key}: unknown knob {name!r} (knobs are: {", ".join(LATENCY_KNOBS + SERVER_KNOBS)}, '
                        'order)')
    if isinstance(spec, str) and '..' in spec:
        low_text, _, high_text = spec.partition('..')
        low, high = _number(low_text.strip(), key), _number(high_text.strip(), key)
        if low > high:
            raise VaryError(f'{key}: range {spec!r} goes down (write low..high)')
        return Knob(window or None, name, low=low, high=high)
    if isinstance(spec, str):
        spec = [s for s in spec.split(',') if s.strip()]
    values = spec if isinstance(spec, list) else [spec]
    if not values:
        raise VaryError(f'{key}: an empty list')
    return Knob(window or None, name, values=tuple(_number(v, key) for v in values))


def parse_cli(texts: list[str]) -> list[Knob]:
    """``--vary`` arguments (``KEY=SPEC``) as knobs. Raises :class:`VaryError`."""
    knobs = []
    for text in texts:
        key, sep, spec = text.partition('=')
        if not sep or not key.strip():
            raise VaryError(f'--vary {text!r}: write KNOB=SPEC, e.g. download_ms=0..100')
        knobs.append(parse_knob(key.strip(), spec.strip()))
    return knobs


class VaryBlock(RootModel[dict[str, Union[str, float, list[float]]]]):
    """The scenario's ``vary:`` mapping (see the module docstring); ``max_jobs`` is not a knob."""

    @field_validator('root')
    @classmethod
    def _knobs(cls, v: dict[str, Any]) -> dict[str, Any]:
        for key, spec in v.items():
            if key == 'max_jobs':
                if not isinstance(spec, (int, float)) or spec < 1 or spec != int(spec):
                    raise ValueError(f'max_jobs must be a whole number >= 1, got {spec!r}')
                continue
            try:
                parse_knob(key, spec)
            except VaryError as e:
                raise ValueError(str(e)) from None
        return v

    def knobs(self) -> list[Knob]:
        """The knobs, in file order."""
        return [parse_knob(k, s) for k, s in self.root.items() if k != 'max_jobs']

    @property
    def max_jobs(self) -> int:
        """Runs that may share a target app at once (default 1)."""
        return int(self.root.get('max_jobs', 1))


def merge(file_knobs: list[Knob], cli_knobs: list[Knob]) -> list[Knob]:
    """The file's knobs with the command line's: a ``--vary`` knob replaces the file's knob of the same key."""
    merged = {k.key: k for k in file_knobs}
    merged.update({k.key: k for k in cli_knobs})
    return list(merged.values())


@dataclass
class Draw:
    """The draws of one run: ``seed``, ``latency`` (window → knob → ms, only drawn knobs), ``order`` (the
    shuffled window names, or None)."""
    seed: int
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    order: Optional[list[str]] = None
    policy: dict[str, float] = field(default_factory=dict)


def draw(knobs: list[Knob], windows: list[str], seed: int) -> Draw:
    """Every draw of the run ``seed`` from ``random.Random(seed)``. Raises :class:`VaryError` for a knob naming
    a window that is not in ``windows``."""
    for knob in knobs:
        if knob.window is not None and knob.window not in windows:
            raise VaryError(f'{knob.key}: unknown window {knob.window!r} (windows are: {", ".join(windows)})')
    by_key = {(k.window, k.name): k for k in knobs}
    rng = random.Random(seed)
    result = Draw(seed)
    for window in windows:
        for name in LATENCY_KNOBS:
            knob = by_key.get((window, name)) or by_key.get((None, name))
            if knob is None:
                continue
            value = rng.choice(knob.values) if knob.values else round(rng.uniform(knob.low, knob.high), 1)
            result.latency.setdefault(window, {})[name] = value
    if (None, 'order') in by_key:
        result.order = list(windows)
        rng.shuffle(result.order)
    for name in SERVER_KNOBS:
        knob = by_key.get((None, name))
        if knob is not None:
            result.policy[name] = rng.choice(knob.values) if knob.values else round(rng.uniform(knob.low, knob.high), 3)
    return result


def _open_windows(value: Any) -> Optional[list[str]]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict) and isinstance(value.get('windows'), (list, str)):
        return _open_windows(value['windows'])
    return None


def apply(raw: dict[str, Any], result: Draw) -> dict[str, Any]:
    """A copy of the raw scenario mapping ``raw`` with the draws written in: each window's ``latency``, and each
    ``open`` step's windows in the drawn order (``all`` expanded). The ``vary`` block is kept."""
    raw = copy.deepcopy(raw)
    if result.policy:
        raw['policy'] = {**(raw.get('policy') or {}), **result.policy}
    for spec in raw.get('windows') or []:
        if isinstance(spec, dict) and spec.get('name') in result.latency:
            spec['latency'] = {**(spec.get('latency') or {}), **result.latency[spec['name']]}
    if result.order is not None:
        names = [w.get('name') for w in raw.get('windows') or [] if isinstance(w, dict)]
        for step in raw.get('steps') or []:
            if not (isinstance(step, dict) and 'open' in step):
                continue
            opened = _open_windows(step['open'])
            if opened is None:
                continue
            opened = names if 'all' in opened else opened
            ordered = [n for n in result.order if n in opened]
            value = step['open']
            step['open'] = {**value, 'windows': ordered} if isinstance(value, dict) else ordered
    return raw


def apply_model(scenario: Any, result: Draw) -> Any:
    """A copy of ``scenario`` (a :class:`clientsim.simulator.scenario.Scenario`) with the draws written in, as
    :func:`apply` does for a raw mapping: drawn policy fields on top of its ``policy``, each window's drawn
    ``latency`` knobs, and each ``open`` step's windows in the drawn order (``all`` expanded); validated by the same
    models, no YAML in between. The ``vary`` block is kept; ``scenario`` is not changed."""
    update: dict[str, Any] = {}
    if result.policy:
        policy = scenario.policy
        update['policy'] = type(policy).model_validate({**policy.model_dump(exclude_unset=True), **result.policy})
    windows = []
    for window in scenario.windows:
        drawn = result.latency.get(window.name)
        if drawn:
            latency = window.latency
            window = window.model_copy(update={'latency': type(latency).model_validate(
                {**latency.model_dump(exclude_unset=True), **drawn})})
        windows.append(window)
    update['windows'] = windows
    if result.order is not None:
        names = [w.name for w in scenario.windows]
        steps = []
        for step in scenario.steps:
            if step.kind == 'open':
                opened = names if 'all' in step.args.windows else step.args.windows
                ordered = [n for n in result.order if n in opened]
                step = step.model_copy(update={'args': step.args.model_copy(update={'windows': ordered})})
            steps.append(step)
        update['steps'] = steps
    return scenario.model_copy(update=update)
