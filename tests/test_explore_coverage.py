"""Seeds that replay at any --jobs, distortion, coverage, pct and sometimes (simulator.coverage, simulator.pct)."""
from __future__ import annotations

import json
import random
import shlex

from clientsim.simulator import virtual_time
from clientsim.simulator.explore import Exploration, play_many, signature
from clientsim.simulator.pct import bound, pct_order, runs_for_confidence
from clientsim.simulator.run_report import RunReport
from clientsim.simulator.scenario import load_scenario

from .conftest import SCENARIOS, run_cli

RACE = SCENARIOS / 'download_race_auto_index.yaml'


def test_play_seed_replays_explore_run_at_any_jobs():
    """20 seeds: explore at --jobs 1, --jobs 8 in one process, --jobs 8 over 2 worker processes (in seed order,
    streamed in seed order) and play --seed S give the same outcome signature per seed."""
    one = virtual_time.run(Exploration(RACE).run(20, 100, jobs=1))
    eight = virtual_time.run(Exploration(RACE).run(20, 100, jobs=8))
    streamed: list[int] = []
    pooled = virtual_time.run(Exploration(RACE).run(20, 100, jobs=8, processes=2,
                                                    on_result=lambda r, done: streamed.append(r.seed)))
    assert [r.seed for r in pooled] == streamed == list(range(100, 120))
    assert [r.signature for r in pooled] == [r.signature for r in one]
    played = {s: signature(play_many([load_scenario(RACE)], seed=s)[0]) for s in (100, 107, 113, 119)}
    assert [r.signature for r in one] == [r.signature for r in eight]
    assert {r.seed: r.signature for r in one if r.seed in played} == played
    assert len({r.signature for r in one}) >= 2  # the seeds do race
    assert not any(r.distorted for r in one) and max(r.lag_ms for r in one) == 0.0  # virtual time: no lag


def test_pct_orders_and_bound():
    rng = random.Random(1)
    orders = {tuple(pct_order(['a', 'b', 'c'], 2, rng)) for _ in range(200)}
    assert len(orders) == 6  # every permutation of three deliveries
    assert bound(3, 3, 2) == 1 / 27 and runs_for_confidence(1 / 27) == 80
    assert bound(1, 5, 2) == 1.0


def test_explore_pct_until_covered_reports_coverage_bound_and_sometimes(tmp_path):
    scenario = tmp_path / 'race.yaml'
    text = RACE.read_text(encoding='utf-8')
    scenario.write_text(text.replace('  clients_alive: 1\nfix:', '  clients_alive: 1\n  sometimes: {bob: received, '
                                     'alice: no_download_event}\nfix:'), encoding='utf-8')
    out = tmp_path / 'r.json'
    proc = run_cli('explore', str(scenario), '--runs', '300', '--jobs', '4', '--strategy', 'pct', '--depth', '2',
                   '--until-covered', '--report', str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert 'coverage (d=2): 3/3' in proc.stdout and 'strategy pct --depth 2' in proc.stdout
    report = json.loads(out.read_text())
    assert report['coverage']['covered'] == report['coverage']['pairs'] == 3
    assert report['strategy']['runs_for_95'] <= report['runs'] < 300  # stopped once covered and the bound met
    assert report['distorted_runs'] == 0
    met = {(r['window'], r['property']): r['met'] for r in report['sometimes']}
    assert met == {('bob', 'received'): True, ('alice', 'no_download_event'): False}


def test_pct_runs_replay_with_play_strategy_pct(tmp_path):
    """A pct run differs from the random run of the same seed, and ``play --seed S --strategy pct --depth 2``
    replays it: in Python (play_many) and through the exact command explore prints for each outcome class."""
    pct = virtual_time.run(Exploration(RACE, strategy='pct', depth=2).run(16, 40, jobs=4))
    random_runs = virtual_time.run(Exploration(RACE).run(16, 40, jobs=4))
    differ = [p.seed for p, r in zip(pct, random_runs, strict=True) if p.signature != r.signature]
    assert differ, 'pct hands the latencies out in another order than random search'
    for s in differ[:3]:
        played = play_many([load_scenario(RACE)], seed=s, strategy='pct', depth=2)[0]
        assert signature(played) == pct[s - 40].signature, s
    proc = run_cli('explore', str(RACE), '--runs', '12', '--seed', '40', '--jobs', '2', '--strategy', 'pct',
                   '--vary', 'bob.download_ms=0,50')
    replays = [line.split(': ', 1)[1] for line in proc.stdout.splitlines() if line.startswith('replay #')]
    assert replays and all('--strategy pct --depth 2' in r and '--vary bob.download_ms=0,50' in r for r in replays)
    command = shlex.split(replays[-1])  # the rarest outcome class
    seed = int(command[-1])
    explored = virtual_time.run(Exploration(RACE, ['bob.download_ms=0,50'], strategy='pct').run(1, seed))[0]
    out = tmp_path / 'replay.json'
    replay = run_cli(*command[1:], '--report', str(out))  # without 'clientsim'
    assert replay.returncode in (0, 1), replay.stdout + replay.stderr
    [scenario] = json.loads(out.read_text())['scenarios']
    assert signature(RunReport.model_validate(scenario)) == explored.signature
