"""Outputs never clobber input (issue 20, item 6), through the real CLI: an output over the scenario, the same
path twice and an existing report without ``--force`` are refused before the run (exit 2, the file named, the
input unchanged); reports are written atomically; Ctrl+C ends with "interrupted" and exit 130, no traceback, and
the scenarios finished before it are in the report."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time

from .conftest import CLI, SCENARIOS, run_cli


def _copy(tmp_path, name='handshake_delay.yaml'):
    path = tmp_path / name
    shutil.copy(SCENARIOS / name, path)
    return path


def test_an_output_over_the_scenario_is_refused(tmp_path):
    scenario = _copy(tmp_path)
    before = scenario.read_bytes()
    for flag in ('--events', '--report'):
        target = scenario if flag == '--events' else scenario.with_suffix('.json')
        if flag == '--report':  # a report named like an input, through another path to the same file
            target = tmp_path / 'link.json'
            target.symlink_to(scenario)
        proc = run_cli('play', '--headless', str(scenario), flag, str(target), '--force')
        assert proc.returncode == 2 and 'a file this run reads' in proc.stderr, proc.stderr
        assert scenario.read_bytes() == before


def test_the_same_path_twice_is_refused(tmp_path):
    scenario = _copy(tmp_path)
    out = tmp_path / 'a.json'
    proc = run_cli('play', '--headless', str(scenario), '--report', str(out), '--events', str(out))
    assert proc.returncode == 2 and '--report and --events name the same file' in proc.stderr, proc.stderr
    assert not out.exists()


def test_an_existing_report_needs_force(tmp_path):
    scenario = _copy(tmp_path)
    out = tmp_path / 'report.json'
    out.write_text('my notes')
    refused = run_cli('play', '--headless', str(scenario), '--report', str(out))
    assert refused.returncode == 2 and f'--report {out}: the file exists; add --force' in refused.stderr
    assert out.read_text() == 'my notes'
    for command in (('explore', str(scenario), '--runs', '1', '--report', str(out)),
                    ('bisect', str(scenario), '--report', str(out))):
        other = run_cli(*command)
        assert other.returncode == 2 and 'the file exists' in other.stderr, other.stderr
        assert out.read_text() == 'my notes'
    forced = run_cli('play', '--headless', str(scenario), '--report', str(out), '--force')
    assert forced.returncode == 0, forced.stderr
    assert json.loads(out.read_text())['passed'] is True
    assert not [p for p in tmp_path.iterdir() if p.name.endswith('.tmp')]  # the temporary file was renamed


# the CLI (``python -c _DUMPING ARGS`` is ``python -m clientsim.simulator.cli ARGS``), which on SIGUSR1 prints the
# stack of every asyncio task of the running loop on stderr
_DUMPING = f"""
import asyncio, runpy, signal, sys
def dump(*_):
    loop = asyncio._get_running_loop()
    tasks = sorted(asyncio.all_tasks(loop) if loop else (), key=lambda t: 'play' not in repr(t.get_coro()))
    for task in tasks:  # the run's main task (play) first, each with its chain of awaits
        print(repr(task)[:300], file=sys.stderr)
        coro = task.get_coro()
        while coro is not None:
            frame = getattr(coro, 'cr_frame', None) or getattr(coro, 'gi_frame', None)
            if frame is not None:
                print(' ', frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name, file=sys.stderr)
            coro = getattr(coro, 'cr_await', None) or getattr(coro, 'gi_yieldfrom', None)
    sys.stderr.flush()
signal.signal(signal.SIGUSR1, dump)
# Ctrl+C as a terminal delivers it: a process started in the background (`pytest ... &`, nohup) inherits SIGINT
# ignored, Python then installs no KeyboardInterrupt handler, and the run would rightly ignore the test's SIGINT
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.argv[0] = {CLI[-1]!r}
runpy.run_module({CLI[-1]!r}, run_name='__main__', alter_sys=True)
"""


def _ended(proc: subprocess.Popen, timeout_s: float) -> tuple[str, str]:
    """The process's output once it exits within ``timeout_s``; if it does not, SIGUSR1 (the asyncio tasks'
    stacks) and SIGABRT (faulthandler: every thread's stack) on stderr, and fail with them."""
    try:
        return proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        time.sleep(2)  # the dump is printed; only a diagnosis, never a verdict
        proc.send_signal(signal.SIGABRT)
        out, err = proc.communicate(timeout=30)
        raise AssertionError(f'still running {timeout_s} s after Ctrl+C; stdout:\n{out[-2000:]}\n'
                             f'stderr (tasks, then faulthandler):\n{err[:12000]}\n…\n{err[-3000:]}') from None


def test_ctrl_c_ends_with_130_and_keeps_finished_scenarios(tmp_path):
    first = _copy(tmp_path)
    slow = tmp_path / 'slow.yaml'
    slow.write_text('name: a long wait\nwindows: [{name: a, page: /private}]\nsteps:\n  - open: a\n  - wait: 600000\n')
    report = tmp_path / 'report.json'
    # through _DUMPING: if it does not end, it prints its asyncio tasks and threads (see _ended)
    proc = subprocess.Popen([CLI[0], '-X', 'faulthandler', '-c', _DUMPING, 'play', '--headless', '--time', 'real',
                             str(first), str(slow), '--report', str(report)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    seen = ''
    while 'handshake' not in seen and time.monotonic() < deadline:  # the first file's row: it finished
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
    assert 'handshake' in seen, seen
    proc.send_signal(signal.SIGINT)
    out, err = _ended(proc, 30)
    assert proc.returncode == 130, (out, err)
    assert 'interrupted' in err and 'Traceback' not in err + out, err
    kept = json.loads(report.read_text())
    assert [s['file'] for s in kept['scenarios']] == [str(first)] * len(kept['scenarios'])
