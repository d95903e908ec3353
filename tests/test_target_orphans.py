"""SIGKILL of ``clientsim play`` leaves no target app behind (issue 20, item 7): the app runs in its own session,
so before this fix it was orphaned; now it gets SIGTERM from the kernel (PR_SET_PDEATHSIG, simulator.lifeline)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .conftest import CLI

pytestmark = pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux only')


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / 'stat').read_text()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0]
    except OSError:
        return False
    return state != 'Z'


def _until(predicate, timeout_s: float):
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_sigkill_of_clientsim_leaves_no_target_app(tmp_path):
    scenario = tmp_path / 'long.yaml'
    scenario.write_text(yaml.safe_dump({
        'name': 'a target that outlives nothing',
        'target': {'command': ['{python}', '-m', 'http.server', '{port}', '--bind', '127.0.0.1'],
                   'url': 'http://127.0.0.1:{port}/', 'probe': False},
        'windows': [{'name': 'a'}], 'steps': [{'wait': 60000}]}))
    proc = subprocess.Popen([*CLI, 'play', '--headless', '--trust', str(scenario)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    app = None
    try:
        def started():
            for child in _children(proc.pid):
                try:
                    if b'http.server' in Path(f'/proc/{child}/cmdline').read_bytes():
                        return child
                except OSError:
                    pass
            return None
        app = _until(started, 60)
        assert app, 'the target app never started'
        port = int(Path(f'/proc/{app}/cmdline').read_bytes().split(b'\0')[3])

        def listening() -> bool:  # past its start-up output (which would hit a closed pipe after the kill)
            with socket.socket() as s:
                return s.connect_ex(('127.0.0.1', port)) == 0
        assert _until(listening, 60), 'the target app never listened'
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert _until(lambda: not _alive(app), 15), f'target app {app} still runs after SIGKILL of clientsim'
    finally:
        if proc.poll() is None:
            proc.kill()
        if app and _alive(app):
            os.kill(app, signal.SIGKILL)
