"""``clientsim load``: a Locust master and W local workers on one machine, with the shipped locustfile.

``clientsim load FILE [--users N] [--spawn-rate R] [--run-time T] [--workers W] [--host URL] [--set F=V ...]
[--csv PREFIX] [--html OUT.html]``

* without ``--host`` it first starts ``clientsim serve`` with the scenario's ``policy:`` (plus ``--set``) on a
  free loopback port, and stops it at the end (its summary is printed);
* ``--workers 0`` runs Locust in one process (no master);
* users, spawn rate and run time default to the scenario's ``load:`` block.

Exit code: 0 when every process exited 0 (Locust exits 1 when a request failed), 1 otherwise, 2 for a bad
scenario or policy. Runs no Locust code in this process (no gevent monkey-patching here).
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from typing import Optional

from clientsim.simulator.target import free_port

from ..exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK
from . import LOCUSTFILE
from .spec import LoadScenarioError, load_load_scenario, resolve_path

# Locust processes and `clientsim serve` get a process group of their own: a Ctrl+C in the terminal reaches only
# this process, which forwards one SIGINT to each Locust process and stops the server after them. In the
# terminal's group they would get a second SIGINT (the forwarded one) in the middle of their shutdown, while it
# waits for the load engine to close its windows (a KeyboardInterrupt traceback), and the server would stop first.
_OWN_GROUP = {'start_new_session': True}
_SPAN_RE = re.compile(r'^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$')


def timespan_s(text: str) -> int:
    """Locust's ``--run-time`` format (``90``, ``15s``, ``1m30s``, ``1h``) in seconds; raises ValueError."""
    if text.isdigit():
        return int(text)
    match = _SPAN_RE.match(text.strip())
    if not match or not any(match.groups()):
        raise ValueError(f'--run-time: expected e.g. 15s, 1m30s or 1h, got {text!r}')
    h, m, s = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Register ``clientsim load`` and ``clientsim locustfile`` on the CLI's subparsers."""
    p = sub.add_parser('load', help='load test: Locust master + local workers, every user a clientsim window')
    p.add_argument('file', metavar='FILE', help='load scenario (a path or a name in assets/scenarios/load/)')
    p.add_argument('--users', type=int, help='peak number of users (windows)')
    p.add_argument('--spawn-rate', type=float, help='users started per second')
    p.add_argument('--run-time', help='e.g. 15s, 1m30s')
    p.add_argument('--workers', type=int, default=1, help='local Locust workers (0: one process, no master)')
    p.add_argument('--host', help='target URL (default: start `clientsim serve` with the scenario policy)')
    p.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE',
                   help='override a policy field of the server this command starts')
    p.add_argument('--csv', metavar='PREFIX', help="Locust's CSV files (PREFIX_stats.csv, ...)")
    p.add_argument('--html', metavar='OUT.html', help="Locust's HTML report")
    sub.add_parser('locustfile', help='print the path of the locustfile clientsim ships')


def _start_serve(file: str, sets: list[str]) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, '-m', 'clientsim.simulator.cli', 'serve', '--policy', file]
    for item in sets:
        command += ['--set', item]
    serve = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, **_OWN_GROUP)
    assert serve.stdout is not None
    line = serve.stdout.readline()  # "clientsim serve: http://127.0.0.1:P", or EOF when it failed
    if not line.startswith('clientsim serve: '):
        serve.wait(timeout=10)
        raise RuntimeError(f'clientsim serve did not start (exit code {serve.returncode})')
    return serve, line.split(': ', 1)[1].strip()


def _stop(process: subprocess.Popen, name: str, timeout_s: float) -> int:
    """Wait for ``process``; after ``timeout_s`` send SIGINT, then kill. Returns its exit code."""
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        print(f'clientsim load: {name} still running after {timeout_s:.0f} s, interrupting it', file=sys.stderr)
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def run_load(args: argparse.Namespace) -> int:
    """``clientsim load``; returns the exit code."""
    try:
        scenario = load_load_scenario(args.file)
        run_s = timespan_s(args.run_time or scenario.load.run_time)
    except (LoadScenarioError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.workers < 0:
        print('error: --workers must be 0 or more', file=sys.stderr)
        return EXIT_BAD_INPUT
    file = str(resolve_path(args.file).resolve())
    serve: Optional[subprocess.Popen] = None
    host = args.host
    if not host:
        try:
            serve, host = _start_serve(file, args.set)
        except RuntimeError as e:
            print(f'error: {e}', file=sys.stderr)
            return EXIT_BAD_INPUT
    users = args.users if args.users is not None else scenario.load.users
    rate = args.spawn_rate if args.spawn_rate is not None else scenario.load.spawn_rate
    common = [sys.executable, '-m', 'locust', '-f', LOCUSTFILE, '--host', host, '--clientsim-scenario', file]
    lead = common + ['--headless', '--only-summary', '-u', str(users), '-r', str(rate), '-t', f'{run_s}s']
    lead += ['--csv', args.csv] if args.csv else []
    lead += ['--html', args.html] if args.html else []
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    print(f'clientsim load: {scenario.name}: {users} users, {rate:g}/s, {run_s} s, '
          f'{args.workers} worker(s) against {host}', flush=True)
    processes: list[tuple[str, subprocess.Popen]] = []
    try:
        if args.workers == 0:
            processes.append(('locust', subprocess.Popen(lead, env=env, **_OWN_GROUP)))
        else:
            port = free_port()
            master = lead + ['--master', '--master-bind-host', '127.0.0.1', '--master-bind-port', str(port),
                             '--expect-workers', str(args.workers), '--expect-workers-max-wait', '60']
            processes.append(('master', subprocess.Popen(master, env=env, **_OWN_GROUP)))
            for i in range(args.workers):
                worker = common + ['--worker', '--master-host', '127.0.0.1', '--master-port', str(port)]
                processes.append((f'worker {i + 1}', subprocess.Popen(worker, env=env, **_OWN_GROUP)))
        codes = {}
        deadline = time.monotonic() + run_s + 90
        for name, process in processes:  # the master first: workers quit when it does
            codes[name] = _stop(process, name, max(deadline - time.monotonic(), 15))
    except KeyboardInterrupt:
        for _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        codes = {name: process.wait() for name, process in processes}
    finally:
        if serve is not None:
            _finish_serve(serve)
    print('clientsim load: exit codes: ' + ', '.join(f'{n} {c}' for n, c in codes.items()), flush=True)
    return EXIT_OK if all(c == 0 for c in codes.values()) else EXIT_FAILED


def _finish_serve(serve: subprocess.Popen) -> None:
    if serve.poll() is None:
        serve.send_signal(signal.SIGINT)
    assert serve.stdout is not None
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(serve.stdout or []), daemon=True)
    reader.start()
    _stop(serve, 'clientsim serve', 15)
    reader.join(5)
    if not reader.is_alive():
        serve.stdout.close()
    sys.stdout.write(''.join(out))
    sys.stdout.flush()
