"""Cancellation-safe cleanup: a window whose page load, reload or close is cancelled at any moment leaves no open
HTTP session, websocket response or pending task behind (the clean-exit standard: no "Unclosed client session",
"Unclosed connector", "Unclosed response"). Real sockets on 127.0.0.1 against the embedded server."""
from __future__ import annotations

import asyncio
import gc

from clientsim.simulator.browser import SimulatedBrowser
from clientsim.simulator.timeline import Timeline


def _collect_unclosed(loop: asyncio.AbstractEventLoop) -> list[str]:
    """Turn on the loop's debug mode (aiohttp reports "Unclosed response" only then) and collect the messages of
    the loop's exception handler."""
    messages: list[str] = []
    loop.set_debug(True)
    loop.slow_callback_duration = 10.0  # no "Executing … took" noise on a loaded machine
    loop.set_exception_handler(lambda _loop, context: messages.append(str(context.get('message'))))
    return messages


def test_reloads_cancelled_at_any_moment_leave_nothing_unclosed(clientsim, clientsim_lab):
    messages = _collect_unclosed(clientsim.loop)
    url = clientsim_lab.server.url + '/private'

    async def run() -> int:
        window = SimulatedBrowser('w', clientsim_lab.timeline)
        await window.open(url)
        cancelled = 0
        for step in range(60):  # cancel the reload after 0 … 12 ms: page GET, socket connect, OPEN, handshake
            task = asyncio.ensure_future(window.reload())
            await asyncio.sleep(step * 0.0002)
            if not task.done():
                task.cancel()
                cancelled += 1
            await asyncio.gather(task, return_exceptions=True)
        await window.close()
        return cancelled

    assert clientsim.run(run(), timeout_s=120) > 0
    gc.collect()
    clientsim.sleep(50)
    assert [m for m in messages if 'Unclosed' in m or 'destroyed' in m] == []


def test_close_cancelled_midway_still_closes_the_session(clientsim, clientsim_lab):
    messages = _collect_unclosed(clientsim.loop)
    url = clientsim_lab.server.url + '/private'

    async def run() -> list[bool]:
        closed = []
        for step in range(20):  # cancel the close after 0 … 4 ms: tasks, socket disconnect, session close
            window = SimulatedBrowser(f'w{step}', clientsim_lab.timeline)
            window.default_load = 'instant'  # as the lab's windows on the embedded server: no Chromium boot wait
            await window.open(url)
            session = window._session
            task = asyncio.ensure_future(window.close())
            await asyncio.sleep(step * 0.0002)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            closed.append(session is not None and session.closed and window._connection.sio is None)
        return closed

    assert all(clientsim.run(run(), timeout_s=120))
    gc.collect()
    clientsim.sleep(50)
    assert [m for m in messages if 'Unclosed' in m or 'destroyed' in m] == []


def test_a_cancel_that_lands_as_a_wait_completes_is_kept():
    """Ctrl+C in ``clientsim play`` cancels the run's main task (``asyncio.Runner``). If it landed just as a
    window's wait finished (the handshake came in that loop iteration), CPython 3.11's ``asyncio.wait_for``
    returned the result instead, and the run went on into its next step (clientsim.simulator.tasks.wait_for).
    Here the wait is released, the loop turns 0-5 times, then the waiting task is cancelled: every cancel that
    reached a task still running must end it."""
    async def run() -> list[tuple[int, str]]:
        window = SimulatedBrowser('w', Timeline())
        outcomes = []
        for spins in range(6):
            ready: list[bool] = []
            task = asyncio.ensure_future(window.wait_for(lambda _w, ready=ready: bool(ready), 5.0))
            await asyncio.sleep(0)  # the task waits for a change
            ready.append(True)
            window.ports.changed()
            for _ in range(spins):
                await asyncio.sleep(0)
            if task.cancel():  # False: the task had finished, nothing was cancelled
                result = (await asyncio.gather(task, return_exceptions=True))[0]
                outcomes.append((spins, type(result).__name__))
        return outcomes
    outcomes = asyncio.run(run())
    assert outcomes, 'the task always finished before the cancel: the race was not reached'
    assert all(kind == 'CancelledError' for _spins, kind in outcomes), outcomes
