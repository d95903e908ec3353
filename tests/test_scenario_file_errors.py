"""Issue 13, items 7-9: scenario files that must be clean errors, targets that cannot start (exit 3), and the
window close race. Files go through the loader in-process; a few through the ``clientsim`` CLI subprocess."""
from __future__ import annotations

import asyncio
import gc
import os
import sys
import textwrap
import warnings

import pytest

from clientsim.server.downloads import sample_file
from clientsim.simulator.cli import EXIT_TARGET
from clientsim.simulator.scenario import ScenarioError, load_scenario, parse_scenario
from clientsim.simulator.scenario_yaml import MAX_DEPTH, ScenarioWarning
from clientsim.simulator.target import ExternalTarget, TargetSpec, TargetStartError

from .conftest import SCENARIOS, run_cli

BASE = 'name: t\nwindows: [{name: a}]\n'


def _error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, 'f.yaml', {'/', '/private'})
    return info.value


def test_item7_deep_nesting_is_a_located_error():
    deep = BASE + 'steps: ' + '[' * 5000 + ']' * 5000 + '\n'
    e = _error(deep)
    assert f'deeper than {MAX_DEPTH}' in str(e) and e.line == 3


def test_item7_alias_bomb_is_refused_fast_and_short():
    bomb = BASE + 'a: &a [x, x, x, x, x, x, x, x, x]\n' + ''.join(
        f'{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, '
        f'*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n' for i in range(8))
    bomb += 'expect: {clients_alive: *i}\n'
    e = _error(bomb)
    assert 'alias' in str(e) and len(str(e)) < 700


def test_item7_six_level_bomb_message_is_short():
    text = (BASE + 'a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n'
            'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nexpect: {clients_alive: *c}\n')
    assert len(str(_error(text))) < 700


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='no FIFOs here')
def test_item7_fifo_is_refused_not_read(tmp_path):
    fifo = tmp_path / 'scenario.yaml'
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match='FIFO'):
        load_scenario(fifo)


def test_item7_duplicate_keys_name_both_lines():
    text = BASE + 'expect: {clients_alive: 1}\nsteps: []\nexpect: {}\n'
    e = _error(text)
    assert 'duplicate key' in str(e) and 'line 3' in str(e) and 'line 5' in str(e) and e.line == 5


def test_item7_unknown_exception_name_unless_custom():
    e = _error(BASE + 'expect: {server_errors: {KeyEror: 0}}\n')
    assert "'KeyEror'" in str(e) and e.location == 'expect.server_errors.KeyEror' and e.line == 3
    ok = parse_scenario(BASE + 'expect: {server_errors: {KeyError: 0, CancelledError: 0, QuotaError: 0}, '
                        'custom_errors: [QuotaError]}\n', 'f.yaml', {'/'})
    assert set(ok.expect.server_errors) == {'KeyError', 'CancelledError', 'QuotaError'}


def test_item7_comment_cut_warning_and_library_names_are_whole():
    with pytest.warns(ScenarioWarning, match="'t \\(fix, PR' ends where"):
        parse_scenario('name: t (fix, PR #4304)\nwindows: [{name: a}]\n', 'f.yaml', {'/'})
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        parse_scenario(BASE + 'steps:\n  - wait: 5   # ms\n', 'f.yaml', {'/'})  # an ordinary comment
        for path in sorted(SCENARIOS.glob('*.yaml')):
            scenario = load_scenario(path)
            assert scenario.name.count('(') == scenario.name.count(')'), path.name


def test_item7_open_page_and_gc_with_target_are_checked():
    e = _error(BASE + 'steps:\n  - open: {windows: [a], page: /nope}\n')
    assert e.location == 'steps[0].open.page' and "'/nope'" in str(e)
    e = _error('name: t\ntarget: http://127.0.0.1:9\nwindows: [{name: a}]\nsteps:\n  - gc: {}\n')
    assert e.location == 'steps[0].gc' and e.line == 5


def test_item8_target_that_cannot_start_raises_target_start_error(clientsim, tmp_path):
    cases = {
        'missing command': TargetSpec(command=['no-such-command-clientsim'], url='http://127.0.0.1:{port}'),
        'exits early': TargetSpec(command=[sys.executable, '-c', 'print("boom"); raise SystemExit(7)'],
                                  url='http://127.0.0.1:{port}'),
        'never answers': TargetSpec(command=[sys.executable, '-c', 'import time; time.sleep(30)'],
                                    url='http://127.0.0.1:{port}', ready_timeout_s=0.5),
        'missing cwd': TargetSpec(command=[sys.executable, '-c', 'pass'], url='http://127.0.0.1:{port}',
                                  cwd='no-such-dir'),
    }
    messages = {}
    for label, spec in cases.items():
        target = ExternalTarget(spec, base_dir=tmp_path)
        with pytest.raises(TargetStartError) as info:
            clientsim.run(target.start())
        clientsim.run(target.stop())
        messages[label] = str(info.value)
    assert 'no-such-command-clientsim' in messages['missing command']
    assert 'code 7' in messages['exits early'] and 'boom' in messages['exits early']
    assert 'did not answer' in messages['never answers']
    assert 'no-such-dir' in messages['missing cwd']
    with pytest.raises(TargetStartError, match='nothing answers'):
        clientsim.run(ExternalTarget('http://127.0.0.1:9').start())


def test_item8_cli_exit_3_without_traceback(tmp_path):
    file = tmp_path / 'bad_target.yaml'
    file.write_text(textwrap.dedent('''\
        name: target that exits
        target: {command: ['{python}', '-c', 'print("early"); raise SystemExit(4)'], url: 'http://127.0.0.1:{port}'}
        windows: [{name: a}]
        steps: [{open: a}]
        '''))
    url_file = tmp_path / 'url_target.yaml'
    url_file.write_text('name: nothing listens\ntarget: http://127.0.0.1:9\nwindows: [{name: a}]\n')
    for path, needle in ((file, 'code 4'), (url_file, 'nothing answers')):
        proc = run_cli('play', '--headless', '--trust', str(path))
        assert proc.returncode == EXIT_TARGET, proc.stdout + proc.stderr
        assert needle in proc.stderr and 'Traceback' not in proc.stdout + proc.stderr


def test_item9_download_arriving_during_close_starts_no_fetch(clientsim, clientsim_lab):
    """The race: a ``download`` message routed while ``close()`` is under way (300 tries)."""
    seen: list[dict] = []
    clientsim.loop.set_exception_handler(lambda loop, context: seen.append(context))

    async def run():
        route = clientsim_lab.server.downloads.register(sample_file())
        window = await clientsim_lab.open('w', '/')
        ignored = 0
        for i in range(300):
            if i:
                await window.open(clientsim_lab.url + '/')
            closing = asyncio.ensure_future(window.close())
            for _ in range(i % 4):
                await asyncio.sleep(0)
            window._handle_message('download', {'src': route.url, 'filename': 'sample.txt'})
            await closing
            ignored += window.download_events == 0
            window.download_events = 0
        return ignored
    ignored = clientsim.run(run(), timeout_s=120)
    gc.collect()
    assert seen == [], seen[:3]
    assert ignored > 0


@pytest.mark.parametrize('form, reads_as', [('0b101', 5), ('1:20', 80), ('0x10', 16), ('017', 15), ('1_000', 1000),
                                            ('1:20.5', 80.5)])
def test_yaml_11_number_forms_are_located_errors(tmp_path, form, reads_as):
    """Issue 20, item 8: a latency written ``1:20`` was 80 ms. Every YAML 1.1 number form that is not plain
    decimal is an error naming the file, line, field and column, through the real CLI (exit 2)."""
    path = tmp_path / 'latency.yaml'
    path.write_text((SCENARIOS / 'handshake_delay.yaml').read_text().replace('handshake_ms: 150',
                                                                            f'handshake_ms: {form}'))
    proc = run_cli('play', str(path))
    assert proc.returncode == 2, proc.stderr
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if form in text)
    assert f'{path}:{line}: handshake_ms: {form!r} (column ' in proc.stderr, proc.stderr
    assert f'reads as {reads_as!r}' in proc.stderr and 'Traceback' not in proc.stderr


def test_plain_and_quoted_numbers_still_load():
    data = parse_scenario(textwrap.dedent('''
        name: plain numbers
        windows:
          - {name: a, page: /private, latency: {handshake_ms: 80, download_ms: 1.5}}
          - {name: b, page: /private, latency: {handshake_ms: 0}}
        steps:
          - open: [a, b]
          - wait: 10
        '''))
    assert data.windows[0].latency.handshake_ms == 80 and data.windows[0].latency.download_ms == 1.5
