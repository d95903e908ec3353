"""``clientsim record`` (issue 21): real Chromium, driven by Selenium, records a session through the proxy against
``assets/apps/recorder_app.py`` on real NiceGUI 3.18.0 and 2.11.0; the generated scenario replays in 1 and 50
windows; a changed app fails with a diff; updates that arrive in another order still pass; Ctrl+C keeps the
recording."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from clientsim.simulator.chromium import missing_reason

from .conftest import nicegui_python_or_skip

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / 'assets' / 'apps' / 'recorder_app.py'
CLI = [sys.executable, '-m', 'clientsim.simulator.cli']
# one Chromium test at a time (tests/test_conformance.py, test_recorder.py, test_chromium_window.py): two Chromium
# page loads beside the rest of the suite on 2 cores took a recorder page over 30 s to connect
pytestmark = pytest.mark.xdist_group('chromium')
needs_chromium = pytest.mark.skipif(
    missing_reason() is not None, reason=f'needs Chromium: {missing_reason()} (apt packages chromium chromium-driver)')


def wait_for_line(proc: subprocess.Popen, lines: list[str], needle: str, timeout_s: float) -> str:
    """Read ``proc``'s stdout into ``lines`` until a line holds ``needle``; returns it (fails after the deadline)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if needle in line:
            return line
    pytest.fail(f'no {needle!r} within {timeout_s} s: {"".join(lines)[-2000:]}')


def start_record(tmp_path: Path, python: str, *extra: str) -> tuple[subprocess.Popen, str, list[str]]:
    """``clientsim record --target <recorder_app> --browser none``; returns the process and the URL to open."""
    proc = subprocess.Popen([*CLI, 'record', '--target', f'{python} {APP} {{port}}', '--browser', 'none',
                             '--out', str(tmp_path / 'rec.yaml'), '--end-after-s', '1', *extra],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    line = wait_for_line(proc, lines, 'recording: open', 90)
    return proc, line.split('open ', 1)[1].split()[0], lines


def chromium_story(chromium) -> str:
    """What the tab did, for a failure message: its HTTP responses, websocket events and console lines."""
    lines = []
    for method, params, wall_ns in chromium.cdp_events():
        at = f'{wall_ns // 1_000_000 % 100_000:>5} ms'
        if method == 'Network.responseReceived':
            response = params.get('response', {})
            lines.append(f"{at} GET {response.get('url', '')[:80]} -> {response.get('status')}")
        elif method.startswith('Network.webSocket') and 'Frame' not in method or method == 'Network.loadingFailed':
            lines.append(f'{at} {method} {json.dumps(params)[:200]}')
        elif method == 'Network.webSocketFrameReceived':
            lines.append(f"{at} recv {params.get('response', {}).get('payloadData', '')[:80]}")
    try:
        driver = chromium.driver
        lines += [f"console {e.get('level')}: {e.get('message', '')[:200]}" for e in driver.get_log('browser')]
        lines.append('page: ' + driver.execute_script('return document.body ? document.body.innerText : ""')[:300])
    except Exception as e:  # the story is best effort; the failure is what counts
        lines.append(f'(no console: {e})')
    return '\n'.join(lines[-60:])


def drive_session(url: str) -> None:
    """What a person does, in real Chromium through the proxy: type a name, tick Agree, pick banana, Greet (waits
    for both timers), Download (waits for the file), Go to other (waits for the new page's socket)."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from clientsim.simulator.chromium.driver import ChromiumDriver
    chromium = ChromiumDriver()
    chromium.start()
    driver = chromium.driver

    def connected(d) -> bool:
        return d.execute_script('return !!(window.socket && window.socket.connected)')

    def shown(text: str):
        return lambda d: d.find_elements(By.XPATH, f"//*[normalize-space(.)='{text}']")
    try:
        driver.get(url)
        try:  # a deadline: the page's JS through the proxy, on a busy machine
            WebDriverWait(driver, 90).until(connected)
        except TimeoutException:
            pytest.fail(f'no connected socket within 90 s: {chromium_story(chromium)}')
        driver.find_element(By.XPATH, "//label[.//*[normalize-space(.)='Name']]//input").send_keys('bob')
        driver.find_element(By.XPATH, "//*[contains(@class,'q-checkbox')]").click()
        driver.find_element(By.XPATH, "//*[contains(@class,'q-select')]").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_elements(
            By.XPATH, "//div[contains(@class,'q-menu')]//div[contains(@class,'q-item')][normalize-space(.)='banana']"
        ))[0].click()
        driver.find_element(By.XPATH, "//button[normalize-space(.)='Greet']").click()
        WebDriverWait(driver, 10).until(shown('left: done'))
        WebDriverWait(driver, 10).until(shown('right: done'))
        driver.find_element(By.XPATH, "//button[normalize-space(.)='Download']").click()
        WebDriverWait(driver, 10).until(lambda d: list(chromium.download_dir.glob('sample*.txt')))
        driver.find_element(By.XPATH, "//button[normalize-space(.)='Go to other']").click()
        WebDriverWait(driver, 15).until(shown('the other page'))
        WebDriverWait(driver, 30).until(connected)
    finally:
        chromium.quit()


def update_order(frames, ids: tuple[str, str]) -> str:
    """Which of the two element ids an ``update`` carried first: ``'9,10'`` or ``'10,9'``."""
    seen = []
    for payload in frames:
        for element_id in ids:
            if element_id in payload and element_id not in seen:
                seen.append(element_id)
    return ','.join(seen)


def play(path: Path, windows: int, trust: bool = False) -> tuple[int, str]:
    """``clientsim play PATH --windows N`` (a recording written by ``clientsim record --target`` is trusted;
    an edited copy needs ``trust``)."""
    proc = subprocess.run([*CLI, 'play', '--headless', str(path), '--windows', str(windows),
                           *(['--trust'] if trust else [])], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


@needs_chromium
@pytest.mark.network
@pytest.mark.parametrize('version', ['3.18.0', '2.11.0'])
def test_record_in_chromium_then_replay_in_1_and_50_windows(tmp_path, version):
    python = nicegui_python_or_skip(version)
    proc, url, lines = start_record(tmp_path, python, '--compress-think-ms', '300')
    try:
        drive_session(url)
        out, err = proc.communicate(timeout=60)  # the tab closed: the recording ends on its own
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, ''.join(lines) + out + err
    assert 'Traceback' not in err, err
    text = (tmp_path / 'rec.yaml').read_text()
    scenario = yaml.safe_load(text)
    kinds = [next(iter(step)) for step in scenario['steps']]
    assert {'set': {'window': 'user', 'label': 'Name', 'value': 'bob'}} in scenario['steps'], text
    assert {'set': {'window': 'user', 'label': 'Fruit', 'value': 'banana'}} in scenario['steps'], text
    assert {'click': {'window': 'user', 'label': 'Greet'}} in scenario['steps'], text
    assert kinds[0] == 'open' and 'check' in kinds and kinds[-1] == 'wait_text', kinds
    assert all(step['wait'] <= 300 for step in scenario['steps'] if 'wait' in step)
    expect = scenario['expect']['windows']['user']
    assert expect['download_events'] == 1 and expect['downloads'] == [200]
    check = next(step['check'] for step in scenario['steps'] if 'check' in step)
    answer = next(e for e in check['elements'] if e.get('was') == 'no answer yet')
    assert answer['text'] == 'Hello, bob! agree=True fruit=banana' and 'click Greet' in answer['step']
    # per-session values stay in the raw recording, never in the scenario
    raw = [json.loads(line) for line in (tmp_path / 'rec.jsonl').read_text().splitlines()]
    session_values = {v for e in raw if e['kind'] == 'ws_open' for part in e['path'].split('?')[1].split('&')
                      for k, v in [part.split('=', 1)] if k in ('client_id', 'tab_id', 'document_id', 'sid')}
    assert session_values and not any(v in text for v in session_values)
    assert any(e['kind'] == 'ws_recv' and e['data'].startswith('42["download"') for e in raw)
    # replay: the recorded file as it is, then 50 windows at once
    code, output = play(tmp_path / 'rec.yaml', 1)
    assert code == 0, output
    code, output = play(tmp_path / 'rec.yaml', 50)
    assert code == 0 and 'PASS' in output, output


@needs_chromium
@pytest.mark.network
def test_changed_app_fails_with_a_diff_and_reordered_updates_still_pass(tmp_path):
    """One Chromium recording on 3.18.0, then: (a) 30 windows in process, whose two timer updates arrive in both
    orders, pass; (b) the app with a renamed label and another greeting fails with a diff naming element,
    expected, seen and step."""
    python = nicegui_python_or_skip('3.18.0')
    proc, url, lines = start_record(tmp_path, python, '--compress-think-ms', '200')
    try:
        drive_session(url)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, ''.join(lines) + out + err
    raw = [json.loads(line) for line in (tmp_path / 'rec.jsonl').read_text().splitlines()][1:]
    recorded = update_order([e['data'] for e in raw if e['kind'] == 'ws_recv' and 'done' in e['data']],
                            ('"9"', '"10"'))

    from clientsim.simulator.player import ScenarioPlayer
    from clientsim.simulator.record.replay import multiply
    from clientsim.simulator.scenario import load_scenario
    player = ScenarioPlayer(multiply(load_scenario(tmp_path / 'rec.yaml'), 30))
    report = asyncio.run(player.run())
    assert report.passed, [c for c in report.expectations if not c.passed][:3]
    orders = {update_order([json.dumps(f.payload) for f in b.frames if f.direction == 'received'
                            and f.event == 'update' and 'done' in json.dumps(f.payload)], ('"9"', '"10"'))
              for b in player.browsers.values()}
    assert recorded in ('"9","10"', '"10","9"') and len(orders) == 2, (recorded, orders)  # both orders passed

    changed = yaml.safe_load((tmp_path / 'rec.yaml').read_text())
    changed['target']['env'] = {'RECORDER_APP_GREETING': 'Hi', 'RECORDER_APP_NAME_LABEL': 'Your name'}
    (tmp_path / 'changed.yaml').write_text(yaml.safe_dump(changed, sort_keys=False))
    code, output = play(tmp_path / 'changed.yaml', 2, trust=True)  # edited after recording: not trusted
    assert code == 1, output
    assert "w01: element 'Name' not found on the page" in output, output
    assert ("w02: element #8 (was 'no answer yet') text: expected 'Hello, bob! agree=True fruit=banana', "
            "seen 'Hi, ! agree=True fruit=banana' (after step") in output, output
    assert "no element with a value with label 'Name' (candidates: #5 input 'Your name'" in output, output


@pytest.mark.network
def test_ctrl_c_ends_the_recording_with_130_and_keeps_it(tmp_path):
    """--browser none: a page fetched through the proxy, then Ctrl+C: exit 130, "interrupted", no traceback, the
    recording and the scenario written; a second run refuses to overwrite them."""
    python = nicegui_python_or_skip('3.18.0')
    proc, url, lines = start_record(tmp_path, python)
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200 and b'parseElements' in response.read()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130 and 'interrupted' in err and 'Traceback' not in err, out + err
    assert yaml.safe_load((tmp_path / 'rec.yaml').read_text())['steps'] == [{'open': 'user'}]
    before = (tmp_path / 'rec.jsonl').read_text()
    again = subprocess.run([*CLI, 'record', 'http://127.0.0.1:9', '--browser', 'none', '--out',
                            str(tmp_path / 'rec.yaml')], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and '--force' in again.stderr, again.stderr
    assert (tmp_path / 'rec.jsonl').read_text() == before


def test_play_windows_needs_a_one_window_scenario(tmp_path):
    proc = subprocess.run([*CLI, 'play', '--headless', 'download_race_auto_index.yaml', '--windows', '3'],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ})
    assert proc.returncode == 2 and 'multiplies a scenario with one window' in proc.stderr, proc.stderr
