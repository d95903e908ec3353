"""External targets: play a scenario against a real NiceGUI app instead of the embedded server.

A scenario names its target with ``target:``::

    target: http://127.0.0.1:8080                 # an app that is already running (clientsim only connects)
    target:                                       # clientsim starts the app and stops it at the end
      command: [/path/to/venv/bin/python, app.py, '{port}']
      url: http://127.0.0.1:{port}                # '{port}' anywhere: a free port chosen by clientsim
      ready_timeout_s: 20                         # seconds to wait until the URL answers (any HTTP status)
      cwd: .                                      # relative to the scenario file (default: its folder)
      env: {PYTHONUNBUFFERED: '1'}                # added to the environment
      probe: true                                 # inject the server-side probe (simulator.probe; default)

A ``command`` target is **probed** by default: clientsim injects ``simulator/probe/inject/sitecustomize.py`` into
the app (stdlib only, via ``PYTHONPATH``), which sends the real server's side of every connect, handshake,
event, disconnect, client delete, prune, download and logged exception, stamped with the same
``perf_counter_ns`` clock as the windows; the report then says ``'timing': 'one clock: app server and windows'``,
server errors come from the probe, ``clients_alive``/``models_finalized`` can be checked and the ``gc`` step runs
in the app. A probe that does not come up (``python -I``, not NiceGUI, a foreign clock) falls back to the
client side and says why in ``target.probe.reason``. A URL target, ``probe: false`` or a fallback are timed from
the windows only (``'timing': 'client side only'``); then server errors are counted from the app's captured
output (:func:`count_exceptions`; a URL target has none). No Qt import here.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any, Optional, Union

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .dependency import REDIS_URL_PLACEHOLDER, RedisDependency
from .errors import TargetError
from .lifeline import die_with_parent
from .probe import ProbeReceiver, probe_env
from .tasks import wait_for
from .timeline import SERVER, Timeline

log = logging.getLogger(__name__)
PORT_PLACEHOLDER = '{port}'
PYTHON_PLACEHOLDER = '{python}'

_TRACEBACK_START = 'Traceback (most recent call last):'
_EXCEPTION_LINE_RE = re.compile(r'^([A-Za-z_][\w.]*)(?::\s?(.*))?$')


class TargetStartError(TargetError, RuntimeError):
    """The target app cannot start: its command is missing, its ``cwd`` is missing, it exits before its URL
    answers, it never answers, or (a URL target) nothing listens at the URL. The message names the command, its
    exit code and the tail of its output. ``clientsim play`` exits with code 3 (``EXIT_TARGET``) for it."""


class TargetSpec(BaseModel):
    """``target: {command, url, ready_timeout_s, stop_timeout_s, cwd, env, probe}`` of a scenario file.

    ``command`` is an argv list (no shell); ``{port}`` in any item or in ``url`` is replaced by one free TCP port
    on 127.0.0.1, ``{python}`` by the interpreter running clientsim (``sys.executable``; the NiceGUI version's
    venv under ``clientsim matrix``). Times in **seconds**. ``probe`` (default true) injects the server-side probe.
    ``redis`` (default false) starts a redis-server for the app (:class:`~.dependency.RedisDependency`).
    """
    model_config = ConfigDict(extra='forbid')

    command: list[str] = Field(min_length=1)
    url: str
    ready_timeout_s: float = Field(20.0, gt=0, le=600)
    stop_timeout_s: float = Field(5.0, gt=0, le=120)
    cwd: Optional[str] = None
    env: dict[str, str] = {}
    probe: bool = True
    #: start a throwaway redis-server behind a stall proxy (simulator.dependency); ``{redis_url}`` in ``command``
    #: and ``env`` is its URL; the ``stall`` step holds its bytes
    redis: bool = False
    #: a NiceGUI release: ``{python}`` is then the interpreter of its cached venv (simulator.venvs, built on first
    #: use, ~30 s) unless the caller gives one (``clientsim matrix`` does, per version)
    nicegui: Optional[str] = None

    @field_validator('url')
    @classmethod
    def _http(cls, v: str) -> str:
        return _check_url(v)


def _check_url(v: str) -> str:
    if not v.startswith(('http://', 'https://')):
        raise ValueError(f'target url must start with http:// or https://, got {v!r}')
    return v.rstrip('/')


class NiceguiVersions(BaseModel):
    """``nicegui: {bug_in: [2.11.0], fixed_in: [2.11.1]}`` of a target scenario: the NiceGUI releases that show the
    bug (the scenario's expectations, which state the fixed behaviour, fail there) and those that fixed it (they
    pass). ``clientsim matrix`` plays these versions when no ``--nicegui`` is given and exits 0 when each behaves
    so. Versions are PyPI version strings."""
    model_config = ConfigDict(extra='forbid')

    bug_in: list[str] = []
    fixed_in: list[str] = []


Target = Union[str, TargetSpec]
"""A scenario's ``target``: a base URL (str) or a :class:`TargetSpec`."""


def free_port(host: str = '127.0.0.1') -> int:
    """A TCP port that was free a moment ago on ``host`` (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def find_tracebacks(output: str) -> list[dict[str, str]]:
    """The Python tracebacks in an app's log output, in order, as ``{'type', 'message', 'traceback'}``.

    A traceback starts at ``Traceback (most recent call last):``; its frames are indented; its first
    non-indented line is ``Type: message`` (``KeyError: 'abc'``); a dotted type keeps its last part
    (``socketio.exceptions.X`` → ``X``). Chained tracebacks ("During handling of the above exception ...")
    give one entry per block.
    """
    found: list[dict[str, str]] = []
    lines = output.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() != _TRACEBACK_START:
            i += 1
            continue
        first = i
        i += 1
        while i < len(lines):
            line = lines[i]
            i += 1
            if not line.strip() or line[:1].isspace():
                continue
            if line.strip() == _TRACEBACK_START:
                i -= 1  # a new block without an exception line for the previous one
                break
            match = _EXCEPTION_LINE_RE.match(line.strip())
            if match:
                found.append({'type': match.group(1).rsplit('.', 1)[-1], 'message': match.group(2) or '',
                              'traceback': '\n'.join(lines[first:i])})
            break
    return found


def count_exceptions(output: str) -> dict[str, int]:
    """Tracebacks in ``output`` by exception type name (see :func:`find_tracebacks`)."""
    counts: dict[str, int] = {}
    for tb in find_tracebacks(output):
        counts[tb['type']] = counts.get(tb['type'], 0) + 1
    return counts


class ExternalTarget:
    """A real app the scenario runs against.

    ``ExternalTarget('http://127.0.0.1:8080')`` only connects to a running app; ``ExternalTarget(TargetSpec(...),
    base_dir=...)`` starts ``command`` in :meth:`start` and stops it in :meth:`stop` (SIGTERM, then SIGKILL after
    ``stop_timeout_s``), capturing stdout+stderr into :attr:`output`. ``started`` tells which of the two it is.
    """

    def __init__(self, target: Target, base_dir: str | Path | None = None, timeline: Optional[Timeline] = None,
                 python: Optional[str] = None) -> None:
        self.spec = target if isinstance(target, TargetSpec) else None
        self.timeline = timeline or Timeline()
        self.python = python or sys.executable  # what ``{python}`` stands for
        self._python_given = python is not None
        #: the probe's receiver while the app runs (command targets with ``probe: true``); see :attr:`probed`
        self.probe: Optional[ProbeReceiver] = None
        self.url = _check_url(target) if isinstance(target, str) else None
        self.base_dir = Path(base_dir) if base_dir else Path.cwd()
        self.command: list[str] = []
        self.returncode: Optional[int] = None
        self.ready_ms: Optional[float] = None
        self._chunks: list[bytes] = []
        self._process: Optional[asyncio.subprocess.Process] = None
        self._reader: Optional[asyncio.Task] = None
        #: the app's Redis behind a stall proxy while it runs (``target: {redis: true}``), else None
        self.dependency: Optional[RedisDependency] = None

    @property
    def started(self) -> bool:
        """Whether clientsim starts the app (a ``command`` target) rather than connecting to a running one."""
        return self.spec is not None

    @property
    def output(self) -> str:
        """Everything the app wrote to stdout and stderr so far (decoded as UTF-8, errors replaced)."""
        return b''.join(self._chunks).decode('utf-8', errors='replace')

    @property
    def probed(self) -> bool:
        """Whether the server-side probe runs in the app (events from both sides on one clock)."""
        return self.probe is not None and self.probe.installed

    @property
    def timing(self) -> str:
        """``'one clock: app server and windows'`` when :attr:`probed`, else ``'client side only'``."""
        return 'one clock: app server and windows' if self.probed else 'client side only'

    def error_counts(self) -> dict[str, int]:
        """Server errors by exception type: the exceptions the app logged (from the probe) when :attr:`probed`,
        else the tracebacks in :attr:`output` (:func:`count_exceptions`); ``{}`` for a URL target."""
        if self.probed:
            assert self.probe is not None
            return self.probe.error_counts()
        return count_exceptions(self.output)

    def server_errors(self, t0_ns: int) -> list[dict[str, Any]]:
        """Server errors for the report, each with ``type``, ``message``, ``traceback``, ``where`` and ``t_ms``
        (ms since ``t0_ns``; None when read from the output, which has no time stamps)."""
        if self.probed:
            assert self.probe is not None
            return [{k: v for k, v in e.items() if k != 't_ns'} | {'t_ms': round((e['t_ns'] - t0_ns) / 1e6, 3)}
                    for e in self.probe.errors]
        return [{**tb, 'where': 'app output', 't_ms': None} for tb in find_tracebacks(self.output)]

    def clients_alive(self, private_only: bool = False) -> Optional[int]:
        """NiceGUI clients alive in the app (created and not deleted, as the probe saw them); ``private_only``
        leaves out shared ones (the auto-index client). None when not :attr:`probed`."""
        if not self.probed:
            return None
        assert self.probe is not None
        return sum(1 for shared in self.probe.clients.values() if not (private_only and shared))

    @property
    def models_finalized(self) -> Optional[int]:
        """Lines starting with ``FINALIZED`` the app printed (its ``weakref.finalize`` callbacks), via the probe;
        None when not :attr:`probed`."""
        return self.probe.models_finalized if self.probed and self.probe is not None else None

    async def gc(self) -> int:
        """``gc.collect()`` in the app (through the probe); returns its result. Raises RuntimeError when the target
        is not probed (saying why)."""
        if not self.probed or self.probe is None:
            reason = (self.probe.reason if self.probe is not None
                      else 'the target is not probed (a URL target or probe: false)')
            raise RuntimeError(f'gc runs in the app only through the probe: {reason}')
        return await self.probe.gc()

    def describe(self) -> dict[str, Any]:
        """JSON-safe description for reports: ``url``, ``command`` (``None`` for a URL target), ``returncode``,
        ``ready_ms`` (ms from start until the URL answered), ``probe`` (None when not requested; else
        ``installed``, ``reason`` for a fallback, ``hooks``, ``nicegui`` version, ``pid``)."""
        return {'url': self.url, 'command': self.command or None, 'returncode': self.returncode,
                'ready_ms': None if self.ready_ms is None else round(self.ready_ms, 1),
                'probe': self.probe.describe() if self.probe is not None else None}

    async def start(self) -> str:
        """Start the app (command targets) and wait until its URL answers; return the base URL.

        Raises RuntimeError when the app exits before it is ready or does not answer within ``ready_timeout_s``
        (the message ends with the app's output), OSError when the command cannot be started.
        """
        if self.spec is None:
            assert self.url is not None
            await _check_listening(self.url)
            return self.url
        spec = self.spec
        if spec.nicegui and not self._python_given and self.python == sys.executable:
            from .venvs import nicegui_python
            self.python = await asyncio.to_thread(  # VenvError (a TargetError)
                nicegui_python, spec.nicegui, extras='redis' if spec.redis else '')
        port = str(free_port()) if any(PORT_PLACEHOLDER in s for s in [spec.url, *spec.command]) else ''
        self.command = [s.replace(PORT_PLACEHOLDER, port).replace(PYTHON_PLACEHOLDER, self.python)
                        for s in spec.command]
        self.url = spec.url.replace(PORT_PLACEHOLDER, port)
        cwd = self.base_dir / spec.cwd if spec.cwd else self.base_dir
        # without pytest's variables: NiceGUI 3.x treats PYTEST_CURRENT_TEST as "inside its own screen tests"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith('PYTEST_')}, 'PYTHONUNBUFFERED': '1',
               **spec.env}
        if spec.redis:
            self.dependency = await RedisDependency.start()
            self.command = [s.replace(REDIS_URL_PLACEHOLDER, self.dependency.url) for s in self.command]
            env = {k: v.replace(REDIS_URL_PLACEHOLDER, self.dependency.url) for k, v in env.items()}
        if spec.probe:
            self.probe = ProbeReceiver(self.timeline)
            env = probe_env(env, await self.probe.start(), self.probe.token)
        started = time.perf_counter()
        if not Path(cwd).is_dir():
            await self._stop_probe()
            raise TargetStartError(f'cannot start target command {self.command}: its cwd {str(cwd)!r} is not a folder')
        try:
            self._process = await asyncio.create_subprocess_exec(
                *self.command, cwd=str(cwd), env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
                preexec_fn=die_with_parent())  # SIGTERM when clientsim dies, even by SIGKILL (simulator.lifeline)
        except OSError as e:
            await self._stop_probe()
            raise TargetStartError(f'cannot start target command {self.command}: {e.strerror or e}'
                                   f'{f" ({e.filename})" if e.filename else ""}') from None
        self._reader = asyncio.ensure_future(self._read(self._process))
        deadline = started + spec.ready_timeout_s
        async with aiohttp.ClientSession() as session:
            while True:
                if self._process.returncode is not None:
                    await asyncio.gather(self._reader, return_exceptions=True)
                    self.returncode = self._process.returncode
                    await self._stop_probe()
                    raise TargetStartError(f'target command {self.command} exited with code {self.returncode} '
                                           f'before {self.url} answered; the tail of its output:\n'
                                           f'{self.output[-4000:]}')
                try:
                    async with session.get(self.url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                        await response.read()
                    break
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    pass
                if time.perf_counter() > deadline:
                    await self.stop()
                    raise TargetStartError(f'target command {self.command} did not answer at {self.url} within '
                                           f'{spec.ready_timeout_s} s (exit code {self.returncode}); the tail of its '
                                           f'output:\n{self.output[-4000:]}')
                await asyncio.sleep(0.1)
        self.ready_ms = (time.perf_counter() - started) * 1000
        await self._check_probe()
        return self.url

    async def _stop_probe(self) -> None:
        if self.probe is not None:
            await self.probe.stop()
        if self.dependency is not None:
            await self.dependency.stop()
            self.dependency = None

    async def _check_probe(self, wait_s: float = 1.0) -> None:
        """After the app answered: give the probe ``wait_s`` **seconds** to report NiceGUI hooked, else fall back
        to client-side timing, with the reason on the timeline (``probe_fallback``) and in :meth:`describe`."""
        if self.probe is None:
            return
        deadline = time.perf_counter() + wait_s
        while not self.probe.installed and not self.probe.problems and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
        if self.probe.installed:
            self.timeline.record(SERVER, 'probe_installed', **self.probe.describe())
        else:
            self.timeline.record(SERVER, 'probe_fallback', reason=self.probe.reason)
            log.warning('clientsim probe not installed, timing from the windows only: %s', self.probe.reason)

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            self._chunks.append(chunk)

    async def stop(self) -> None:
        """Stop a started app: SIGTERM to its process group, SIGKILL after ``stop_timeout_s``; then read the rest
        of its output. Safe to call twice and for URL targets (does nothing)."""
        process, self._process = self._process, None
        if process is None:
            return
        timeout = self.spec.stop_timeout_s if self.spec else 5.0
        if process.returncode is None:
            _signal_group(process, signal.SIGTERM)
            try:
                await wait_for(process.wait(), timeout)
            except asyncio.TimeoutError:
                _signal_group(process, signal.SIGKILL)
                await process.wait()
        self.returncode = process.returncode
        await self._stop_probe()  # and the app's dependency (redis-server), if any
        if self._reader is not None:
            try:
                await wait_for(self._reader, 2.0)
            except asyncio.TimeoutError:
                self._reader.cancel()


async def _check_listening(url: str, timeout_s: float = 3.0) -> None:
    """Raise :class:`TargetStartError` when nothing answers HTTP at ``url`` (any status counts as an answer)."""
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
                await response.read()
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
        raise TargetStartError(f'nothing answers at the target URL {url}: {str(e) or type(e).__name__}') from None


def _signal_group(process: asyncio.subprocess.Process, sig: int) -> None:
    """Signal the app's process group (it was started in a new session), so uvicorn workers go too."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError, AttributeError):
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            pass
