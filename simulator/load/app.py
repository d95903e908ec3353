"""The app of a recorded session for ``clientsim load``: a recording made with ``clientsim record --target CMD``
names the command that started its app (``target.command``); without ``--host``, ``clientsim load`` starts that app
for the run and stops it at the end, as ``clientsim play`` does.

:class:`RecordedApp` runs :class:`~clientsim.simulator.target.ExternalTarget` on an asyncio loop of its own, in a
thread (the runner is synchronous and waits on Locust processes; the target's reader must keep draining the app's
output meanwhile). The file must be trusted (:mod:`clientsim.simulator.trust`): a recording written by
``clientsim record`` is; an edited or downloaded one needs ``clientsim trust FILE`` or ``--trust``.
"""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Optional

from ..errors import BadInputError
from ..scenario import load_scenario
from ..target import ExternalTarget
from ..trust import require_trusted

START_TIMEOUT_S = 120.0
"""How long :meth:`RecordedApp.start` waits for the app (its own ``ready_timeout_s`` usually ends it first)."""


class RecordedApp:
    """``RecordedApp(file, trust=False)``: :meth:`start` checks that ``file`` is trusted (raises
    :class:`~clientsim.simulator.trust.UntrustedScenarioError`, a ``BadInputError``), starts its ``target.command``
    and returns the app's base URL (raises :class:`BadInputError` naming the file when the app does not come up,
    with the end of its output); :meth:`stop` stops it (SIGTERM, then SIGKILL) and returns a one-line summary.
    Both block."""

    def __init__(self, file: str, trust: bool = False) -> None:
        self.file = file
        self.trust = trust
        self._thread: Optional[threading.Thread] = None
        self._main_task: Optional[asyncio.Task] = None  # cancelled by stop(): the app is stopped in its finally
        self._ready = threading.Event()
        self._url: Optional[str] = None
        self._error: Optional[BaseException] = None
        self._target: Optional[ExternalTarget] = None

    def start(self) -> str:
        scenario = load_scenario(self.file)
        require_trusted([scenario], self.trust)
        self._thread = threading.Thread(target=self._run, args=(scenario,), name='recorded app', daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            self.stop()
            raise BadInputError(f'{self.file}: target.command: the app did not answer within {START_TIMEOUT_S:g} s')
        if self._error is not None:
            self.stop()
            raise BadInputError(f'{self.file}: target.command: {self._error}') from None
        if self._url is None:
            raise BadInputError(f'{self.file}: target.command: stopped before the app answered')
        return self._url

    def _run(self, scenario: Any) -> None:
        try:
            asyncio.run(self._main(scenario))
        except asyncio.CancelledError:  # stop(): the app was stopped in _main's finally
            pass

    async def _main(self, scenario: Any) -> None:
        self._main_task = asyncio.current_task()
        target = self._target = ExternalTarget(scenario.target, base_dir=Path(self.file).resolve().parent)
        try:
            try:
                self._url = (await target.start()).rstrip('/')
            except (RuntimeError, OSError) as e:
                self._error = e
                return
            finally:
                self._ready.set()
            await asyncio.get_running_loop().create_future()  # until stop() cancels this task
        finally:
            await target.stop()

    def stop(self) -> str:
        """Stop the app (idempotent; a start still waiting for the app, e.g. on Ctrl+C, is cancelled); returns
        ``'the app (CMD) exited with N'``, or '' when none was started."""
        task, thread = self._main_task, self._thread
        if thread is None:
            return ''
        if task is not None:
            try:
                task.get_loop().call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop ended meanwhile
                pass
        thread.join(60)
        self._thread = None
        target = self._target
        if target is None:
            return ''
        return f'the app ({" ".join(target.command)}) exited with {target.returncode}'
