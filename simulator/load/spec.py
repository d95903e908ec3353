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
        - set: {label: Name, value: bob}    # also upload, wait_text and check (the steps of recorded sessions)
        - close: {}

A recorded session (``clientsim record``: a play scenario with one window) is read as a load scenario too
(:func:`from_recorded_session`): every user replays it.

Every step but ``wait`` is the player's step of that name (:data:`clientsim.simulator.steps.STEP_TYPES`: the same
model validates it and the same handler plays it) on the user's own window, so it names no window. Every step but
``wait`` also takes ``share`` (0 … 1, default 1): the fraction of users that run it, drawn once per user; ``click``
takes ``react_ms``. :func:`load_load_scenario` raises :class:`LoadScenarioError` naming file, step and field.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from clientsim import assets
from clientsim.server.policy import ServerPolicy

from ..errors import BadInputError
from ..steps import STEP_TYPES

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


#: the one window of a Locust user, as the player's step models name it (the load engine maps it to the user's window)
USER = 'user'
#: the steps a load scenario may use: the player's steps (:data:`clientsim.simulator.steps.STEP_TYPES`) that act on
#: one window, plus ``wait`` (ms, or ``[min, max]`` drawn per run)
LOAD_STEP_KINDS = ('open', 'click', 'type', 'set', 'upload', 'navigate', 'reload', 'drop', 'reconnect', 'wait_text',
                   'check', 'close', 'wait')


class LoadExtras(_Strict):
    """What a load step adds to the player's step: ``share`` (0 … 1) of the users that run it, drawn once per
    user; ``react_ms`` (click only): how long the user waits for the server's first reply and the download."""
    share: float = Field(1.0, ge=0.0, le=1.0)
    react_ms: float = Field(2000.0, ge=0, le=60000)


class LoadStep(BaseModel):
    """One parsed step: ``kind`` (one of :data:`LOAD_STEP_KINDS`), ``args`` (the player's step model of that kind,
    :data:`clientsim.simulator.steps.STEP_TYPES`, on the window :data:`USER`; None for ``wait``), ``extras``
    (share, react_ms) or ``wait_ms`` (ms, or a ``[min, max]`` range)."""
    kind: str
    args: Any = None  # a steps.STEP_TYPES model instance (kept as it is)
    extras: LoadExtras = LoadExtras()
    wait_ms: Millis = 0.0

    @property
    def share(self) -> float:
        """The fraction of users that run this step (1 for ``wait``)."""
        return self.extras.share


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
    """A whole load scenario file; ``policy`` is a validated :class:`ServerPolicy`. ``host``: the app a recorded
    session was made against (its ``target:`` URL; ``clientsim load`` uses it when no ``--host`` is given);
    ``target_command``: the command that started the app of a recorded session (``clientsim load`` starts it).
    Both empty for a load scenario file."""
    name: str
    description: str = ''
    file: str = ''
    policy: ServerPolicy = ServerPolicy()
    host: str = ''
    target_command: str = ''
    load: LoadSpec


def _loc(loc: tuple) -> str:
    out = ''
    for part in loc:
        out += f'[{part}]' if isinstance(part, int) else (f'.{part}' if out else str(part))
    return out


def _parse_step(file: str, index: int, raw: Any) -> LoadStep:
    """One step of ``load.steps``: its load extras split off, the rest validated by the player's step model with
    the user's window filled in (``open: {page: /x}`` is the player's ``open: {windows: [user], page: /x}``)."""
    where = f'load.steps[{index}]'
    if not isinstance(raw, dict) or len(raw) != 1:
        raise LoadScenarioError(file, f'a step is a one-key mapping such as "open: {{}}", got {raw!r}', where)
    (kind, params), = raw.items()
    if kind == 'wait':
        try:
            return LoadStep(kind='wait', wait_ms=_check_range(params))
        except ValueError as e:
            raise LoadScenarioError(file, str(e), f'{where}.wait') from None
    if kind not in LOAD_STEP_KINDS:
        raise LoadScenarioError(file, f'unknown step {kind!r} (steps: {", ".join(LOAD_STEP_KINDS)})', where)
    if params is not None and not isinstance(params, dict):
        raise LoadScenarioError(file, f'expected a mapping of fields, got {params!r}', f'{where}.{kind}')
    fields = dict(params or {})
    extras = {k: fields.pop(k) for k in ('share', 'react_ms') if k in fields and (k == 'share' or kind == 'click')}
    step_type = STEP_TYPES[kind]
    window_field = 'windows' if 'windows' in step_type.model.model_fields else 'window'
    if window_field in fields:
        raise LoadScenarioError(file, f'a load step acts on the user\'s own window: no {window_field!r}',
                                f'{where}.{kind}.{window_field}')
    fields[window_field] = [USER] if window_field == 'windows' else USER
    try:
        return LoadStep(kind=kind, args=step_type.model.model_validate(step_type.normalise(fields)),
                        extras=LoadExtras.model_validate(extras))
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


def from_recorded_session(file: str, data: dict[str, Any]) -> dict[str, Any]:
    """A one-window play scenario (what ``clientsim record`` writes) as a load scenario's data: every Locust user
    replays the session in its own window, one iteration being the recorded steps, a ``check`` of the final
    elements the recording expects, and ``close``. The recording's ``target:`` URL becomes ``host``, its
    ``target.command`` ``target_command`` (``clientsim load`` starts it when no ``--host`` is given). Raises
    :class:`LoadScenarioError` for more than one window or a step a load user cannot run."""
    windows = data['windows']
    if len(windows) != 1 or not isinstance(windows[0], dict):
        raise LoadScenarioError(file, f'a play scenario runs under load only with one window (a recorded session); '
                                      f'this one has {len(windows)}', 'windows')
    window = windows[0]
    name = str(window.get('name', USER))
    target = data.get('target')
    host = ''
    if isinstance(target, str):
        host = target.rstrip('/')
    command = ''
    if isinstance(target, dict) and isinstance(target.get('command'), list):
        command = ' '.join(map(str, target['command']))
    steps: list[Any] = []
    for index, raw in enumerate(data.get('steps') or []):
        if not isinstance(raw, dict) or len(raw) != 1:
            raise LoadScenarioError(file, f'a step is a one-key mapping, got {raw!r}', f'steps[{index}]')
        (kind, params), = raw.items()
        if kind == 'wait':
            steps.append({'wait': params.get('ms') if isinstance(params, dict) else params})
        elif kind == 'open':
            page = params.get('page') if isinstance(params, dict) else None
            steps.append({'open': {'page': page} if page else {}})
        elif isinstance(params, dict) and params.get('window', name) == name:
            steps.append({kind: {k: v for k, v in params.items() if k != 'window'}})
        else:
            raise LoadScenarioError(file, f'step {kind!r} cannot be replayed by a load user', f'steps[{index}]')
    final = (((data.get('expect') or {}).get('windows') or {}).get(name) or {}).get('elements')
    if final:
        steps.append({'check': {'elements': final}})
    steps.append({'close': {}})
    return {'name': data.get('name', file), 'description': data.get('description', ''),
            'policy': data.get('policy') or {}, 'host': host, 'target_command': command,
            'load': {'page': window.get('page', '/'), 'steps': steps, 'users': 10, 'spawn_rate': 10}}


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
    if isinstance(data, dict) and 'load' not in data and isinstance(data.get('windows'), list) and 'steps' in data:
        data = from_recorded_session(name, data)
    if not isinstance(data, dict) or not isinstance(data.get('load'), dict):
        raise LoadScenarioError(name, 'a load scenario is a mapping with a "load:" block (or a recorded session: '
                                      'a play scenario with one window)')
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
