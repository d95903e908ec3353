"""The real NiceGUI app of the conformance suite: ``assets/apps/real_app.py`` run by a cached NiceGUI venv
(:func:`clientsim.simulator.matrix.nicegui_python`), which can be killed and restarted on the same port.

Pages used: ``/counter`` (a "+1" button and a bound label), ``/private`` (a Download button, ``ui.download`` of
``sample.txt``) and ``/`` (the auto-index page on NiceGUI 2.x, where two tabs share one client).
"""
from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Optional

import aiohttp

from clientsim import assets

from ..errors import TargetError
from ..matrix import nicegui_python
from ..target import free_port

READY_TIMEOUT_S = 40.0


def _app_environment() -> dict[str, str]:
    """This process's environment without pytest's variables (NiceGUI's ``ui.run`` takes ``PYTEST_CURRENT_TEST``
    for its own screen tests and then wants ``NICEGUI_SCREEN_TEST_PORT``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST_')}
    env['PYTHONUNBUFFERED'] = '1'
    return env


@dataclass
class RealApp:
    """``RealApp(version)``: :meth:`start` (installs the venv on first use), :meth:`kill`, :meth:`start` again on
    the same ``port``, :meth:`stop`. ``ready_ns``: perf_counter_ns when the last start answered HTTP."""
    version: str
    port: int = field(default_factory=free_port)
    ready_ns: int = 0
    process: Optional[asyncio.subprocess.Process] = None
    output: list[str] = field(default_factory=list)
    _drain: Optional[asyncio.Task] = None

    async def start(self) -> None:
        """Start the app and wait until it answers ``/counter``. Raises :class:`TargetError` when it exits or does
        not answer within 40 s."""
        python = await asyncio.to_thread(nicegui_python, self.version)
        self.process = await asyncio.create_subprocess_exec(
            python, str(assets.path('apps', 'real_app.py')), str(self.port), '--reconnect-timeout', '3',
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            env=_app_environment())
        self._drain = asyncio.ensure_future(self._read(self.process))
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession() as session:
            while True:
                if self.process.returncode is not None:
                    raise TargetError(f'NiceGUI {self.version} app exited: {"".join(self.output[-20:])}')
                try:
                    async with session.get(f'http://127.0.0.1:{self.port}/counter') as response:
                        await response.read()
                        self.ready_ns = time.perf_counter_ns()
                        return
                except (aiohttp.ClientError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise TargetError(f'NiceGUI {self.version} app did not answer within {READY_TIMEOUT_S:g} s')
                await asyncio.sleep(0.05)

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while line := await process.stdout.readline():
            self.output.append(line.decode(errors='replace'))

    async def kill(self) -> None:
        """SIGKILL the app's process group and wait for it."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.returncode is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        await process.wait()
        if self._drain is not None:
            await asyncio.gather(self._drain, return_exceptions=True)

    async def stop(self) -> None:
        """Stop the app (SIGKILL: nothing of it is measured any more)."""
        await self.kill()
