"""Problem 5: progress lost when the page is closed and reopened; cancel on unload; resume from checkpoint;
re-attach by tab storage or file hash. Real sockets; servers and windows from the project's pytest plugin
(``clientsim_lab_factory``)."""
from __future__ import annotations

import asyncio

import pytest

from clientsim.server.policy import ServerPolicy
from clientsim.simulator.checks import skipped_chunks_shown
from clientsim.simulator.lab import Lab

from .conftest import failed_checks, play, until

CHUNK_S = 0.05


def policy(**fields) -> ServerPolicy:
    return ServerPolicy(job_chunks=10, job_chunk_s=CHUNK_S, reconnect_timeout_s=0.1, prune_interval_s=0.05,
                        prune_age_s=5, prune_skips_pending_delete=True, **fields)


async def _close_at_30_and_reopen(lab: Lab, *, choose_again: bool = False, other_tab: bool = False) -> dict:
    server = lab.server
    alice = await lab.open('alice', '/convert')
    reopened = lab.add('alice2') if other_tab else alice
    assert alice.progress == 0.0
    await alice.click('Convert sample.txt')
    await alice.wait_for(lambda b: (b.progress or 0) >= 0.3, 3)
    await alice.close()
    await asyncio.sleep(0.05)
    await reopened.open(lab.url_for('/convert'))
    progress_at_open = reopened.progress
    await asyncio.sleep(0.01)
    progress_soon = reopened.progress
    if choose_again:
        await reopened.click('Convert sample.txt')
    # poll (deadline): every job finished or cancelled, and a window that shows progress saw the job's last update
    await until(lambda: server.jobs.count('running') == 0 and (not choose_again or server.jobs.count('finished'))
                and not (server.jobs.count('finished') and 0 < (reopened.progress or 0) < 1.0))
    return {'at_open': progress_at_open, 'soon': progress_soon, 'end': reopened.progress,
            'skipped': skipped_chunks_shown(reopened), 'jobs': server.jobs.summary(),
            'kinds': [e.kind for e in server.timeline.events], 'errors': server.errors,
            'attached': [e.detail.get('via') for e in server.timeline.of_kind('job_attached')]}


def test_continue_without_reattach_reopened_page_shows_nothing(clientsim, clientsim_lab_factory):
    r = clientsim.run(_close_at_30_and_reopen(clientsim_lab_factory(policy())))
    assert r['soon'] == 0.0 and r['end'] == 0.0
    assert [j['state'] for j in r['jobs']] == ['finished']  # the job ran on in the background
    assert r['errors'] == []


def test_reattach_by_tab_storage_shows_progress_at_once(clientsim, clientsim_lab_factory):
    r = clientsim.run(_close_at_30_and_reopen(clientsim_lab_factory(policy(job_reattach=True))))
    assert r['soon'] >= 0.3  # within one chunk time of the page load
    assert r['end'] == 1.0
    assert r['attached'] == ['tab']


def test_reattach_by_file_hash_from_another_tab(clientsim, clientsim_lab_factory):
    lab = clientsim_lab_factory(policy(job_reattach=True))
    r = clientsim.run(_close_at_30_and_reopen(lab, choose_again=True, other_tab=True))
    assert r['soon'] == 0.0  # a new tab has no job id in its storage
    assert r['attached'] == ['file'] and r['end'] == 1.0
    assert len(r['jobs']) == 1


def test_same_file_while_running_without_reattach_is_busy(clientsim, clientsim_lab_factory):
    r = clientsim.run(_close_at_30_and_reopen(clientsim_lab_factory(policy()), choose_again=True))
    assert 'job_busy' in r['kinds'] and len(r['jobs']) == 1 and r['end'] == 0.0


def test_cancel_on_unload_then_restart_skips_done_chunks(clientsim, clientsim_lab_factory):
    lab = clientsim_lab_factory(policy(job_on_disconnect='cancel'))
    r = clientsim.run(_close_at_30_and_reopen(lab, choose_again=True))
    cancelled, resumed = r['jobs']
    assert cancelled['state'] == 'cancelled' and cancelled['done'] >= 3
    assert resumed['skipped'] == cancelled['done'] and resumed['state'] == 'finished'
    assert r['skipped'] == cancelled['done']  # the visible label
    assert 'job_chunks_skipped' in r['kinds'] and r['end'] == 1.0


@pytest.mark.parametrize('name, variant, expect_of, change', [
    ('progress_resume.yaml', 'fixed', 'shipped', {}),   # the reattaching run fails "progress lost"
    ('progress_resume.yaml', 'shipped', 'fixed', {}),   # the lost run fails "progress re-attached"
    ('progress_resume_cancel_restart.yaml', 'shipped', None, {'job_on_disconnect': 'continue'}),
])
def test_progress_scenarios_catch_the_difference(name, variant, expect_of, change):
    report = play(name, variant, expect_of=expect_of, **change)
    assert not report.passed
    assert not [n for n in failed_checks(report) if n.startswith('step ')]
