"""Scenario errors that help (issue 19, item 6): the expected form of a step, the valid names of an unknown
field or step with the closest match, and a YAML syntax error at the line where the broken construct opens."""
from __future__ import annotations

import pytest

from clientsim.simulator.scenario import ScenarioError, parse_scenario

HEAD = 'name: s\nwindows:\n  - {name: alice, page: /}\nsteps:\n  - open: alice\n'


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, file='s.yaml')
    return str(caught.value)


def test_a_wrong_wait_names_the_forms():
    assert error_of(HEAD + '  - wait: 100ms\n') == (
        "s.yaml:6: steps[1].wait: expected wait: 100 or wait: {ms: 100}, got '100ms'")


def test_a_typo_in_a_step_suggests_the_closest():
    message = error_of(HEAD + '  - clik: {window: alice, label: Download}\n')
    assert message.startswith("s.yaml:6: steps[1]: unknown step 'clik' — did you mean 'click'? (valid: open, click,")


def test_an_unknown_policy_field_lists_the_valid_ones():
    message = error_of('policy: {download_targt: room}\n' + HEAD)
    assert message.startswith("s.yaml:1: policy.download_targt: unknown field 'download_targt' — did you mean "
                              "'download_target'? (valid: download_target, ")
    assert 'disconnect_guard' in message


def test_an_unknown_step_field_lists_the_step_fields():
    message = error_of(HEAD + '  - click: {window: alice, lable: Download}\n')
    assert "unknown field 'lable' — did you mean 'label'?" in message and 'window' in message


def test_an_unclosed_bracket_points_at_its_line():
    message = error_of(HEAD + '  - wait: [1\n  - open: alice\n')
    assert message.startswith('s.yaml:6: not valid YAML: a flow sequence opened here is not closed')
    assert 'at line 7' in message
