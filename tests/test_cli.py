"""The CLI: exit codes 0/1/2, error messages naming file/line/step/field, and --headless without Qt."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from clientsim.simulator.loop_lag import distortion_of

from .conftest import ROOT, SCENARIOS, run_cli

GOOD = textwrap.dedent('''\
    name: t
    windows:
      - {name: a, page: /private}
    steps:
      - open: a
      - click: {window: a, label: Download}
      - wait: 200
    expect:
      windows:
        a: {downloads: [200]}
    ''')


def write(tmp_path, text, name='s.yaml'):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_exit_0_when_expectations_hold(tmp_path):
    proc = run_cli('play', '--headless', str(write(tmp_path, GOOD)))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'PASS' in proc.stdout


def test_exit_1_when_an_expectation_fails(tmp_path):
    proc = run_cli('play', '--headless', str(write(tmp_path, GOOD.replace('[200]', '[404]'))))
    assert proc.returncode == 1
    assert 'FAILED a: download statuses: expected [404], got [200]' in proc.stdout


def test_bad_step_field_names_file_line_step_and_field(tmp_path):
    path = write(tmp_path, GOOD.replace('click: {window: a, label: Download}', 'click: {windw: a}'))
    proc = run_cli('play', '--headless', str(path))
    assert proc.returncode == 2
    assert f'{path}:6: steps[1].click' in proc.stderr, proc.stderr
    assert 'windw' in proc.stderr


def test_unknown_window_in_step(tmp_path):
    path = write(tmp_path, GOOD.replace('click: {window: a,', 'click: {window: zed,'))
    proc = run_cli('play', '--headless', str(path))
    assert proc.returncode == 2
    assert f'{path}:6: steps[1].click.window: unknown window \'zed\'' in proc.stderr, proc.stderr


def test_unknown_page_and_bad_yaml_and_missing_file(tmp_path):
    bad_page = write(tmp_path, GOOD.replace('page: /private', 'page: /nowhere'), 'p.yaml')
    proc = run_cli('play', '--headless', str(bad_page))
    assert proc.returncode == 2 and "windows[0].page: unknown page '/nowhere'" in proc.stderr, proc.stderr
    bad_yaml = write(tmp_path, 'name: [unclosed\n', 'y.yaml')
    proc = run_cli('play', '--headless', str(bad_yaml))
    assert proc.returncode == 2 and f'{bad_yaml}:' in proc.stderr and 'not valid YAML' in proc.stderr
    proc = run_cli('play', '--headless', str(tmp_path / 'missing.yaml'))
    assert proc.returncode == 2 and 'missing.yaml: cannot read' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_bad_policy_value(tmp_path):
    path = write(tmp_path, 'policy: {download_target: everyone}\n' + GOOD)
    proc = run_cli('play', '--headless', str(path))
    assert proc.returncode == 2
    assert f'{path}:1: policy.download_target' in proc.stderr, proc.stderr


def test_headless_imports_no_qt():
    code = ('import sys; from clientsim.simulator.cli import main; '
            f'rc = main(["play", "--headless", r"{SCENARIOS / "download_private_pages.yaml"}"]); '
            'qt = sorted(m for m in sys.modules '
            'if m.split(".")[0] in ("PySide6", "qasync", "shiboken6", "pyqtgraph")); '
            'print("QT", qt); sys.exit(rc)')
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert 'QT []' in proc.stdout


def test_screenshot_gui_mode_offscreen(tmp_path):
    out = tmp_path / 'shot.png'
    report = tmp_path / 'report.json'
    proc = run_cli('play', str(SCENARIOS / 'download_race_auto_index.yaml'), '--screenshot', str(out),
                   '--report', str(report), env={'QT_QPA_PLATFORM': 'offscreen'})
    # GUI mode plays in real time: both variants pass as headless, or a failed one was "timing distorted" (load)
    failed = [r for r in json.loads(report.read_text())['scenarios'] if not r['passed']]
    assert proc.returncode == (1 if failed else 0), proc.stdout + proc.stderr
    assert all(distortion_of(r) for r in failed), proc.stdout
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert 'Traceback' not in proc.stderr and 'Task was destroyed' not in proc.stderr
