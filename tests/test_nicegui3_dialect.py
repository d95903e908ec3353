"""Offline parts of the nicegui.js 3.x window (issue 12): socket.io backoff, JavaScript rules, navigation codes,
element finding and wire values (on element dicts copied from a real NiceGUI 3.18.0 page), and loading the new
scenario fields and steps. The network half is tests/test_nicegui3_real_app.py."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from clientsim.simulator.browser.connection import reconnect_delay_s
from clientsim.simulator.browser.dialect import duplicate_tab_ids
from clientsim.simulator.browser.finding import find_element, wire_value
from clientsim.simulator.browser.scripts import JavaScriptRules, navigation_of
from clientsim.simulator.scenario import ScenarioError, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent


def _listener(kind: str = 'update:modelValue') -> list[dict]:
    return [{'listener_id': 'x', 'type': kind, 'args': [None]}]


# element dicts as a NiceGUI 3.18.0 page sends them (assets/apps/elements_app.py, trimmed)
PAGE = {
    '3': {'tag': 'div', 'children': [5, 7, 8, 11, 12, 13, 19, 29]},
    '5': {'tag': 'nicegui-select', 'props': {'model-value': None, 'label': 'Fruit', 'options': [
        {'value': 0, 'label': 'apple'}, {'value': 1, 'label': 'banana'}]}, 'events': _listener()},
    '7': {'tag': 'div', 'text': 'size'},
    '8': {'tag': 'q-option-group', 'props': {'model-value': 1, 'options': [
        {'value': 0, 'label': 'S'}, {'value': 1, 'label': 'M'}, {'value': 2, 'label': 'L'}]}, 'events': _listener()},
    '11': {'tag': 'div', 'text': 'volume'},
    '12': {'tag': 'q-slider', 'props': {'model-value': 10, 'min': 0, 'max': 100, 'step': 1}, 'events': _listener()},
    '13': {'tag': 'q-input', 'props': {'model-value': '1', 'label': 'Amount', 'type': 'number'},
           'events': _listener()},
    '19': {'tag': 'q-tabs', 'props': {'model-value': 'One'}, 'children': [20, 21], 'events': _listener()},
    '20': {'tag': 'q-tab', 'props': {'label': 'One', 'name': 'One'}},
    '21': {'tag': 'q-tab', 'props': {'label': 'Second', 'name': 'Two'}},
    '29': {'tag': 'nicegui-table', 'props': {'rows': [{'name': 'Alice', 'age': 18}]}},
}


def test_backoff_follows_socketio_client() -> None:
    rng = random.Random(1)
    delays = [[reconnect_delay_s(attempt, rng) for attempt in range(6)] for _ in range(200)]
    for row in delays:
        assert 0.5 <= row[0] <= 1.5 and 1.0 <= row[1] <= 3.0 and 2.0 <= row[2] <= 5.0
        assert all(d <= 5.0 for d in row)
    assert max(row[0] for row in delays) > 1.2 and min(row[0] for row in delays) < 0.8  # ±50 %, multiplicative


def test_javascript_rules_and_navigation() -> None:
    rules = JavaScriptRules({r'^return window\.innerWidth$': 1280, r'return (\d+)': lambda m: int(m.group(1)) * 2})
    assert rules.answer('return window.innerWidth') == (True, 1280)
    assert rules.answer('return 21') == (True, 42)
    assert rules.answer('const x = 1; return 21') == (False, None)  # matched at the start, as NiceGUI's User
    assert rules.answer('x.__IS_DRAWER_OPEN__') == (True, True)  # the User fixture's default rule
    with pytest.raises(ValueError, match="javascript rule '\\(' is not a valid regex"):
        JavaScriptRules({'(': 1})
    assert navigation_of('history.go(0)') == ('reload', None)
    assert navigation_of('history.back()') == ('back', None)
    assert navigation_of('history.pushState({}, "", "/a?b=1");') == ('push', '/a?b=1')
    assert navigation_of('return 1') is None


def test_finding_and_wire_values() -> None:
    assert find_element(PAGE, 'w', label='volume', need='value')[0] == '12'  # the label before the slider
    assert find_element(PAGE, 'w', content='Alice')[0] == '29'  # a table row
    assert find_element(PAGE, 'w', element_id='8')[0] == '8'
    with pytest.raises(LookupError, match=r"no element with a value with label 'Nope' \(candidates: #5 select "
                                          r"'Fruit', #8 radio 'size', #12 slider 'volume'"):
        find_element(PAGE, 'w', label='Nope', need='value')
    assert wire_value(PAGE, PAGE['5'], 'banana', 'w') == {'value': 1, 'label': 'banana'}
    assert wire_value(PAGE, PAGE['8'], 'L', 'w') == 2
    assert wire_value(PAGE, PAGE['12'], 42.0, 'w') == 42
    assert wire_value(PAGE, PAGE['13'], 3.5, 'w') == '3.5'
    assert wire_value(PAGE, PAGE['19'], 'Second', 'w') == 'Two'
    with pytest.raises(LookupError, match="no option 'kiwi'"):
        wire_value(PAGE, PAGE['5'], 'kiwi', 'w')
    with pytest.raises(ValueError, match='goes from 0 to 100'):
        wire_value(PAGE, PAGE['12'], 101, 'w')


def test_duplicate_tab_ids_by_version() -> None:
    assert duplicate_tab_ids('2.4.0', 'orig') == ('orig', None)  # before PR #3876
    tab_id, old = duplicate_tab_ids('2.5.0', 'orig')
    assert tab_id != 'orig' and old == 'orig'


def test_new_scenario_fields_and_steps() -> None:
    text = '''
name: s
target: http://127.0.0.1:1
javascript: {'^return 1$': 1}
windows: [{name: a}, {name: b}]
steps:
  - set: {window: a, label: Fruit, value: banana}
  - upload: {window: a, files: [{name: x.txt, text: hi}]}
  - duplicate: {window: a, as: b}
  - wait_text: {window: a, text: 'count: 1'}
  - drop: {windows: [a], notice_ms: 0, auto_reconnect: false}
'''
    scenario = parse_scenario(text)
    assert [s.kind for s in scenario.parsed_steps] == ['set', 'upload', 'duplicate', 'wait_text', 'drop']
    assert scenario.javascript == {'^return 1$': 1}
    with pytest.raises(ScenarioError, match=r"javascript: javascript rule '\[' is not a valid regex"):
        parse_scenario(text.replace("'^return 1$'", "'['"))
    with pytest.raises(ScenarioError, match=r"steps\[1\]\.upload\.files: .*inline file is \{name"):
        parse_scenario(text.replace('{name: x.txt, text: hi}', '{name: x.txt}'))


@pytest.mark.parametrize('name', ['issue6237_stale_socket', 'issue3876_duplicate_tab', 'issue1822_reload_many',
                                  'problem5_progress_lost', 'problem5_progress_reattach'])
def test_report_scenarios_load(name: str) -> None:
    scenario = load_scenario(ROOT / 'assets' / 'scenarios' / 'real' / f'{name}.yaml')
    assert scenario.target is not None and scenario.nicegui is not None or name == 'issue1822_reload_many'
