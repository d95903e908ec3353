"""Scenario files: loading YAML, the :class:`Scenario` model, and errors that name file, line, step and field.

The steps (their argument models and handlers) live in :mod:`clientsim.simulator.steps`, the ``expect:`` models and
their checks in :mod:`clientsim.simulator.checks`; this module puts a file together from them.

A scenario is::

    name: download race on the auto-index page
    description: ...
    policy: {download_target: room, single_use_grace_s: 0}      # server.policy.ServerPolicy fields
    # or, instead of the embedded server, a real app (simulator.target; no policy, no server-side expectations):
    # target: http://127.0.0.1:8080   or   target: {command: [python, app.py, '{port}'], url: 'http://127.0.0.1:{port}'}
    windows:
      - {name: alice, page: /, latency: {download_ms: 0}}       # latency knobs in ms
      - {name: real, page: /, browser: chromium}                # a real headless Chromium tab
    steps:                                                      # each step is a one-key mapping
      - open: [alice, bob]          # or: open: alice / open: {windows: [alice], page: /private, wait: true}
      - click: {window: bob, label: Download}
      - type: {window: bob, label: Name, text: hello}   # per_key_ms: 30 for one change per character
      - wait: 500                   # ms
      - navigate: {window: alice, url: /private, before_handshake: true}
      - reload: alice
      - close: [alice, bob]         # or: close: all
      - drop: [alice]               # network loss; the server notices after its ping timeout
      - reconnect: [alice]          # new sid, same document_id (or: {windows: [alice], wait: false})
      - gc: {}                      # gc.collect() (model finalizers run)
      - wait_progress: {window: alice, at_least: 0.3, timeout_ms: 5000}
      - storm: {windows: all, rounds: 5, interval_ms: 40, handshake_ms: [0, 80], url: /private}
      - set: {window: bob, label: Fruit, value: banana}   # select/radio/toggle: option label; slider: number …
      - upload: {window: bob, files: [../files/sample.txt]}   # or {name: a.txt, text: hello}
      - duplicate: {window: alice, as: alice2}   # "Duplicate tab" (sessionStorage copied)
      - wait_text: {window: bob, text: 'count: 1', timeout_ms: 2000}
    javascript: {'^return window.innerWidth$': 1280}   # run_javascript rules: regex → result
    seed: 4304                      # seeds random draws (storm handshake delays, the server's route removal)
    vary: {download_ms: 0..100, order: shuffle}   # what clientsim explore varies per run (simulator.vary)
    settle_ms: 300                  # wait after the last step before expectations are checked
    expect:
      windows:
        alice: {download_events: 1, received: true, downloads: [200]}
      server_errors: {KeyError: 0}  # by exception type; a count is an int or a comparison such as "> 0"
      clients_alive: 1
    fix:                            # optional: the fixed variant (simulator.variants)
      policy: {download_target: sender}         # applied on top of policy
      expect: {windows: {bob: {downloads: [200]}}}   # replaces expect for the fixed variant

A loaded scenario is its shipped variant; :meth:`Scenario.variants` gives ``[('shipped', s), ('fixed', f)]``.

:func:`load_scenario` raises :class:`ScenarioError` (with ``file``, ``line``, ``location``) for anything wrong.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import Field, TypeAdapter, ValidationError, field_validator

from clientsim import assets
from clientsim.server.policy import ServerPolicy

from .browser.state import Latency
from .checks import EXTERNAL_EXPECTATIONS, Expectations, known_exception_name
from .errors import BadInputError
from .probe.checks import PROBED_EXPECTATIONS
from .scenario_yaml import YamlProblem, load_yaml, read_text
from .steps import STEP_TYPES, Step, StrictModel
from .suggest import expected_form, fields_at, unknown_name
from .target import NiceguiVersions, TargetSpec, _check_url
from .variants import FIXED, SHIPPED, FixSpec, fix_problems, fixed_policy
from .vary import VaryBlock


class ScenarioError(BadInputError):
    """A scenario file is unreadable or invalid. ``str()`` reads ``file:line: location: message``, where
    ``location`` names the step index and field (e.g. ``steps[2].click.window``)."""

    def __init__(self, file: str, message: str, *, line: int | None = None, location: str = '') -> None:
        message = message if len(message) <= 600 else message[:600] + ' …'  # a huge value stays out of the text
        self.file, self.message, self.line, self.location = file, message, line, location
        where = f'{file}:{line}' if line else file
        super().__init__(f'{where}: {location}: {message}' if location else f'{where}: {message}')


LatencySpec = Latency
"""A window's latency in a scenario file: the window's own :class:`clientsim.simulator.browser.state.Latency`
(one model; the name stays for the scenario's vocabulary)."""


class WindowSpec(StrictModel):
    """A browser window: ``name``, the ``page`` it opens (a path on the target, default ``/``), its ``latency``,
    ``browser``: ``simulated`` (default) or ``chromium``, a real headless Chromium tab
    (:mod:`clientsim.simulator.chromium`; needs the apt packages ``chromium chromium-driver``; latency knobs do
    not apply to it), and the browser ``context`` a simulated window is a tab of (windows with the same name share
    cookies and connections, like tabs of one browser profile; None: a browser of its own, see
    :mod:`clientsim.simulator.browser.context`)."""
    name: str = Field(min_length=1, max_length=64)
    page: str = '/'
    latency: Latency = Latency()
    browser: Literal['simulated', 'chromium'] = 'simulated'
    context: Optional[str] = Field(None, min_length=1, max_length=64)

    @field_validator('page')
    @classmethod
    def _page_is_path_or_url(cls, v: str) -> str:
        if not (v.startswith('/') or v.startswith('http://') or v.startswith('https://')):
            raise ValueError(f'page must be a path starting with "/" or an http(s) URL, got {v!r}')
        return v


class Scenario(StrictModel):
    """A whole scenario file (see the module docstring). ``path`` is set by :func:`load_scenario`."""
    name: str = Field(min_length=1)
    description: str = ''
    policy: ServerPolicy = ServerPolicy()
    windows: list[WindowSpec] = Field(min_length=1)
    steps: list[Any] = []
    settle_ms: float = Field(300.0, ge=0, le=600000)
    expect: Expectations = Expectations()
    seed: Optional[int] = None  # seeds the player's random generator (storm handshake delays)
    target: Optional[Union[str, TargetSpec]] = None  # a real app instead of the embedded server (simulator.target)
    nicegui: Optional[NiceguiVersions] = None  # releases with the bug / the fix, for ``clientsim matrix``
    vary: Optional[VaryBlock] = None  # knobs ``clientsim explore`` varies per run (simulator.vary)
    fix: Optional[FixSpec] = None  # the fixed variant: policy changes and its expectations (simulator.variants)
    # JavaScript rules: regex → result for ``run_javascript`` (matched at the start of the code, as NiceGUI's User)
    javascript: dict[str, Any] = {}
    path: Optional[str] = None
    variant: str = SHIPPED  # set by variants(), not read from the file: 'shipped' or 'fixed'

    @field_validator('javascript')
    @classmethod
    def _regexes(cls, v: dict[str, Any]) -> dict[str, Any]:
        from .browser.scripts import JavaScriptRules
        JavaScriptRules(v)  # ValueError naming the pattern that does not compile
        return v

    @field_validator('target', mode='before')
    @classmethod
    def _target(cls, v: Any) -> Any:
        return _check_url(v) if isinstance(v, str) else v

    def window(self, name: str) -> WindowSpec:
        """The window spec called ``name``. Raises KeyError."""
        for w in self.windows:
            if w.name == name:
                return w
        raise KeyError(name)

    @property
    def parsed_steps(self) -> list[Step]:
        """Steps as :class:`Step` objects (validated by :func:`load_scenario` / :func:`parse_scenario`)."""
        return self.steps  # type: ignore[return-value]

    def variants(self) -> list[tuple[str, 'Scenario']]:
        """The variants to play, as ``(variant, scenario)`` pairs in play order: ``[('shipped', self)]`` for a
        file without ``fix:``, else ``[('shipped', self), ('fixed', fixed)]``. ``fixed`` is a copy with the fix's
        policy applied on top of ``policy``, ``expect`` replaced by ``fix.expect``, the fix's ``description`` (if
        any) and ``variant == 'fixed'``; it shares windows and steps with ``self`` (do not mutate them). A fixed
        variant returns ``[('fixed', self)]``. Both variants play the same steps on separate servers; the GUI shows
        them one above the other. Raises nothing (the block was validated when the file was loaded)."""
        if self.fix is None or self.variant == FIXED:
            return [(self.variant, self)]
        fixed = self.model_copy(update={
            'policy': fixed_policy(self.policy, self.fix), 'expect': self.fix.expect, 'variant': FIXED,
            'description': self.fix.description or self.description})
        return [(SHIPPED, self), (FIXED, fixed)]

    def to_mapping(self) -> dict[str, Any]:
        """This scenario as the YAML mapping :func:`parse_scenario` reads back as it (what ``clientsim explore
        --shrink`` writes to ``.min.yaml``): fields left at their defaults out, steps in their ``{kind: fields}``
        form, the variant folded in (no ``fix:`` block; ``path`` and ``variant`` are not file fields)."""
        data = self.model_dump(mode='json', exclude_defaults=True, by_alias=True,
                               exclude={'steps', 'fix', 'path', 'variant', 'policy', 'windows'})
        policy = self.policy.model_dump(mode='json', exclude_unset=True)
        windows = [w.model_dump(mode='json', exclude_defaults=True) for w in self.windows]
        steps = [{step.kind: step.args.model_dump(mode='json', exclude_defaults=True, by_alias=True)}
                 for step in self.parsed_steps]
        head = {'name': self.name, **({'description': self.description} if self.description else {})}
        return {**head, **({'policy': policy} if policy else {}), 'windows': windows, 'steps': steps,
                **{k: v for k, v in data.items() if k not in head}}

    def policy_summary(self) -> str:
        """The bug/fix switches the file sets, as ``a=b c=d`` (timing knobs left out, see
        ``clientsim.server.policy.TIMING_FIELDS``), the fields a ``fix:`` block switches first; ``defaults (NiceGUI
        2.11.0)``
        when it sets none."""
        from clientsim.server.policy import TIMING_FIELDS
        if self.target is not None:
            return 'external target (no embedded server)'
        changed = self.policy.model_dump(exclude_unset=True)
        fixed = self.fix.policy.model_fields_set if self.fix is not None else set()
        keys = sorted((k for k in changed if k not in TIMING_FIELDS), key=lambda k: k not in fixed)  # stable
        return ' '.join(f'{k}={changed[k]}' for k in keys) or 'defaults (NiceGUI 2.11.0)'


def _node_line(node: Optional[yaml.Node], loc: tuple) -> Optional[int]:
    """1-based line of the YAML node at ``loc`` (keys and indices), or of its deepest existing ancestor."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, 'value', None) == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
            match = node.value[key]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def _loc_text(loc: tuple) -> str:
    text = ''
    for part in loc:
        text += f'[{part}]' if isinstance(part, int) else (f'.{part}' if text else str(part))
    return text


def _describe(error: dict, prefix: tuple, model: Any = None) -> tuple[tuple, str]:
    own = tuple(p for p in error['loc'] if not (isinstance(p, str) and p.startswith('function-')))
    loc = prefix + own
    message = error['msg'].removeprefix('Value error, ')
    if error['type'] == 'extra_forbidden':
        valid = fields_at(model, own[:-1]) if model is not None else []
        message = unknown_name('field', loc[-1], valid) if valid else f'unknown field {loc[-1]!r}'
    elif error['type'] in ('model_type', 'dict_type', 'model_attributes_type') and len(prefix) == 3 and not own:
        message = f'expected {expected_form(prefix[2])}, got {error.get("input")!r}'
    elif error['type'] == 'missing':
        message = f'field {loc[-1]!r} is required'
    return loc, message


def _raise_validation(file: str, root: Optional[yaml.Node], error: ValidationError, prefix: tuple = (),
                      model: Any = None) -> None:
    problems = [_describe(e, prefix, model) for e in error.errors()]
    loc, message = problems[0]
    for other_loc, other_message in problems[1:4]:
        line = _node_line(root, other_loc)
        message += f'; also line {line}: {_loc_text(other_loc)}: {other_message}'
    if len(problems) > 4:
        message += f'; and {len(problems) - 4} more'
    raise ScenarioError(file, message, line=_node_line(root, loc), location=_loc_text(loc)) from None


def _check_external_target(file: str, root: Optional[yaml.Node], scenario: 'Scenario') -> None:
    """With ``target`` there is no embedded server: reject ``policy`` and server-side expectations at load time.
    ``server_errors`` is allowed only for a ``command`` target (counted from the app's output)."""
    if 'policy' in scenario.model_fields_set:
        raise ScenarioError(file, 'policy switches the embedded server; with target (a real app) there is none',
                            line=_node_line(root, ('policy',)), location='policy')
    probed = isinstance(scenario.target, TargetSpec) and scenario.target.probe
    for name in sorted(scenario.expect.model_fields_set - EXTERNAL_EXPECTATIONS
                       - (PROBED_EXPECTATIONS if probed else set())):
        raise ScenarioError(file, f'{name} is read from the embedded server; with target (a real app) it cannot '
                            'be checked (remove it, or check server_errors, counted from the app output; '
                            f'{", ".join(sorted(PROBED_EXPECTATIONS))} need a command target with the probe on)',
                            line=_node_line(root, ('expect', name)), location=f'expect.{name}')
    if scenario.expect.server_errors and isinstance(scenario.target, str):
        raise ScenarioError(file, 'server_errors are counted from the output of an app clientsim starts; with a '
                            'URL target use target: {command: [...], url: ...}',
                            line=_node_line(root, ('expect', 'server_errors')), location='expect.server_errors')


def parse_scenario(text: str, file: str = '<string>', known_pages: set[str] | None = None) -> Scenario:
    """Parse and validate scenario YAML. ``known_pages``: paths the target serves (unknown ones are errors).
    Raises :class:`ScenarioError`."""
    try:
        root, data = load_yaml(text)  # duplicate keys, nesting, alias bombs (simulator.scenario_yaml)
    except YamlProblem as e:
        raise ScenarioError(file, e.message, line=e.line) from None
    if not isinstance(data, dict):
        raise ScenarioError(file, 'a scenario must be a YAML mapping with name, windows and steps', line=1)
    raw_steps = data.get('steps') or []
    if not isinstance(raw_steps, list):
        raise ScenarioError(file, 'steps must be a list', line=_node_line(root, ('steps',)), location='steps')
    try:
        scenario = Scenario.model_validate({**data, 'steps': []})
    except ValidationError as e:
        _raise_validation(file, root, e, model=Scenario)
    names = {w.name for w in scenario.windows}
    if len(names) != len(scenario.windows):
        dup = next(w.name for w in scenario.windows if [x.name for x in scenario.windows].count(w.name) > 1)
        raise ScenarioError(file, f'window name {dup!r} is used twice', line=_node_line(root, ('windows',)),
                            location='windows')
    if 'variant' in data:
        raise ScenarioError(file, "unknown field 'variant' (the fixed variant is a fix: block)",
                            line=_node_line(root, ('variant',)), location='variant')
    if scenario.fix is not None:
        for loc, message in fix_problems(scenario.fix, scenario.policy, names, scenario.target is not None)[:1]:
            raise ScenarioError(file, message, line=_node_line(root, loc), location=_loc_text(loc))
    if scenario.target is not None:
        _check_external_target(file, root, scenario)
        known_pages = None  # the pages of a real app are not known in advance
    for i, w in enumerate(scenario.windows):
        if known_pages is not None and w.page.startswith('/') and w.page.split('?')[0] not in known_pages:
            raise ScenarioError(file, f'unknown page {w.page!r} (the embedded server has: '
                                f'{", ".join(sorted(known_pages))})', line=_node_line(root, ('windows', i, 'page')),
                                location=f'windows[{i}].page')
    steps: list[Step] = []
    for i, raw in enumerate(raw_steps):
        line = _node_line(root, ('steps', i))
        if not isinstance(raw, dict) or len(raw) != 1:
            raise ScenarioError(file, f'step {i} must be a mapping with exactly one of: {", ".join(STEP_TYPES)}',
                                line=line, location=f'steps[{i}]')
        kind, value = next(iter(raw.items()))
        if kind not in STEP_TYPES:
            raise ScenarioError(file, unknown_name('step', kind, STEP_TYPES),
                                line=line, location=f'steps[{i}]')
        step_type = STEP_TYPES[kind]
        try:
            args = TypeAdapter(step_type.model).validate_python(step_type.normalise(value))
        except ValidationError as e:
            _raise_validation(file, root, e, prefix=('steps', i, kind), model=step_type.model)
        for field_name in ('window', 'windows'):
            refs = getattr(args, field_name, None)
            for ref in ([refs] if isinstance(refs, str) else refs or []):
                if ref not in names and not (ref == 'all' and field_name == 'windows'):
                    raise ScenarioError(file, f'unknown window {ref!r} (windows are: {", ".join(sorted(names))})',
                                        line=_node_line(root, ('steps', i, kind)),
                                        location=f'steps[{i}].{kind}.{field_name}')
        steps.append(Step(kind=kind, args=args, index=i, line=line))
    for name in scenario.expect.windows:
        if name not in names:
            raise ScenarioError(file, f'unknown window {name!r} in expectations',
                                line=_node_line(root, ('expect', 'windows', name)), location=f'expect.windows.{name}')
    _check_references(file, root, scenario, steps, known_pages)
    scenario.steps = steps
    scenario.path = file
    return scenario


def _check_references(file: str, root: Optional[yaml.Node], scenario: Scenario, steps: list[Step],
                      known_pages: set[str] | None) -> None:
    """Checks that need the whole file (issue 13): exception names in ``server_errors`` are known Python/asyncio
    exceptions or listed in ``custom_errors``; ``open: {page: ...}`` names a known page; ``gc`` needs the embedded
    server or a probed command target. Raises :class:`ScenarioError`."""
    for name in scenario.expect.server_errors:
        if not known_exception_name(name) and name not in scenario.expect.custom_errors:
            raise ScenarioError(file, f'unknown exception name {name!r} (not a Python or asyncio exception; list '
                                'an app\'s own exception in expect.custom_errors)',
                                line=_node_line(root, ('expect', 'server_errors', name)),
                                location=f'expect.server_errors.{name}')
    probed = isinstance(scenario.target, TargetSpec) and scenario.target.probe
    for step in steps:
        page = getattr(step.args, 'page', None) if step.kind == 'open' else None
        if page and known_pages is not None and page.startswith('/') and page.split('?')[0] not in known_pages:
            raise ScenarioError(file, f'unknown page {page!r} (the embedded server has: '
                                f'{", ".join(sorted(known_pages))})', line=_node_line(root, ('steps', step.index)),
                                location=f'steps[{step.index}].open.page')
        if step.kind == 'gc' and scenario.target is not None and not probed:
            raise ScenarioError(file, 'gc runs gc.collect() in the embedded server, or in a command target through '
                                'the probe; with this target it would do nothing (use target: {command: ..., '
                                'probe: true} or remove the step)', line=step.line, location=f'steps[{step.index}].gc')


def load_scenario(path: str | Path, known_pages: set[str] | None = None) -> Scenario:
    """Read and validate a scenario file. Raises :class:`ScenarioError` (also for unreadable files)."""
    path = Path(path)
    try:
        text = read_text(path)  # regular files only, size limit (simulator.scenario_yaml)
    except YamlProblem as e:
        raise ScenarioError(str(path), e.message) from None
    if known_pages is None:
        from clientsim.server.pages import DEFAULT_PAGES
        known_pages = {p.route for p in DEFAULT_PAGES}
    return parse_scenario(text, str(path), known_pages)


def library_dir() -> Path:
    """The scenario library: ``clientsim.assets``' ``scenarios/`` folder (package data; ``assets/scenarios/`` in a
    checkout)."""
    return assets.path('scenarios')


def library() -> list[Path]:
    """The shipped scenario files, sorted by name; ``*.min.yaml`` (what ``clientsim explore --shrink`` writes
    next to its input) are not part of the library."""
    return sorted(p for p in library_dir().glob('*.yaml') if not p.name.endswith('.min.yaml'))
