"""A recording (:mod:`.recording`) → a readable, editable scenario: :func:`generate` returns the scenario as a dict,
:func:`to_yaml` as YAML text.

What a person did becomes steps in clientsim's step language (:mod:`clientsim.simulator.steps`):

* the first page GET → ``open``; a page GET the server did not ask for (address bar, link, reload) → ``navigate``;
  a page GET after the server's ``open`` message (``ui.navigate.to``) → nothing (the click that caused it replays
  it), then ``wait_text`` for a text of the new page, so the next step acts on it;
* ``event`` frames → ``click`` (a click listener) or ``set`` (a value listener; the keystrokes of one input
  collapse into one ``set`` with the final text; select values are option labels); a multipart POST → ``upload``
  with the file inline (``{name, text}``); other listeners (popup-show …) are left out;
* the time between two actions → ``wait`` (ms, at most ``compress_think_ms`` when given).

Elements are named by label (or caption) when that finds exactly this element, else by element id (NiceGUI
numbers a page's elements in build order, so the ids of a page are the same in every session).

Expectations come from what the server sent: for each page left before the end, a ``check`` step (placed before
the step that left it) lists every element the server updated or the person set, with its final ``text`` and
``value`` and the step whose answer set it; the final page's go to ``expect.windows.<window>.elements``; the
``download`` messages give ``download_events`` and the statuses of their GETs ``downloads``; ``server_errors:
{Exception: 0}`` for an app clientsim starts. Per-session values (client_id, tab_id, document_id, sid, message ids,
single-use download URLs, upload URLs) never appear: the replaying window reads them from its live page and
connection. No Qt import here.
"""
from __future__ import annotations

import json
import urllib.parse
from typing import Any, Optional

import yaml

from ..browser import elements as el
from ..browser import finding
from ..browser.page import PageError, parse_page
from ..chromium.wire import decode
from .recording import Recording

WINDOW = 'user'
MIN_WAIT_MS = 100
"""Think times shorter than this (ms) are left out."""
_SKIP_KINDS = ('other',)


class _StepRef:
    """A step dict held by identity until the steps are final."""

    def __init__(self, step: dict[str, Any]) -> None:
        self.step = step


class _Page:
    def __init__(self, path: str, config: dict[str, Any], t_ns: int) -> None:
        self.path, self.t_ns = path, t_ns
        self.client_id = config['client_id']
        self.elements: dict[str, dict] = config['elements']
        self.initial = json.loads(json.dumps(self.elements))
        self.touched: dict[str, Optional[int]] = {}  # element id -> index of the step whose answer set it


def _name(elements: dict[str, dict], element_id: str, need: Optional[str]) -> dict[str, Any]:
    """``{'label': ...}`` when the label (or caption) finds exactly this element, else ``{'id': ...}``."""
    element = elements[element_id]
    label = el.label_of(element) or finding.captions(elements).get(element_id)
    if label:
        try:
            found, _ = finding.find_element(elements, WINDOW, label=label, need=need)
        except (LookupError, ValueError):
            found = None
        if found == element_id and (need != 'click' or el.find_clickable(elements, label, WINDOW)[0] == element_id):
            return {'label': label}
    return {'id': element_id}


class _Generator:
    def __init__(self, recording: Recording, window: str, compress_think_ms: Optional[float]) -> None:
        self.recording, self.window, self.compress = recording, window, compress_think_ms
        self.steps: list[dict[str, Any]] = []
        self.actions: list[int] = []  # indexes into steps of the person's actions
        self.page: Optional[_Page] = None
        self.first_path = '/'
        self.conn_client: dict[Any, str] = {}
        self.pending_open: Optional[str] = None
        self.last_action_ns: Optional[int] = None
        self.download_srcs: list[str] = []
        self.download_statuses: dict[str, int] = {}
        self.last_set: Optional[tuple[str, int]] = None  # (element id, step index) of a set that keys may extend

    # ---- steps ------------------------------------------------------------------------------------------------
    def _think(self, t_ns: int) -> None:
        if self.last_action_ns is not None:
            ms = (t_ns - self.last_action_ns) / 1e6
            if self.compress is not None:
                ms = min(ms, self.compress)
            if ms >= MIN_WAIT_MS:
                self.steps.append({'wait': int(round(ms))})
        self.last_action_ns = t_ns

    def _action(self, t_ns: int, step: dict[str, Any]) -> None:
        self._think(t_ns)
        self.steps.append(step)
        self.actions.append(len(self.steps) - 1)
        self.last_set = None

    def resolve(self, specs: list[dict[str, Any]]) -> None:
        """Replace each ``step`` reference by ``'<index> <kind> <what>'`` (final indexes)."""
        for spec in specs:
            ref = spec.get('step')
            if isinstance(ref, _StepRef):
                index = next(i for i, step in enumerate(self.steps) if step is ref.step)
                spec['step'] = self._describe(index)

    def _describe(self, index: int) -> str:
        kind, args = next(iter(self.steps[index].items()))
        what = args.get('label') or args.get('value') or args.get('url') or (
            f"#{args['id']}" if isinstance(args, dict) and 'id' in args else '') if isinstance(args, dict) else ''
        return f'{index} {kind} {what}'.strip()

    # ---- expectations -------------------------------------------------------------------------------------------
    def _elements(self, page: _Page) -> list[dict[str, Any]]:
        out = []
        for element_id, cause in page.touched.items():
            element = page.elements.get(element_id)
            if element is None:
                continue
            info = el.describe_element(element_id, element)
            if info['kind'] in _SKIPPED:
                continue
            before = page.initial.get(element_id)
            name = _name(page.elements, element_id, None)
            if 'label' in name and (before is None or el.label_of(before) != name['label']):
                name = {'id': element_id}
            spec: dict[str, Any] = dict(name)
            if 'id' in name and before is not None and el.label_of(before):
                spec['was'] = el.label_of(before)
            if element.get('text') is not None and info['kind'] not in ('checkbox', 'switch'):
                spec['text'] = str(element['text'])
            if info['kind'] in _VALUED:
                spec['value'] = info['value']
            if 'text' not in spec and 'value' not in spec:
                continue
            if cause is not None:
                spec['step'] = _StepRef(self.steps[cause])  # an index now; checks inserted later shift it
            out.append(spec)
        return out

    def _leave_page(self, caused_by_last_action: bool) -> None:
        """Check the page being left: before its last action when that action left it, else here."""
        if self.page is None:
            return
        specs = self._elements(self.page)
        if not specs:
            return
        check = {'check': {'window': self.window, 'elements': specs}}
        if caused_by_last_action and self.actions:
            index = self.actions[-1]
            self.steps.insert(index, check)
            self.actions[-1] += 1
        else:
            self.steps.append(check)

    # ---- entries ------------------------------------------------------------------------------------------------
    def http(self, entry: dict[str, Any]) -> None:
        path = str(entry.get('path', ''))
        bare = urllib.parse.urlsplit(path).path
        if entry.get('method') == 'GET' and bare in self.download_srcs and bare not in self.download_statuses:
            self.download_statuses[bare] = int(entry.get('status', 0))
            return
        if entry.get('method') == 'POST' and entry.get('form') and self.page is not None:
            files = [{'name': p['filename'], 'text': p['text']} for p in entry['form']
                     if p.get('filename') and p.get('text') is not None]
            if files:
                self._action(entry['t_ns'], {'upload': {'window': self.window, 'files': files}})
            return
        body = entry.get('body')
        if entry.get('method') != 'GET' or body is None or entry.get('status') != 200:
            return
        try:
            config = parse_page(body)
        except PageError:
            return
        caused = self.pending_open is not None
        self.pending_open = None
        self._leave_page(caused)
        first = self.page is None
        self.page = _Page(path, config, entry['t_ns'])
        if first:
            self.first_path = path
            self.steps.append({'open': self.window})
            self.last_action_ns = entry['t_ns']
        elif caused:
            text = next((str(e['text']) for e in self.page.elements.values()
                         if isinstance(e.get('text'), str) and e['text'].strip()), None)
            if text:
                self.steps.append({'wait_text': {'window': self.window, 'text': text, 'timeout_ms': 10000}})
        else:
            self._action(entry['t_ns'], {'navigate': {'window': self.window, 'url': path}})

    def ws_open(self, entry: dict[str, Any]) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(str(entry.get('path', ''))).query)
        self.conn_client[entry.get('conn')] = (query.get('client_id') or [''])[0]

    def _on_current_page(self, entry: dict[str, Any]) -> bool:
        return self.page is not None and self.conn_client.get(entry.get('conn')) == self.page.client_id

    def ws_send(self, entry: dict[str, Any]) -> None:
        packet = decode(str(entry.get('data', '')))
        if packet is None or packet.event != 'event' or not self._on_current_page(entry):
            return
        payload = packet.payload if isinstance(packet.payload, dict) else {}
        assert self.page is not None
        element_id = str(payload.get('id'))
        element = self.page.elements.get(element_id)
        if element is None:
            return
        listener = next((li for li in element.get('events') or [] if li.get('listener_id') ==
                         payload.get('listener_id')), None)
        if listener is None:
            return
        if listener.get('type') == 'click':
            self._action(entry['t_ns'], {'click': {'window': self.window, **_click_name(self.page.elements,
                                                                                         element_id)}})
        elif listener.get('type') in el.VALUE_EVENTS:
            args = payload.get('args') or [None]
            try:
                raw = json.loads(args[0]) if isinstance(args[0], str) else args[0]
            except ValueError:
                raw = args[0]
            element.setdefault('props', {})[el.value_prop(listener)] = raw
            value = el.shown_value(element, raw)
            self.page.touched.setdefault(element_id, None)
            if self.last_set is not None and self.last_set[0] == element_id:
                self.steps[self.last_set[1]]['set']['value'] = value  # the next key of the same input
                return
            self._action(entry['t_ns'], {'set': {'window': self.window, **_name(self.page.elements, element_id,
                                                                                 'value'), 'value': value}})
            self.last_set = (element_id, len(self.steps) - 1)

    def ws_recv(self, entry: dict[str, Any]) -> None:
        packet = decode(str(entry.get('data', '')))
        if packet is None or not self._on_current_page(entry):
            return
        assert self.page is not None
        payload = packet.payload
        cause = self.actions[-1] if self.actions else None
        if packet.event == 'update' and isinstance(payload, dict):
            el.apply_update(self.page.elements, payload)
            for element_id, element in payload.items():
                if element_id != '_id' and element is not None:
                    self.page.touched[str(element_id)] = cause
        elif packet.event == 'open' and isinstance(payload, dict) and not payload.get('new_tab'):
            self.pending_open = str(payload.get('path'))
        elif packet.event == 'download' and isinstance(payload, dict):
            self.download_srcs.append(urllib.parse.urlsplit(str(payload.get('src', ''))).path)


_SKIPPED = ('other', 'table', 'upload', 'progress', 'tabs', 'expansion')
_VALUED = ('input', 'checkbox', 'switch', 'select', 'radio', 'toggle', 'slider')


def _click_name(elements: dict[str, dict], element_id: str) -> dict[str, Any]:
    name = _name(elements, element_id, 'click')
    return name if 'label' in name else {'id': element_id}


def generate(recording: Recording, *, name: str = 'recorded session', target: Any = None,
             compress_think_ms: Optional[float] = None, window: str = WINDOW,
             server_errors: bool = False) -> dict[str, Any]:
    """The scenario (a dict in the scenario file's shape, see the module docstring) of ``recording``.
    ``target``: the scenario's ``target:`` (a URL or a ``{command, url, ...}`` dict); ``compress_think_ms``:
    the longest ``wait`` (ms), None keeps the recorded think times; ``server_errors``: expect no exception in the
    app's output (only for an app clientsim starts). Raises ValueError when the recording has no NiceGUI page."""
    gen = _Generator(recording, window, compress_think_ms)
    for entry in recording.entries:
        handler = getattr(gen, entry['kind'], None)
        if handler is not None:
            handler(entry)
    if gen.page is None:
        raise ValueError('the recording holds no NiceGUI page (was the app opened through the proxy?)')
    expect_window: dict[str, Any] = {}
    if gen.download_srcs:
        expect_window['download_events'] = len(gen.download_srcs)
        expect_window['downloads'] = [gen.download_statuses.get(src, 0) for src in gen.download_srcs]
    final = gen._elements(gen.page)
    gen.resolve(final)
    for step in gen.steps:
        if 'check' in step:
            gen.resolve(step['check']['elements'])
    if final:
        expect_window['elements'] = final
    expect: dict[str, Any] = {'windows': {window: expect_window}} if expect_window else {}
    if server_errors:
        expect['server_errors'] = {'Exception': 0}
    scenario: dict[str, Any] = {
        'name': name,
        'description': f'Recorded by clientsim record through {recording.proxy or "its proxy"} in front of '
                       f'{recording.upstream or "the app"}; replay it with: clientsim play FILE --windows 50',
    }
    if target is not None:
        scenario['target'] = target
    scenario['windows'] = [{'name': window, 'page': gen.first_path}]
    scenario['steps'] = gen.steps
    scenario['settle_ms'] = 300
    if expect:
        scenario['expect'] = expect
    return scenario


class _Dumper(yaml.SafeDumper):
    """Block style for the file, flow style for the small mappings of steps and elements."""


def _represent_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    flow = all(not isinstance(v, (dict, list)) for v in data.values()) and 2 <= len(data) <= 6
    return dumper.represent_mapping('tag:yaml.org,2002:map', data, flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)


def to_yaml(scenario: dict[str, Any], header: str = '') -> str:
    """``scenario`` as YAML text (keys in the order given; small mappings on one line), after ``header`` (comment
    lines, each starting with ``#``)."""
    text = yaml.dump(scenario, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return header + text
