"""The shipped scenarios, headless, through real sockets: each passes, and its expectations would catch a
change of policy (the bug/fix difference is real)."""
from __future__ import annotations

import asyncio
import json

import pytest

from simulator.player import ScenarioPlayer
from simulator.scenario import library, load_scenario

from .conftest import SCENARIOS, run_cli


def play(name: str, **policy):
    scenario = load_scenario(SCENARIOS / name)
    if policy:
        scenario.policy = scenario.policy.model_copy(update=policy)
    return asyncio.run(ScenarioPlayer(scenario).run())


def statuses(report, window):
    return next([d['status'] for d in w['downloads']] for w in report['windows'] if w['name'] == window)


@pytest.mark.parametrize('path', library(), ids=lambda p: p.stem)
def test_library_scenario_passes(path):
    report = asyncio.run(ScenarioPlayer(load_scenario(path)).run())
    failed = [c for c in report['expectations'] if not c['passed']]
    assert report['passed'], failed


def test_download_race_room_clicker_loses():
    report = play('download_race_auto_index.yaml')
    assert statuses(report, 'alice') == [200]
    assert statuses(report, 'bob') == [404]  # bob clicked and lost
    assert statuses(report, 'carol') == [404]
    alice = next(w for w in report['windows'] if w['name'] == 'alice')
    assert alice['downloads'][0]['bytes'] == (SCENARIOS.parent / 'files' / 'sample.txt').stat().st_size
    ids = {w['client_id'] for w in report['windows']}
    assert len(ids) == 1, 'the auto-index page shares one client_id'


def test_download_race_expectations_catch_the_fix():
    """Played with the fix, the bug scenario's expectations fail: they pin the shipped behaviour."""
    report = play('download_race_auto_index.yaml', download_target='sender')
    assert not report['passed']
    assert statuses(report, 'bob') == [200] and statuses(report, 'alice') == []


def test_download_private_pages_only_clicker():
    report = play('download_private_pages.yaml')
    assert [statuses(report, w) for w in ('alice', 'bob', 'carol')] == [[], [200], []]
    assert len({w['client_id'] for w in report['windows']}) == 3


def test_simultaneous_gets_all_succeed():
    """With no latency between GETs and the route removed one loop tick after its first GET
    (``single_use_removal: next_tick``) all windows get 200: the route is matched before it is removed. The
    default thread-pool model makes ties random (tests/test_explore.py)."""
    scenario = load_scenario(SCENARIOS / 'download_race_auto_index.yaml')
    scenario.policy = scenario.policy.model_copy(update={'single_use_removal': 'next_tick'})
    for w in scenario.windows:
        w.latency.download_ms = 0
    report = asyncio.run(ScenarioPlayer(scenario).run())
    assert [statuses(report, w) for w in ('alice', 'bob', 'carol')] == [[200], [200], [200]]


def test_fast_navigation_guard_difference():
    bug = play('fast_navigation_bug.yaml')
    fixed = play('fast_navigation_fixed.yaml')
    assert [e['type'] for e in bug['server_errors']] == ['KeyError', 'KeyError']
    assert 'handle_disconnect' in bug['server_errors'][0]['traceback']
    assert fixed['server_errors'] == []
    assert bug['passed'] and fixed['passed']
    # the server kept serving after the KeyError: every window ended with a completed handshake
    assert all(w['state'] == 'handshake done' for w in bug['windows'])


def test_report_json_shape(tmp_path):
    out = tmp_path / 'r.json'
    proc = run_cli('play', '--headless', str(SCENARIOS / 'download_race_auto_index.yaml'), '--report', str(out),
                   '--events', str(tmp_path / 'e.jsonl'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    for key in ('scenario', 'policy', 'passed', 'expectations', 'windows', 'events', 'server_errors'):
        assert key in report
    assert all('passed' in c for c in report['expectations'])
    assert {'name', 'page', 'client_id', 'downloads'} <= set(report['windows'][0])
    assert {'filename', 'status', 'bytes', 'sha256'} <= set(report['windows'][0]['downloads'][0])
    assert all('t_ms' in e for e in report['events'])
    lines = (tmp_path / 'e.jsonl').read_text().splitlines()
    assert len(lines) == len(report['events']) and json.loads(lines[0])['t_ms'] >= 0
