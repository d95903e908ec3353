"""Bug ⇄ fix in one file: the ``fix:`` block (validation with located errors, the two variants), ``clientsim play
--variant``, the result table printed row by row with a variant column, the progress line on a terminal, and
``--help``. Plays go through real sockets on 127.0.0.1 (the CLI in a subprocess)."""
from __future__ import annotations

import os
import pty
import subprocess
import textwrap

import pytest

from clientsim.server.policy import ServerPolicy
from clientsim.simulator.report import POLICY_WIDTH, ResultTable, shorten
from clientsim.simulator.run_report import Expectation, RunReport
from clientsim.simulator.scenario import ScenarioError, library_dir, parse_scenario
from clientsim.simulator.variants import select_variants

from .conftest import CLI, ROOT, run_cli

BASE = textwrap.dedent('''\
    name: t
    policy: {download_target: room, single_use_grace_s: 0}
    windows:
      - {name: a, page: /private}
    steps:
      - open: a
      - click: {window: a, label: Download}
      - wait: {wait}
    expect:
      windows:
        a: {downloads: [200]}
    ''')
FIX = textwrap.dedent('''\
    fix:
      description: the route survives its first GET for a second
      policy:
        single_use_grace_s: 1
      expect:
        windows:
          a: {downloads: [200], received: true}
    ''')


def scenario_text(fix: str = FIX, wait: int = 100) -> str:
    return BASE.replace('{wait}', str(wait)) + fix


def write(tmp_path, text, name='s.yaml'):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---- the fix: block ------------------------------------------------------------------------------------------------
def test_variants_of_a_file_with_fix():
    scenario = parse_scenario(scenario_text(), 'f.yaml')
    (name_s, shipped), (name_f, fixed) = scenario.variants()
    assert (name_s, name_f) == ('shipped', 'fixed')
    assert shipped is scenario and shipped.variant == 'shipped'
    assert fixed.variant == 'fixed' and fixed.path == 'f.yaml' and fixed.name == 't'
    assert fixed.policy.single_use_grace_s == 1.0 and fixed.policy.download_target == 'room'
    assert shipped.policy.single_use_grace_s == 0.0  # the shipped policy is untouched
    assert fixed.expect.windows['a'].received is True and shipped.expect.windows['a'].received is None
    assert fixed.description == 'the route survives its first GET for a second'
    assert fixed.policy_summary() == 'single_use_grace_s=1.0 download_target=room'  # the fix's fields first
    assert fixed.variants() == [('fixed', fixed)]
    assert fixed.parsed_steps is shipped.parsed_steps


def test_a_file_without_fix_has_only_shipped():
    scenario = parse_scenario(scenario_text(fix=''))
    assert scenario.variants() == [('shipped', scenario)]


def test_select_variants():
    with_fix, without = parse_scenario(scenario_text()), parse_scenario(scenario_text(fix=''))
    both, skipped = select_variants([with_fix, without], 'both')
    assert [s.variant for s in both] == ['shipped', 'fixed', 'shipped'] and skipped == []
    fixed, skipped = select_variants([with_fix, without], 'fixed')
    assert [s.variant for s in fixed] == ['fixed'] and skipped == [without]
    shipped, _ = select_variants([with_fix, without], 'shipped')
    assert shipped == [with_fix, without]
    with pytest.raises(ValueError, match='variant must be one of'):
        select_variants([with_fix], 'bug')


@pytest.mark.parametrize('fix, line, location, message', [
    (FIX.replace('single_use_grace_s: 1', 'bogus: 1'), 15, 'fix.policy.bogus', "unknown field 'bogus'"),
    (FIX.replace('single_use_grace_s: 1', 'download_target: everyone'), 15, 'fix.policy.download_target',
     "'room' or 'sender'"),
    (FIX.replace('single_use_grace_s: 1', 'single_use_grace_s: 0'), 15, 'fix.policy', 'the fix changes nothing'),
    (FIX.replace('    single_use_grace_s: 1\n', '').replace('policy:', 'policy: {}'), 14, 'fix.policy',
     'the fix changes nothing'),
    (FIX[:FIX.index('  expect:')], 13, 'fix.expect', "field 'expect' is required"),
    (FIX[:FIX.index('  expect:')] + '  expect: {}\n', 16, 'fix.expect', 'pass vacuously'),
    (FIX.replace('      a: {', '      zed: {'), 18, 'fix.expect.windows.zed', "unknown window 'zed'"),
    (FIX.replace('    windows:', '    clients_alive: -1\n    windows:'), 17, 'fix.expect.clients_alive',
     'cannot be negative'),
    ('fix: {policy: {disconnect_guard: true}, expect: {clients_alive: 1}, name: x}\n', 12, 'fix.name',
     "unknown field 'name'"),
    ('variant: fixed\n', 12, 'variant', "unknown field 'variant'"),
])
def test_bad_fix_blocks_are_located_errors(fix, line, location, message):
    with pytest.raises(ScenarioError) as info:
        parse_scenario(scenario_text(fix=fix), 's.yaml')
    error = info.value
    assert (error.file, error.line, error.location) == ('s.yaml', line, location), str(error)
    assert message in error.message
    assert str(error).startswith(f's.yaml:{line}: {location}: ')


def test_fix_with_a_target_is_an_error():
    text = textwrap.dedent('''\
        name: t
        target: http://127.0.0.1:9
        windows: [{name: a}]
        fix: {policy: {disconnect_guard: true}, expect: {windows: {a: {state: handshake done}}}}
        ''')
    with pytest.raises(ScenarioError, match=r'^s.yaml:4: fix: fix switches the policy of the embedded server'):
        parse_scenario(text, 's.yaml')


# ---- the table -----------------------------------------------------------------------------------------------------
def test_long_policy_summaries_end_in_an_ellipsis():
    assert shorten('abc', 3) == 'abc' and shorten('abcdef', 4) == 'abc…'
    policy = ServerPolicy(download_target='sender', prune_skips_pending_delete=True, idempotent_delete=True,
                          disconnect_guard=True, client_lookup_on_disconnect='session')
    summary = ' '.join(f'{k}={v}' for k, v in policy.model_dump(exclude_unset=True).items())
    assert len(summary) > POLICY_WIDTH
    report = RunReport(file='/x/long.yaml', scenario='x', variant='fixed', policy_summary=summary,
                       expectations=[Expectation(name='e', passed=True)], duration_ms=1234.5, passed=True)
    table = ResultTable([(report.file, summary)])
    row = table.row(report)
    assert row.split()[:2] == ['long.yaml', 'fixed']
    assert summary[:POLICY_WIDTH - 1].rstrip() + '…' in row and summary not in row
    assert row.endswith('1/1           1.23 s     PASS')
    assert table.header().splitlines()[0].split() == ['scenario', 'variant', 'policy', 'expectations', 'duration',
                                                      'result']


# ---- the CLI -------------------------------------------------------------------------------------------------------
def rows(stdout: str) -> list[list[str]]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('scenario')) + 2
    return [line.split() for line in lines[start:] if line.endswith(('PASS', 'FAIL'))]


def test_play_both_variants_by_default_and_select_one(tmp_path):
    path = write(tmp_path, scenario_text())
    proc = run_cli('play', '--headless', str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the field the fix switches comes first
    assert [(r[0], r[1], r[2]) for r in rows(proc.stdout)] == [
        ('s.yaml', 'shipped', 'single_use_grace_s=0.0'), ('s.yaml', 'fixed', 'single_use_grace_s=1.0')]
    proc = run_cli('play', '--headless', '--variant', 'fixed', str(path))
    assert proc.returncode == 0 and [r[1] for r in rows(proc.stdout)] == ['fixed']
    proc = run_cli('play', '--headless', '--variant', 'shipped', str(path))
    assert proc.returncode == 0 and [r[1] for r in rows(proc.stdout)] == ['shipped']


def test_variant_fixed_skips_files_without_fix(tmp_path):
    plain = write(tmp_path, scenario_text(fix=''), 'plain.yaml')
    proc = run_cli('play', '--headless', '--variant', 'fixed', str(plain), str(write(tmp_path, scenario_text())))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f'note: {plain}: no fix: block' in proc.stderr
    assert [(r[0], r[1]) for r in rows(proc.stdout)] == [('s.yaml', 'fixed')]
    proc = run_cli('play', '--headless', '--variant', 'fixed', str(plain))
    assert proc.returncode == 2 and 'nothing to play' in proc.stderr


def test_a_failing_fixed_variant_names_its_variant(tmp_path):
    path = write(tmp_path, scenario_text(fix=FIX.replace('received: true', 'received: false')))
    proc = run_cli('play', '--headless', str(path))
    assert proc.returncode == 1
    assert [(r[1], r[-1]) for r in rows(proc.stdout)] == [('shipped', 'PASS'), ('fixed', 'FAIL')]
    assert 's.yaml (fixed): t\n  FAILED a: received the file: expected False, got True' in proc.stdout


def test_rows_are_printed_as_each_scenario_finishes(tmp_path):
    """The first row is on stdout while the second (slow) scenario still plays."""
    fast = write(tmp_path, scenario_text(fix=''), 'fast.yaml')
    slow = write(tmp_path, scenario_text(fix='', wait=3000), 'slow.yaml')
    proc = subprocess.Popen([*CLI, 'play', '--headless', str(fast), str(slow)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        running_after_first_row = proc.poll() is None
        rest, err = proc.communicate(timeout=60)
    finally:
        proc.kill() if proc.poll() is None else None
    assert lines[2].split()[:2] == ['fast.yaml', 'shipped'] and lines[2].rstrip().endswith('PASS'), lines
    assert running_after_first_row, 'the first row came only after every scenario had finished'
    assert rest.splitlines()[0].split()[:2] == ['slow.yaml', 'shipped']
    assert proc.returncode == 0, rest + err
    assert '[1/2]' not in err  # no progress line when stderr is not a terminal


def test_progress_line_on_a_terminal(tmp_path):
    path = write(tmp_path, scenario_text())
    master, slave = pty.openpty()
    try:
        proc = subprocess.run([*CLI, 'play', '--headless', str(path)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=slave, text=True, timeout=60)
        os.close(slave)
        progress = b''
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the pty is drained and closed
                break
            if not chunk:
                break
            progress += chunk
    finally:
        os.close(master)
    text = progress.decode()
    assert proc.returncode == 0, proc.stdout + text
    # rich's transient live line: each update erases the line (ESC[2K) and redraws it in place
    assert '\r\x1b[2K[1/2] s.yaml (shipped) step 2/3: click' in text
    assert '[2/2] s.yaml (fixed)' in text
    assert text.endswith('\x1b[2K')  # erased at the end
    assert '\x1b' not in proc.stdout and len(rows(proc.stdout)) == 2


def test_help_lists_exit_codes_and_the_library():
    for args in (['--help'], ['play', '--help']):
        proc = run_cli(*args)
        assert proc.returncode == 0
        out = proc.stdout
        assert 'exit codes:' in out and '  0  every expectation holds' in out
        assert '  1  an expectation failed' in out and '  2  bad input' in out
        assert f'scenario library: {library_dir()}' in out
    assert '--variant {shipped,fixed,both}' in proc.stdout


def test_html_report_shows_the_variants(tmp_path):
    out = tmp_path / 'r.html'
    proc = run_cli('play', '--headless', str(write(tmp_path, scenario_text())), '--report', str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    page = out.read_text(encoding='utf-8')
    assert page.count('<span class="variant shipped">shipped</span>') == 2  # overview row + section
    assert page.count('<span class="variant fixed">fixed</span>') == 2
    assert '<th>variant</th>' in page
