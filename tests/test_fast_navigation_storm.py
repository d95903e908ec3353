"""Problem 3 under load: 50 windows navigating repeatedly with seeded random handshake delays."""
from __future__ import annotations

import pytest

from clientsim.simulator.player import ScenarioPlayer
from clientsim.simulator.scenario import ScenarioError, load_scenario, parse_scenario

from .conftest import SCENARIOS, play


def test_storm_guard_off_raises_keyerrors_guard_on_none():
    bug = play('fast_navigation_storm.yaml')
    fixed = play('fast_navigation_storm.yaml', 'fixed')
    key_errors = [e for e in bug.server_errors if e.type == 'KeyError']
    assert key_errors and all(e.where == 'disconnect' for e in key_errors)
    assert not [e for e in fixed.server_errors if e.type == 'KeyError']
    assert bug.clients_alive == fixed.clients_alive == 1  # only the auto-index client is left
    # each window navigated 5 times after its first load: 50 * 6 sockets
    assert sum(e.kind == 'socket_connected_server' for e in bug.events) == 300


def test_seed_fixes_the_draws():
    scenario = load_scenario(SCENARIOS / 'fast_navigation_storm.yaml')
    assert scenario.seed == 4304
    a, b = ScenarioPlayer(scenario), ScenarioPlayer(scenario)
    assert [a.rng.uniform(0, 150) for _ in range(20)] == [b.rng.uniform(0, 150) for _ in range(20)]


@pytest.mark.parametrize('step, message', [
    ('{rounds: 2, interval_ms: 10, handshake_ms: [50, 10]}', 'handshake_ms must be'),
    ('{rounds: 0, interval_ms: 10}', 'greater than or equal to 1'),
    ('{windows: [nobody], rounds: 1, interval_ms: 10}', 'unknown window'),
])
def test_bad_storm_steps_are_scenario_errors(step, message):
    text = f'name: x\nwindows: [{{name: a, page: /private}}]\nsteps:\n  - storm: {step}\n'
    with pytest.raises(ScenarioError, match=message) as info:
        parse_scenario(text)
    assert 'steps[0].storm' in str(info.value)
