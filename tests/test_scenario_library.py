"""The shipped scenarios, headless, through real sockets: each variant passes, and each variant's expectations fail
on the other variant's run (the bug/fix difference is real)."""
from __future__ import annotations

import asyncio
import json

import pytest

from clientsim.simulator.player import ScenarioPlayer
from clientsim.simulator.scenario import library, load_scenario

from .conftest import SCENARIOS, failed_checks, play, run_cli

#: every library file and variant
LIBRARY_VARIANTS = [(p, v) for p in library() for v, _s in load_scenario(p).variants()]
#: library files with a fix: block
FIX_FILES = [p for p in library() if load_scenario(p).fix is not None]
#: files whose expectations state the fixed behaviour in both variants: the shipped variant FAILS these checks
SHIPPED_FAILS = {'handshake_stall.yaml': ['pinned clients', 'private clients alive']}


def statuses(report, window):
    return next([d.status for d in w.downloads] for w in report.windows if w.name == window)


@pytest.mark.parametrize('path, variant', LIBRARY_VARIANTS, ids=lambda x: getattr(x, 'stem', x))
def test_library_scenario_passes(path, variant):
    report = play(path.name, variant)
    assert report.variant == variant
    if variant == 'shipped' and path.name in SHIPPED_FAILS:  # plays FAIL shipped, PASS fixed
        assert sorted(failed_checks(report)) == sorted(SHIPPED_FAILS[path.name])
        return
    assert report.passed, failed_checks(report)


def test_the_library_has_its_bug_fix_pairs():
    """The merged pairs (each was a _bug/_fixed or shipped/fix file pair with the same steps)."""
    assert {p.name for p in FIX_FILES} == {
        'double_delete.yaml', 'disconnect_environ_none.yaml', 'fast_navigation.yaml', 'fast_navigation_storm.yaml',
        'download_race_auto_index.yaml', 'binding_leak.yaml', 'progress_resume.yaml', 'download_binding.yaml',
        'handshake_stall.yaml'}


@pytest.mark.parametrize('path', FIX_FILES, ids=lambda p: p.stem)
def test_each_variant_fails_the_other_variants_expectations(path):
    """The teeth of a fix: block: the shipped run fails the fixed expectations and the fixed run fails the shipped
    ones, on expectations (not on step errors); so neither variant can pass vacuously."""
    (_, shipped), (_, fixed) = load_scenario(path).variants()
    assert shipped.policy != fixed.policy
    pairs = [('shipped', 'fixed')] if path.name in SHIPPED_FAILS else [('shipped', 'fixed'), ('fixed', 'shipped')]
    for variant, other in pairs:
        report = play(path.name, variant, expect_of=other)
        failed = failed_checks(report)
        assert failed, f'the {variant} run passes the {other} expectations'
        assert not [name for name in failed if name.startswith('step ')], failed


def test_download_race_room_clicker_loses():
    report = play('download_race_auto_index.yaml')
    assert statuses(report, 'alice') == [200]
    assert statuses(report, 'bob') == [404]  # bob clicked and lost
    assert statuses(report, 'carol') == [404]
    alice = next(w for w in report.windows if w.name == 'alice')
    assert alice.downloads[0].bytes == (SCENARIOS.parent / 'files' / 'sample.txt').stat().st_size
    ids = {w.client_id for w in report.windows}
    assert len(ids) == 1, 'the auto-index page shares one client_id'


def test_download_race_fixed_variant_sends_to_the_clicker():
    """The fixed variant's run fails the shipped expectations: bob gets the file, alice no event."""
    report = play('download_race_auto_index.yaml', 'fixed', expect_of='shipped')
    assert not report.passed and report.policy['download_target'] == 'sender'
    assert statuses(report, 'bob') == [200] and statuses(report, 'alice') == []


def test_download_private_pages_only_clicker():
    report = play('download_private_pages.yaml')
    assert [statuses(report, w) for w in ('alice', 'bob', 'carol')] == [[], [200], []]
    assert len({w.client_id for w in report.windows}) == 3


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
    bug = play('fast_navigation.yaml')
    fixed = play('fast_navigation.yaml', 'fixed')
    assert [e.type for e in bug.server_errors] == ['KeyError', 'KeyError']
    assert 'handle_disconnect' in bug.server_errors[0].traceback
    assert fixed.server_errors == []
    assert bug.passed and fixed.passed
    # the server kept serving after the KeyError: every window ended with a completed handshake
    assert all(w.state == 'handshake done' for w in bug.windows)


def test_report_json_shape(tmp_path):
    out = tmp_path / 'r.json'
    proc = run_cli('play', '--headless', str(SCENARIOS / 'download_race_auto_index.yaml'), '--report', str(out),
                   '--events', str(tmp_path / 'e.jsonl'))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out.read_text())
    assert set(data) == {'passed', 'scenarios'} and data['passed'] is True
    assert [s['variant'] for s in data['scenarios']] == ['shipped', 'fixed']
    assert [s['policy']['download_target'] for s in data['scenarios']] == ['room', 'sender']
    report = data['scenarios'][0]
    for key in ('scenario', 'file', 'variant', 'policy', 'passed', 'expectations', 'windows', 'events',
                'server_errors'):
        assert key in report
    assert all('passed' in c for c in report['expectations'])
    assert {'name', 'page', 'client_id', 'downloads'} <= set(report['windows'][0])
    assert {'filename', 'status', 'bytes', 'sha256'} <= set(report['windows'][0]['downloads'][0])
    assert all('t_ms' in e for e in report['events'])
    lines = [json.loads(line) for line in (tmp_path / 'e.jsonl').read_text().splitlines()]
    assert len(lines) == sum(len(s['events']) for s in data['scenarios']) and lines[0]['t_ms'] >= 0
    assert {line['variant'] for line in lines} == {'shipped', 'fixed'}
