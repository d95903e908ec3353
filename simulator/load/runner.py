"""The engine of ``clientsim load`` (the command: :mod:`clientsim.simulator.commands.load`): a Locust master and W
local workers on one machine, with the shipped locustfile.

``clientsim load FILE [--users N] [--spawn-rate R] [--run-time T] [--workers W] [--host URL] [--set F=V ...]
[--csv PREFIX] [--html OUT.html]``

* without ``--host`` it first starts ``clientsim serve`` with the scenario's ``policy:`` (plus ``--set``) on a
  free loopback port, and stops it at the end (its summary is printed);
* ``--workers 0`` runs Locust in one process (no master);
* users, spawn rate and run time default to the scenario's ``load:`` block.

The command exits 0 when every process exited 0 (Locust exits 1 when a request failed), 1 otherwise, 2 for a bad
scenario or policy. Runs no Locust code in this process (no gevent monkey-patching here).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Callable, Optional

from clientsim.simulator.target import free_port

from ..errors import BadInputError
from ..serve import FEED_TOKEN_ENV, new_feed_token
from . import LOCUSTFILE
from .app import RecordedApp
from .spec import LoadScenario, load_load_scenario, resolve_path

#: where the runner's lines go (the command prints them)
Log = Callable[[str], None]

# Locust processes and `clientsim serve` get a process group of their own: a Ctrl+C in the terminal reaches only
# this process, which forwards one SIGINT to each Locust process and stops the server after them. In the
# terminal's group they would get a second SIGINT (the forwarded one) in the middle of their shutdown, while it
# waits for the load engine to close its windows (a KeyboardInterrupt traceback), and the server would stop first.
_OWN_GROUP = {'start_new_session': True}
_SPAN_RE = re.compile(r'^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$')


class RunTimeError(BadInputError, ValueError):
    """A ``--run-time`` (or ``load: run_time``) that is not Locust's format."""


def timespan_s(text: str) -> int:
    """Locust's ``--run-time`` format (``90``, ``15s``, ``1m30s``, ``1h``) in seconds; raises
    :class:`clientsim.simulator.errors.BadInputError` (a ValueError too)."""
    if text.isdigit():
        return int(text)
    match = _SPAN_RE.match(text.strip())
    if not match or not any(match.groups()):
        raise RunTimeError(f'--run-time: expected e.g. 15s, 1m30s or 1h, got {text!r}')
    h, m, s = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


def _start_serve(file: str, sets: list[str], token: str) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, '-m', 'clientsim.simulator.cli', 'serve', '--policy', file]
    for item in sets:
        command += ['--set', item]
    serve = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, FEED_TOKEN_ENV: token},
                             **_OWN_GROUP)
    assert serve.stdout is not None
    line = serve.stdout.readline()  # "clientsim serve: http://127.0.0.1:P", or EOF when it failed
    if not line.startswith('clientsim serve: '):
        serve.wait(timeout=10)
        raise BadInputError(f'clientsim serve did not start (exit code {serve.returncode})')
    return serve, line.split(': ', 1)[1].strip()


def _stop(process: subprocess.Popen, name: str, timeout_s: float, log: Log) -> int:
    """Wait for ``process``; after ``timeout_s`` send SIGINT, then kill. Returns its exit code."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        log(f'clientsim load: {name} still running after {timeout_s:.0f} s, interrupting it')
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def run_load(file: str, *, users: Optional[int] = None, spawn_rate: Optional[float] = None,
             run_time: Optional[str] = None, workers: int = 1, host: Optional[str] = None,
             sets: list[str] | tuple[str, ...] = (), csv: Optional[str] = None, html: Optional[str] = None,
             log: Optional[Log] = None, feed_token: Optional[str] = None, trust: bool = False) -> dict[str, int]:
    """Run a Locust master and ``workers`` local workers (0: one Locust process) on the load scenario ``file``;
    ``users``, ``spawn_rate`` (users/s) and ``run_time`` (``15s``, ``1m30s``) default to its ``load:`` block.
    Without ``host`` it starts ``clientsim serve`` with the file's policy plus ``sets`` (``FIELD=VALUE``) and stops
    it at the end; for a recording made with ``record --target`` it starts the recording's app instead
    (:class:`~.app.RecordedApp`; the file must be trusted, or ``trust``). ``log(line)`` receives what to show
    (the plan, the server's summary, slow shutdowns). Returns each process's exit code by name
    (``{'master': 0, 'worker 1': 0, ...}``). ``feed_token``: the error feed's
    token (default ``$CLIENTSIM_FEED_TOKEN``); when this starts serve without one, it makes one and hands it to
    serve and to the Locust processes (their engines) in ``CLIENTSIM_FEED_TOKEN``. Raises
    :class:`clientsim.simulator.errors.BadInputError` for a bad scenario, run time, worker count or a server that
    does not start."""
    log = log or (lambda _line: None)
    scenario = load_load_scenario(file)
    run_s = timespan_s(run_time or scenario.load.run_time)
    if workers < 0:
        raise BadInputError('--workers must be 0 or more')
    file = str(resolve_path(file).resolve())
    app = RecordedApp(file, trust) if not host and scenario.target_command else None  # `record --target`
    try:
        if app is not None:
            host = app.start()
            log(f'clientsim load: started the recorded app ({scenario.target_command}) at {host}')
        return _run(file, scenario, run_s, host or scenario.host, users, spawn_rate, workers, sets, csv, html, log,
                    feed_token, app is not None)
    finally:
        if app is not None:
            log(f'clientsim load: {app.stop()}')


def _run(file: str, scenario: LoadScenario, run_s: int, host: Optional[str], users: Optional[int],
         spawn_rate: Optional[float], workers: int, sets: list[str] | tuple[str, ...], csv: Optional[str],
         html: Optional[str], log: Log, feed_token: Optional[str], own_app: bool) -> dict[str, int]:
    serve: Optional[subprocess.Popen] = None
    token = feed_token or os.environ.get(FEED_TOKEN_ENV) or ('' if host else new_feed_token())
    if not host:
        serve, host = _start_serve(file, list(sets), token)
    elif not token and not own_app:
        log(f'clientsim load: no --feed-token: if {host} is a clientsim serve, its server errors are not reported '
            '(a NiceGUI app has no error feed)')
    users = users if users is not None else scenario.load.users
    rate = spawn_rate if spawn_rate is not None else scenario.load.spawn_rate
    common = [sys.executable, '-m', 'locust', '-f', LOCUSTFILE, '--host', host, '--clientsim-scenario', file]
    lead = common + ['--headless', '--only-summary', '-u', str(users), '-r', str(rate), '-t', f'{run_s}s']
    lead += ['--csv', csv] if csv else []
    lead += ['--html', html] if html else []
    env = {**os.environ, 'PYTHONUNBUFFERED': '1', FEED_TOKEN_ENV: token}
    log(f'clientsim load: {scenario.name}: {users} users, {rate:g}/s, {run_s} s, {workers} worker(s) against {host}')
    processes: list[tuple[str, subprocess.Popen]] = []
    try:
        if workers == 0:
            processes.append(('locust', subprocess.Popen(lead, env=env, **_OWN_GROUP)))
        else:
            port = free_port()
            master = lead + ['--master', '--master-bind-host', '127.0.0.1', '--master-bind-port', str(port),
                             '--expect-workers', str(workers), '--expect-workers-max-wait', '60']
            processes.append(('master', subprocess.Popen(master, env=env, **_OWN_GROUP)))
            for i in range(workers):
                worker = common + ['--worker', '--master-host', '127.0.0.1', '--master-port', str(port)]
                processes.append((f'worker {i + 1}', subprocess.Popen(worker, env=env, **_OWN_GROUP)))
        codes = {}
        deadline = time.monotonic() + run_s + 90
        for name, process in processes:  # the master first: workers quit when it does
            codes[name] = _stop(process, name, max(deadline - time.monotonic(), 15), log)
    except KeyboardInterrupt:
        for _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        codes = {name: process.wait() for name, process in processes}
    finally:
        if serve is not None:
            _finish_serve(serve, log)
    return codes


def _finish_serve(serve: subprocess.Popen, log: Log) -> None:
    if serve.poll() is None:
        serve.send_signal(signal.SIGINT)
    assert serve.stdout is not None
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(serve.stdout or []), daemon=True)
    reader.start()
    _stop(serve, 'clientsim serve', 15, log)
    reader.join(5)
    if not reader.is_alive():
        serve.stdout.close()
    if out:
        log(''.join(out).rstrip('\n'))
