"""External targets: play a scenario against a real NiceGUI app instead of the embedded server.

A scenario names its target with ``target:``::

    target: http://127.0.0.1:8080                 # an app that is already running (clientsim only connects)
    target:                                       # clientsim starts the app and stops it at the end
      command: [/path/to/venv/bin/python, app.py, '{port}']
      url: http://127.0.0.1:{port}                # '{port}' anywhere: a free port chosen by clientsim
      ready_timeout_s: 20                         # seconds to wait until the URL answers (any HTTP status)
      cwd: .                                      # relative to the scenario file (default: its folder)
      env: {PYTHONUNBUFFERED: '1'}                # added to the environment

Against an external target there is no embedded server: every timeline event comes from the windows (the
client side), so the report says ``'timing': 'client side only'``. Server errors can only be counted when
clientsim started the app: :func:`count_exceptions` reads the tracebacks in the app's captured output
(stdout and stderr together). No Qt import here.
"""
from __future__ import annotations

import asyncio
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

PORT_PLACEHOLDER = '{port}'
PYTHON_PLACEHOLDER = '{python}'

_TRACEBACK_START = 'Traceback (most recent call last):'
_EXCEPTION_LINE_RE = re.compile(r'^([A-Za-z_][\w.]*)(?::\s?(.*))?$')


class TargetSpec(BaseModel):
    """``target: {command, url, ready_timeout_s, stop_timeout_s, cwd, env}`` of a scenario file.

    ``command`` is an argv list (no shell); ``{port}`` in any item or in ``url`` is replaced by one free TCP port
    on 127.0.0.1, ``{python}`` by the interpreter running clientsim (``sys.executable``). Times in **seconds**.
    """
    model_config = ConfigDict(extra='forbid')

    command: list[str] = Field(min_length=1)
    url: str
    ready_timeout_s: float = Field(20.0, gt=0, le=600)
    stop_timeout_s: float = Field(5.0, gt=0, le=120)
    cwd: Optional[str] = None
    env: dict[str, str] = {}

    @field_validator('url')
    @classmethod
    def _http(cls, v: str) -> str:
        return _check_url(v)


def _check_url(v: str) -> str:
    if not v.startswith(('http://', 'https://')):
        raise ValueError(f'target url must start with http:// or https://, got {v!r}')
    return v.rstrip('/')


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

    def __init__(self, target: Target, base_dir: str | Path | None = None) -> None:
        self.spec = target if isinstance(target, TargetSpec) else None
        self.url = _check_url(target) if isinstance(target, str) else None
        self.base_dir = Path(base_dir) if base_dir else Path.cwd()
        self.command: list[str] = []
        self.returncode: Optional[int] = None
        self.ready_ms: Optional[float] = None
        self._chunks: list[bytes] = []
        self._process: Optional[asyncio.subprocess.Process] = None
        self._reader: Optional[asyncio.Task] = None

    @property
    def started(self) -> bool:
        """Whether clientsim starts the app (a ``command`` target) rather than connecting to a running one."""
        return self.spec is not None

    @property
    def output(self) -> str:
        """Everything the app wrote to stdout and stderr so far (decoded as UTF-8, errors replaced)."""
        return b''.join(self._chunks).decode('utf-8', errors='replace')

    def error_counts(self) -> dict[str, int]:
        """Tracebacks in :attr:`output` by exception type (:func:`count_exceptions`); ``{}`` for a URL target."""
        return count_exceptions(self.output)

    def describe(self) -> dict[str, Any]:
        """JSON-safe description for reports: ``url``, ``command`` (``None`` for a URL target), ``returncode``,
        ``ready_ms`` (ms from start until the URL answered)."""
        return {'url': self.url, 'command': self.command or None, 'returncode': self.returncode,
                'ready_ms': None if self.ready_ms is None else round(self.ready_ms, 1)}

    async def start(self) -> str:
        """Start the app (command targets) and wait until its URL answers; return the base URL.

        Raises RuntimeError when the app exits before it is ready or does not answer within ``ready_timeout_s``
        (the message ends with the app's output), OSError when the command cannot be started.
        """
        if self.spec is None:
            assert self.url is not None
            return self.url
        spec = self.spec
        port = str(free_port()) if any(PORT_PLACEHOLDER in s for s in [spec.url, *spec.command]) else ''
        self.command = [s.replace(PORT_PLACEHOLDER, port).replace(PYTHON_PLACEHOLDER, sys.executable)
                        for s in spec.command]
        self.url = spec.url.replace(PORT_PLACEHOLDER, port)
        cwd = self.base_dir / spec.cwd if spec.cwd else self.base_dir
        # without pytest's variables: NiceGUI 3.x treats PYTEST_CURRENT_TEST as "inside its own screen tests"
        env = {**{k: v for k, v in os.environ.items() if not k.startswith('PYTEST_')}, 'PYTHONUNBUFFERED': '1',
               **spec.env}
        started = time.perf_counter()
        self._process = await asyncio.create_subprocess_exec(
            *self.command, cwd=str(cwd), env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True)
        self._reader = asyncio.ensure_future(self._read(self._process))
        deadline = started + spec.ready_timeout_s
        async with aiohttp.ClientSession() as session:
            while True:
                if self._process.returncode is not None:
                    await asyncio.gather(self._reader, return_exceptions=True)
                    self.returncode = self._process.returncode
                    raise RuntimeError(f'target app exited with code {self.returncode} before {self.url} answered; '
                                       f'its output:\n{self.output[-4000:]}')
                try:
                    async with session.get(self.url, timeout=aiohttp.ClientTimeout(total=2)) as response:
                        await response.read()
                    break
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    pass
                if time.perf_counter() > deadline:
                    await self.stop()
                    raise RuntimeError(f'target app did not answer at {self.url} within {spec.ready_timeout_s} s; '
                                       f'its output:\n{self.output[-4000:]}')
                await asyncio.sleep(0.1)
        self.ready_ms = (time.perf_counter() - started) * 1000
        return self.url

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
                await asyncio.wait_for(process.wait(), timeout)
            except asyncio.TimeoutError:
                _signal_group(process, signal.SIGKILL)
                await process.wait()
        self.returncode = process.returncode
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 2.0)
            except asyncio.TimeoutError:
                self._reader.cancel()


def _signal_group(process: asyncio.subprocess.Process, sig: int) -> None:
    """Signal the app's process group (it was started in a new session), so uvicorn workers go too."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError, AttributeError):
        try:
            process.send_signal(sig)
        except ProcessLookupError:
            pass
