"""Load scenario files (``assets/scenarios/load/*.yaml``): what every Locust user (one window) does.

A load scenario is its own small format, read only by ``clientsim load`` / ``clientsim serve`` and the
shipped locustfile (the play format of :mod:`clientsim.simulator.scenario` names windows; here every Locust user is
one anonymous window running the same steps)::

    name: auto-index download race at scale
    description: ...
    policy: {download_target: sender}      # server.policy.ServerPolicy fields, for `clientsim serve` / `load`
    load:
      page: /                               # the page every window opens (a path on the host)
      latency: {page_get_ms: 0, handshake_ms: [0, 40], download_ms: 0}   # ms, a number or [min, max]
      users: 100                            # defaults for `clientsim load` (the command line wins)
      spawn_rate: 50
      run_time: 15s
      seed: 14                              # seeds each user's draws (shares, latency ranges, waits)
      settle_ms: 500                        # at the end, after closing every window, wait this long for the
                                            # server's last errors (delayed deletes) before the final report;
                                            # against `clientsim serve`: until its error feed says it is done
                                            # with the closed windows, at most settle_ms + 5000
      steps:                                # one iteration; a user repeats it until the run ends
        - open: {}                          # or {page: /private, wait: true}
        - click: {label: Download, share: 0.2, react_ms: 2000}
        - type: {label: Name, text: hello, per_key_ms: 30}
        - navigate: {url: /private, before_handshake: true}
        - reload: {}
        - drop: {}                          # network loss (the server notices after its ping timeout)
        - reconnect: {}
        - wait: 500                         # ms, or [min, max]
        - close: {}

Every step but ``wait`` takes ``share`` (0 … 1, default 1): the fraction of users that run it, drawn once per
user. :func:`load_load_scenario` raises :class:`LoadScenarioError` naming file, step and field.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from clientsim import assets
from clientsim.server.policy import ServerPolicy

from ..errors import BadInputError

#: ``scenarios/load/`` of the package data (``assets/scenarios/load/`` in a checkout): the shipped load scenarios.
LOAD_LIBRARY = assets.path('scenarios', 'load')

Millis = Union[float, tuple[float, float]]


class LoadScenarioError(BadInputError, ValueError):
    """A load scenario file is unreadable or invalid; ``str()`` reads ``file: location: message``
    (``location`` such as ``load.steps[1].click.share``)."""

    def __init__(self, file: str, message: str, location: str = '') -> None:
        self.file, self.message, self.location = file, message, location
        super().__init__(f'{file}: {location}: {message}' if location else f'{file}: {message}')


class _Strict(BaseModel):
    model_config = ConfigDict(extra='forbid')


def _check_range(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        if len(v) != 2 or not all(isinstance(x, (int, float)) and 0 <= x <= 60000 for x in v) or v[0] > v[1]:
            raise ValueError(f'a range must be [min, max] with 0 <= min <= max <= 60000 (ms), got {v!r}')
        return (float(v[0]), float(v[1]))
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 60000:
        raise ValueError(f'must be a number of ms (0 … 60000) or [min, max], got {v!r}')
    return float(v)


def draw_ms(value: Millis, rng: random.Random) -> float:
    """A value in ms: the number itself, or uniform in ``[min, max]``."""
    return rng.uniform(*value) if isinstance(value, tuple) else value


class LoadLatency(_Strict):
    """Latency knobs of every window (ms; a number or ``[min, max]`` drawn once per user)."""
    page_get_ms: Millis = 0.0
    handshake_ms: Millis = 0.0
    download_ms: Millis = 0.0
    _range = field_validator('page_get_ms', 'handshake_ms', 'download_ms', mode='before')(_check_range)


class _Shared(_Strict):
    share: float = Field(1.0, ge=0.0, le=1.0)


class OpenParams(_Shared):
    """Open ``page`` (default: ``load.page``); ``wait`` for the handshake ack."""
    page: Optional[str] = None
    wait: bool = True


class ClickParams(_Shared):
    """Click the element labelled ``label``; wait up to ``react_ms`` for the server's first reply (and, when it
    is a download, for its GET)."""
    label: str = 'Download'
    react_ms: float = Field(2000.0, ge=0, le=60000)


class TypeParams(_Shared):
    """Type ``text`` into the input labelled ``label`` (``per_key_ms``: one change per character)."""
    label: str
    text: str
    per_key_ms: Optional[float] = Field(None, ge=0, le=10000)


class NavigateParams(_Shared):
    """Navigate to ``url``; ``before_handshake``: close the new page's socket before its handshake (#4304)."""
    url: str
    before_handshake: bool = False


class PlainParams(_Shared):
    """A step without parameters (reload, drop, reconnect, close)."""


STEP_KINDS: dict[str, type[_Shared]] = {
    'open': OpenParams, 'click': ClickParams, 'type': TypeParams, 'navigate': NavigateParams,
    'reload': PlainParams, 'drop': PlainParams, 'reconnect': PlainParams, 'close': PlainParams}


class LoadStep(BaseModel):
    """One parsed step: ``kind`` (a key of :data:`STEP_KINDS` or ``wait``), its params, or ``wait_ms``."""
    kind: str
    params: Optional[_Shared] = None
    wait_ms: Millis = 0.0

    @property
    def share(self) -> float:
        """The fraction of users that run this step (1 for ``wait``)."""
        return self.params.share if self.params is not None else 1.0


class LoadSpec(BaseModel):
    """The ``load:`` block."""
    page: str = '/'
    latency: LoadLatency = LoadLatency()
    users: int = 10
    spawn_rate: float = 10.0
    run_time: str = '10s'
    seed: int = 0
    settle_ms: float = Field(500.0, ge=0, le=60000)
    steps: list[LoadStep]


class LoadScenario(BaseModel):
    """A whole load scenario file; ``policy`` is a validated :class:`ServerPolicy`."""
    name: str
    description: str = ''
    file: str = ''
    policy: ServerPolicy = ServerPolicy()
    load: LoadSpec


def _loc(loc: tuple) -> str:
    out = ''
    for part in loc:
        out += f'[{part}]' if isinstance(part, int) else (f'.{part}' if out else str(part))
    return out


def _parse_step(file: str, index: int, raw: Any) -> LoadStep:
    where = f'load.steps[{index}]'
    if not isinstance(raw, dict) or len(raw) != 1:
        raise LoadScenarioError(file, f'a step is a one-key mapping such as "open: {{}}", got {raw!r}', where)
    (kind, params), = raw.items()
    if kind == 'wait':
        try:
            return LoadStep(kind='wait', wait_ms=_check_range(params))
        except ValueError as e:
            raise LoadScenarioError(file, str(e), f'{where}.wait') from None
    model = STEP_KINDS.get(kind)
    if model is None:
        raise LoadScenarioError(file, f'unknown step {kind!r} (steps: {", ".join([*STEP_KINDS, "wait"])})', where)
    try:
        return LoadStep(kind=kind, params=model.model_validate(params or {}))
    except ValidationError as e:
        err = e.errors()[0]
        raise LoadScenarioError(file, err['msg'], f'{where}.{kind}' + ('.' + _loc(err['loc']) if err['loc'] else '')
                                ) from None


def resolve_path(file: str | Path) -> Path:
    """``file`` as given, or a name in :data:`LOAD_LIBRARY` (``reconnect_storm`` or ``reconnect_storm.yaml``)."""
    path = Path(file)
    if path.exists():
        return path
    for candidate in (LOAD_LIBRARY / path.name, LOAD_LIBRARY / f'{path.name}.yaml'):
        if candidate.exists():
            return candidate
    return path


def load_load_scenario(file: str | Path) -> LoadScenario:
    """Read and validate a load scenario file (a path, or a name in :data:`LOAD_LIBRARY`).

    Raises :class:`LoadScenarioError` for a missing file, bad YAML or any invalid field."""
    path = resolve_path(file)
    name = str(file)
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except OSError as e:
        raise LoadScenarioError(name, f'cannot read: {e.strerror or e}') from None
    except yaml.YAMLError as e:
        raise LoadScenarioError(name, f'not valid YAML: {e}') from None
    if not isinstance(data, dict) or not isinstance(data.get('load'), dict):
        raise LoadScenarioError(name, 'a load scenario is a mapping with a "load:" block')
    load = dict(data['load'])
    raw_steps = load.pop('steps', None)
    if not isinstance(raw_steps, list) or not raw_steps:
        raise LoadScenarioError(name, 'needs a non-empty list of steps', 'load.steps')
    steps = [_parse_step(name, i, raw) for i, raw in enumerate(raw_steps)]
    try:
        return LoadScenario.model_validate({**data, 'file': str(path), 'load': {**load, 'steps': steps}})
    except ValidationError as e:
        err = e.errors()[0]
        raise LoadScenarioError(name, err['msg'], _loc(err['loc'])) from None
