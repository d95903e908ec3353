"""The race explorer (simulator.explore, simulator.vary, simulator.shrink) through real sockets: ties give
several outcomes, a seed fixes a run's draws, shrink writes a scenario that fails 3 of 3, --jobs gives the
sequential results, the late joiner of the auto-index page gets nothing, and the exit codes of explore."""
from __future__ import annotations

import asyncio
import json
import random
import shutil

import pytest
import yaml

from clientsim.server.removal import RemovalModel
from clientsim.simulator import virtual_time
from clientsim.simulator.explore import Exploration, outcomes, play_many, signature, wilson
from clientsim.simulator.scenario import library, load_scenario
from clientsim.simulator.shrink import shrink_to_file
from clientsim.simulator.vary import VaryError, parse_cli

from .conftest import SCENARIOS, run_cli


def test_tie_gives_at_least_two_outcomes():
    results = virtual_time.run(Exploration(SCENARIOS / 'download_race_tie.yaml').run(24, 0, jobs=8))
    rows = outcomes(results)
    assert len(results) == 24 and sum(r['count'] for r in rows) == 24
    assert len(rows) >= 2, rows
    assert any('alice 1×[200] bob 1×[200]' in r['signature'] for r in rows), rows  # both served, as 28 of 51


def test_same_seed_same_draws():
    exploration = Exploration(SCENARIOS / 'download_race_auto_index.yaml', ['order=shuffle'])
    assert exploration.draw(7) == exploration.draw(7)
    assert exploration.draw(7) != exploration.draw(8)
    a, b = exploration.scenario_for(7), exploration.scenario_for(7)
    assert [w.latency for w in a.windows] == [w.latency for w in b.windows]
    assert all(0 <= w.latency.download_ms <= 100 for w in a.windows)
    model = RemovalModel()
    assert [model.draw_wake_ms(random.Random('server:7')) for _ in range(5)] == \
        [model.draw_wake_ms(random.Random('server:7')) for _ in range(5)]
    # a window's own knob wins over the one for every window; lists draw one of their values
    exploration = Exploration(SCENARIOS / 'download_race_auto_index.yaml', ['bob.download_ms=5,7'])
    for seed in range(5):
        assert exploration.draw(seed).latency['bob']['download_ms'] in (5, 7)
    with pytest.raises(VaryError, match='zed'):
        Exploration(SCENARIOS / 'download_race_auto_index.yaml', ['zed.download_ms=0..1'])
    with pytest.raises(VaryError, match='unknown knob'):
        parse_cli(['speed=1'])


def test_seeded_play_replays_an_explore_run():
    path = SCENARIOS / 'download_race_auto_index.yaml'
    [run] = virtual_time.run(Exploration(path).run(1, 3))
    [report] = play_many([load_scenario(path)], seed=3)
    assert signature(report) == run.signature


def test_shrink_writes_a_scenario_that_fails_3_of_3(tmp_path):
    raw = yaml.safe_load((SCENARIOS / 'download_race_auto_index.yaml').read_text())
    raw['steps'][-1] = {'wait': 50}
    raw['settle_ms'] = 100
    path = tmp_path / 'race.yaml'
    path.write_text(yaml.safe_dump(raw))
    exploration = Exploration(path)
    failing = next(r for r in virtual_time.run(exploration.run(8, 0, jobs=8)) if not r.passed)
    out = virtual_time.run(shrink_to_file(str(path), exploration.scenario_for(failing.seed), failing.seed,
                                          failing.failed[0], log=lambda _: None))
    assert out == str(tmp_path / 'race.min.yaml')
    text = (tmp_path / 'race.min.yaml').read_text()
    assert f'explore seed {failing.seed}' in text
    minimal = load_scenario(out)
    assert minimal.fix is None  # the explored (shipped) variant alone: play gives exactly what failed
    # its own name and a description generated from its content, not the original's "⇄ fix" / "alice wins…"
    assert minimal.name == f'minimal race: fails "{failing.failed[0]}"'
    assert f'{len(minimal.windows)} window' in minimal.description and f'seed {failing.seed}' in minimal.description
    # a second shrink does not overwrite the first
    again = virtual_time.run(shrink_to_file(str(path), exploration.scenario_for(failing.seed), failing.seed,
                                            failing.failed[0], log=lambda _: None))
    assert again == str(tmp_path / 'race.min-2.yaml')
    assert len(minimal.windows) < 3 or len(minimal.steps) < 3
    reports = play_many([minimal, minimal, minimal], jobs=3)
    assert not any(r.passed for r in reports)
    assert all(any(c.name == failing.failed[0] and not c.passed for c in r.expectations) for r in reports)


def test_jobs_give_the_sequential_library_results():
    """The library's download scenarios with --jobs 4 give the outcome signatures (and PASS) of sequential plays;
    ties (download_race_tie) are random on purpose and compared by result only."""
    scenarios = [load_scenario(p) for p in library() if 'download_' in p.name]
    assert len(scenarios) >= 5
    parallel = play_many(scenarios, jobs=4)
    sequential = play_many(scenarios, jobs=1)
    assert [r.file for r in parallel] == [s.path for s in scenarios]
    assert [r.passed for r in parallel] == [r.passed for r in sequential] == [True] * len(scenarios)
    for p, s in zip(parallel, sequential, strict=True):
        if 'tie' not in s.file:
            assert signature(p) == signature(s), s.file


def test_explore_fixed_variant_plays_the_fix():
    """--variant fixed explores the fix: block: sender targeting, so every run passes whatever the delays; the
    shipped variant of the same draws fails in some runs."""
    fixed = Exploration(SCENARIOS / 'download_race_auto_index.yaml', variant='fixed')
    shipped = Exploration(SCENARIOS / 'download_race_auto_index.yaml')
    assert fixed.raw_for(3)['policy']['download_target'] == 'sender' and 'fix' not in fixed.raw_for(3)
    assert fixed.draw(3) == shipped.draw(3)  # the same latency draws for both variants
    fixed_runs = virtual_time.run(fixed.run(6, 0, jobs=6))
    shipped_runs = asyncio.run(shipped.run(6, 0, jobs=6))
    assert all(r.passed for r in fixed_runs)
    assert not all(r.passed for r in shipped_runs)
    assert fixed.scenario_for(0).variant == 'fixed'


def test_late_joiner_gets_no_download_event():
    [report] = play_many([load_scenario(SCENARIOS / 'download_late_joiner.yaml')])
    bob = next(w for w in report.windows if w.name == 'bob')
    alice = next(w for w in report.windows if w.name == 'alice')
    assert bob.download_events == 0 and bob.downloads == [] and bob.state == 'handshake done'
    assert [d.status for d in alice.downloads] == [200]
    assert report.passed


def test_wilson_interval():
    low, high = wilson(28, 51)
    assert 0.41 < low < 0.42 and 0.67 < high < 0.69
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0


def test_explore_exit_codes(tmp_path):
    ok = run_cli('explore', str(SCENARIOS / 'download_race_tie.yaml'), '--runs', '4', '--jobs', '4')
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert 'failing: 0/4' in ok.stdout
    report = tmp_path / 'r.json'
    failed = run_cli('explore', str(SCENARIOS / 'download_race_auto_index.yaml'), '--runs', '6', '--jobs', '6',
                     '--seed', '0', '--report', str(report))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    data = json.loads(report.read_text())
    assert data['runs'] == 6 and data['seed'] == 0 and data['minimal_scenario'] is None
    assert 0 < data['failing_runs'] < 6 and sum(o['count'] for o in data['outcomes']) == 6
    assert {'signature', 'count', 'share', 'passed', 'seeds'} <= set(data['outcomes'][0])
    assert f"failing: {data['failing_runs']}/6" in failed.stdout
    bad = tmp_path / 'bad.yaml'
    shutil.copy(SCENARIOS / 'download_race_tie.yaml', bad)
    bad.write_text(bad.read_text().replace('order: shuffle', 'order: sideways'))
    assert run_cli('explore', str(bad)).returncode == 2
    assert run_cli('explore', str(SCENARIOS / 'download_race_tie.yaml'), '--vary', 'x=1').returncode == 2
    target = tmp_path / 'target.yaml'
    target.write_text(yaml.safe_dump({
        'name': 'an app that does not start',
        'target': {'command': ['{python}', '-c', 'raise SystemExit(4)'], 'url': 'http://127.0.0.1:{port}/'},
        'windows': [{'name': 'alice'}], 'steps': [{'open': 'alice'}]}))
    dead = run_cli('explore', str(target), '--runs', '2', '--trust')
    assert dead.returncode == 3, dead.stdout + dead.stderr
    assert 'target could not be started' in dead.stderr and 'Traceback' not in dead.stderr


def test_a_minimal_scenario_never_goes_into_the_installed_library(tmp_path, monkeypatch):
    from clientsim.simulator.shrink import minimal_path
    monkeypatch.chdir(tmp_path)
    assert minimal_path(SCENARIOS / 'download_race_auto_index.yaml') == tmp_path / 'download_race_auto_index.min.yaml'
    assert minimal_path(SCENARIOS / 'x.yaml', tmp_path / 'out') == tmp_path / 'out' / 'x.min.yaml'
