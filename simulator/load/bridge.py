"""The gevent side of the bridge: one asyncio child process per Locust process, spoken to in JSON lines.

Why a child process and not asyncio in the same process: Locust calls ``gevent.monkey.patch_all()`` on
import, which replaces ``socket``, ``select``/``selectors``, ``threading`` and ``subprocess``. An asyncio loop
in a real OS thread (``gevent.monkey.get_original``) would still get gevent sockets from aiohttp and
python-engineio, gevent's selector as ``selectors.DefaultSelector`` and greenlet "threads" for
``getaddrinfo``; asyncio-gevent runs asyncio on gevent's hub but is a small, rarely released project. The
child process (``python -m simulator.load.engine``) is a plain interpreter: clientsim's windows run exactly
as in ``clientsim play``. A greenlet waits on a :class:`gevent.event.AsyncResult` while one reader greenlet
reads the child's answers; the round trip costs well under a millisecond (``benchmarks/bench_locust.py``
prints it), and a user makes one per iteration of its steps (op ``iteration``), not one per step. The child
also uses the second core the GIL would otherwise hold back: a Locust worker plus its engine is two processes.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import socket
import subprocess  # gevent's, once Locust has patched it: reads and writes yield to other greenlets
import sys
from typing import Any, Callable, Optional

import gevent
from gevent.event import AsyncResult
from gevent.lock import Semaphore

from ..errors import ClientsimError

#: CLIENTSIM_LOAD_DEBUG=1: engine start and shutdown lines (Locust logs them to stderr)
log = logging.getLogger(__name__)

ReportSink = Callable[[list[dict[str, Any]]], None]


class EngineError(ClientsimError, RuntimeError):
    """The engine process failed to start, died, or did not answer in time."""


class EngineProcess:
    """``python -m simulator.load.engine`` for one Locust process.

    ``EngineProcess(base_url, scenario_file, on_reports)``; :meth:`call` sends one request and blocks the
    calling greenlet (only) until its answer; ``on_reports(reports)`` receives unsolicited reports (server
    errors). :meth:`shutdown` closes every window and returns the engine's totals.
    """

    def __init__(self, base_url: str, scenario_file: str, on_reports: ReportSink, prefix: str | None = None) -> None:
        self.prefix = prefix or f'{socket.gethostname()}-{os.getpid()}-'
        self.on_reports = on_reports
        self._ids = itertools.count(1)
        self._waiting: dict[int, AsyncResult] = {}
        self._write_lock = Semaphore()
        env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'clientsim.simulator.load.engine', base_url, scenario_file, self.prefix],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._reader = gevent.spawn(self._read)
        if os.environ.get('CLIENTSIM_LOAD_DEBUG'):
            log.warning('clientsim: engine %s started by %s', self.process.pid, os.getpid())
        self.closed = False
        self.closing = False  # shutdown() began: calls of users still running may fail with EngineError

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            msg = json.loads(line)
            waiter = self._waiting.pop(msg.get('id'), None) if msg.get('id') is not None else None
            if waiter is not None:
                waiter.set(msg)
            elif msg.get('reports'):
                self.on_reports(msg['reports'])
        for waiter in self._waiting.values():  # the engine is gone: nobody will answer
            waiter.set_exception(EngineError(f'the load engine exited (code {self.process.poll()})'))
        self._waiting.clear()

    def call(self, op: str, timeout_s: float = 60.0, **fields: Any) -> dict[str, Any]:
        """Send ``{op, **fields}`` and return the answer dict. Raises :class:`EngineError` when the engine is gone,
        does not answer within ``timeout_s`` or answers ``error``."""
        if self.closed or self.process.poll() is not None:
            raise EngineError('the load engine is not running')
        request_id = next(self._ids)
        waiter = self._waiting[request_id] = AsyncResult()
        with self._write_lock:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({'id': request_id, 'op': op, **fields}).encode() + b'\n')
                self.process.stdin.flush()
            except (OSError, ValueError) as e:
                self._waiting.pop(request_id, None)
                raise EngineError(f'the load engine is gone: {e}') from None
        try:
            answer = waiter.get(timeout=timeout_s)
        except gevent.Timeout:
            self._waiting.pop(request_id, None)
            raise EngineError(f'the load engine did not answer {op!r} within {timeout_s} s') from None
        if answer.get('error'):
            raise EngineError(answer['error'])
        return answer

    def shutdown(self, timeout_s: float = 30.0) -> Optional[dict[str, Any]]:
        """Close every window, report the last results, stop the process (SIGTERM when it has not exited
        ``timeout_s`` after stdin closed, SIGKILL another ``timeout_s`` later). Returns the engine's totals
        (``handshakes``, ``failures``) or None if it was already gone. Idempotent."""
        if self.closed:
            return None
        self.closing = True
        totals = None
        try:
            totals = self.call('shutdown', timeout_s=timeout_s)
            self.on_reports(totals.get('reports') or [])
            if os.environ.get('CLIENTSIM_LOAD_DEBUG'):
                log.warning('clientsim: engine %s: %s handshakes, %s failures, %s at shutdown', self.process.pid,
                            totals.get('handshakes'), totals.get('failures'), len(totals.get('reports') or []))
        except EngineError:
            pass
        self.closed = True
        for stream in (self.process.stdin,):
            try:
                stream and stream.close()
            except OSError:
                pass
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:  # SIGTERM first: the engine closes its windows before it exits
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=5)
        return totals
