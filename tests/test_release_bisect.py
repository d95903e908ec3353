"""``clientsim bisect``: the flake-aware model on counted runs, the release list from the real package index, and
bisections over real NiceGUI releases (cached venvs, network).

The model tests feed the Beta-Bernoulli posterior with run counts drawn from a stated oracle (deterministic,
flaky, pure noise) and check that it names the culprit only when it should. The real bisections play
``assets/scenarios/real/`` files; the two long ones (issue #6237 waits 7.5 s per run, problem 2 needs five
releases) run with ``CLIENTSIM_SLOW=1``.
"""
from __future__ import annotations

import json
import os
import random

import pytest

from clientsim.simulator.bisect_model import Tally, bounds_differ, next_release, posterior
from clientsim.simulator.venvs import ReleaseError, Releases, releases

from .conftest import ROOT, run_cli

REAL = ROOT / 'assets' / 'scenarios' / 'real'
slow = pytest.mark.skipif(not os.environ.get('CLIENTSIM_SLOW'), reason='a long real bisection: set CLIENTSIM_SLOW=1')


def _bisect(culprit: int, n: int, p_old: float, p_new: float, seed: int, runs: int = 3,
            confidence: float = 0.95) -> tuple[int, float, int]:
    """Bisect n releases against an oracle: (most likely culprit, its posterior, runs played)."""
    rng = random.Random(seed)
    tallies = [Tally(str(i)) for i in range(n)]

    def play(i: int) -> None:
        for _ in range(runs):
            tallies[i].runs += 1
            tallies[i].new += rng.random() < (p_new if i >= culprit else p_old)

    play(0)
    play(n - 1)
    while max(posterior(tallies)) < confidence:
        index = next_release(tallies, 3 * runs, confidence)
        if index is None:
            break
        play(index)
    post = posterior(tallies)
    best = max(range(n), key=post.__getitem__)
    return best, post[best], sum(t.runs for t in tallies)


@pytest.mark.parametrize('culprit', [1, 4, 9, 15])
def test_a_deterministic_change_is_found_in_logarithmic_runs(culprit):
    best, confidence, played = _bisect(culprit, 16, 0.0, 1.0, seed=culprit)
    assert best == culprit and confidence >= 0.95
    assert played <= 3 * 9  # bounds + about log2(16) releases, 3 runs each (+ extra runs on the neighbours)


def test_a_flaky_change_needs_more_runs_and_is_still_found():
    found = [_bisect(6, 10, 0.0, 0.6, seed=s) for s in range(20)]
    right = sum(1 for best, conf, _ in found if best == 6 and conf >= 0.95)
    wrong = sum(1 for best, conf, _ in found if best != 6 and conf >= 0.95)
    assert wrong == 0 and right >= 5, found


def test_pure_noise_never_names_a_culprit():
    """A race that shows 50 % of the time at every release (the download race with tied latencies): the
    posterior stays flat and the bounds do not differ, so the answer is can't tell, not a wrong release."""
    for seed in range(10):
        _best, confidence, _played = _bisect(5, 10, 0.5, 0.5, seed=seed)
        assert confidence < 0.95
    assert bounds_differ(Tally('a', 9, 4), Tally('b', 9, 5)) < 0.95
    assert bounds_differ(Tally('a', 3, 0), Tally('b', 3, 3)) > 0.95


def test_posterior_is_a_distribution_and_ignores_skipped_releases():
    tallies = [Tally('1', 3, 0), Tally('2', skipped='failed to install'), Tally('3', 3, 3)]
    post = posterior(tallies)
    assert post[0] == 0 and abs(sum(post) - 1) < 1e-9
    assert post[1] == pytest.approx(post[2])  # the skipped release tells nothing: both splits alike


@pytest.mark.network
def test_release_list_comes_from_the_index():
    known = releases()
    assert {'2.11.0', '2.11.1', '3.18.0'} <= set(known.installable)
    assert known.installable.index('2.11.0') < known.installable.index('2.11.1') < known.installable.index('3.18.0')
    assert known.between('2.10.0', '2.12.0') == ['2.10.0', '2.10.1', '2.11.0', '2.11.1', '2.12.0']
    with pytest.raises(ReleaseError, match='newer than any release the package index serves'):
        known.between('3.0.0', '99.0.0')


def test_yanked_bounds_are_refused():
    known = Releases(['2.13.0', '2.14.1'], yanked=['2.14.0'])
    with pytest.raises(ReleaseError, match='yanked'):
        known.between('2.13.0', '2.14.0')


@pytest.mark.network
def test_bisect_finds_problem3_fix_at_2_11_1(tmp_path):
    """Problem 3 (KeyError on a disconnect before the handshake) came with 2.11.0 (PR #4285 added
    ``_socket_to_document_id``) and was fixed in 2.11.1."""
    out = tmp_path / 'bisect.json'
    proc = run_cli('bisect', str(REAL / 'problem3_disconnect_before_handshake.yaml'), '--good', '2.11.0',
                   '--bad', '2.12.0', '--runs', '2', '--report', str(out), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert (result['culprit'], result['old'], result['new']) == ('2.11.1', 'FAIL', 'PASS'), result['verdict']
    assert result['confidence'] >= 0.95
    assert 'FAIL → PASS first at nicegui 2.11.1' in proc.stdout


@pytest.mark.network
def test_bisect_says_cant_tell_when_the_bounds_agree():
    """2.10.0 and 2.12.0 both pass problem 3 (the bug lived in 2.11.0 only): no culprit, exit 1."""
    proc = run_cli('bisect', str(REAL / 'problem3_disconnect_before_handshake.yaml'), '--good', '2.10.0',
                   '--bad', '2.12.0', '--runs', '1', '--confidence', '0.9', timeout=600)
    assert proc.returncode == 1 and "can't tell" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]


@slow
@pytest.mark.network
def test_bisect_finds_problem2_regression_at_2_23_1():
    proc = run_cli('bisect', str(REAL / 'problem2_double_delete.yaml'), '--good', '2.22.0', '--bad', '2.23.3',
                   '--runs', '2', timeout=1800)
    assert proc.returncode == 0 and 'PASS → FAIL first at nicegui 2.23.1' in proc.stdout, proc.stdout[-3000:]


@slow
@pytest.mark.network
def test_bisect_finds_issue6237_fix_at_3_17_0():
    proc = run_cli('bisect', str(REAL / 'issue6237_stale_socket.yaml'), '--good', '3.15.0', '--bad', '3.18.0',
                   '--runs', '2', timeout=1800)
    assert proc.returncode == 0 and 'FAIL → PASS first at nicegui 3.17.0' in proc.stdout, proc.stdout[-3000:]


def test_gui_bisect_dialog_paints_release_cells(qtbot):
    """Scenario ▸ Bisect: a non-target file is refused in the dialog; a result paints red/green/amber/grey cells
    with the culprit outlined (the runs themselves are the CLI tests above)."""
    from clientsim.simulator.gui.bisect_view import BisectDialog, cell_state
    from clientsim.simulator.release_bisect import BisectResult
    dialog = BisectDialog(None, str(ROOT / 'assets' / 'scenarios' / 'download_race_auto_index.yaml'))
    qtbot.addWidget(dialog)
    dialog.start()
    assert dialog.task is None and 'needs a target' in dialog.verdict.text()
    tallies = [Tally('2.11.0', 4, 0, outcomes=['FAIL'] * 4), Tally('2.11.1', 2, 2), Tally('2.11.2', 3, 1),
               Tally('2.12.0'), Tally('2.12.1', skipped='cannot install')]
    dialog.show_result(BisectResult('x.yaml', '2.11.0', '2.12.1', '2.11.1', 0.97, 'FAIL', 'PASS', 9, tallies))
    assert [cell_state(t) for t in tallies] == ['old', 'new', 'mixed', 'none', 'none']
    styles = {v: label.styleSheet() for v, (label, _bar) in dialog.cells.items()}
    assert '#1c9a47' in styles['2.11.0'] and '#d63b30' in styles['2.11.1'] and '#f0a020' in styles['2.11.2']
    assert '3px solid black' in styles['2.11.1'] and '3px' not in styles['2.11.0']
    assert 'first at nicegui 2.11.1' in dialog.verdict.text()
