"""Seeds that replay at any --jobs, distortion, coverage, pct and sometimes (simulator.coverage, simulator.pct)."""
from __future__ import annotations

import json
import random

from clientsim.simulator import virtual_time
from clientsim.simulator.explore import Exploration, play_many, signature
from clientsim.simulator.pct import bound, pct_order, runs_for_confidence
from clientsim.simulator.scenario import load_scenario

from .conftest import SCENARIOS, run_cli

RACE = SCENARIOS / 'download_race_auto_index.yaml'


def test_play_seed_replays_explore_run_at_any_jobs():
    """20 seeds: explore at --jobs 1 and --jobs 8 and play --seed S give the same outcome signature per seed."""
    one = virtual_time.run(Exploration(RACE).run(20, 100, jobs=1))
    eight = virtual_time.run(Exploration(RACE).run(20, 100, jobs=8))
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
