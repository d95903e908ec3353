"""The engine.io sockets' lean queue and events (issue 24, ``clientsim.simulator.tasks``): their asyncio semantics
on their own, and engine.io on them over real sockets on 127.0.0.1, both sides (a window and the embedded server)."""
from __future__ import annotations

import asyncio
import sys
import time

import engineio.async_client
import pytest

from clientsim.server import pings
from clientsim.simulator.browser import DISCONNECTED, HANDSHAKE_DONE, SimulatedBrowser, lean_client
from clientsim.simulator.tasks import LeanEvent, LeanQueue

from .conftest import until


def test_queue_is_fifo_whether_the_getter_comes_first_or_last():
    async def run() -> list:
        queue = LeanQueue()
        early = queue.get()  # waits: nothing queued yet
        queue.put_nowait('a')
        await queue.put('b')
        queue.put_nowait('c')
        got = [await early, await queue.get(), queue.get_nowait()]
        with pytest.raises(asyncio.QueueEmpty):
            queue.get_nowait()
        return got + [queue.empty(), queue.qsize()]

    assert asyncio.run(run()) == ['a', 'b', 'c', True, 0]


def test_a_getter_withdrawn_by_a_timeout_loses_no_item():
    """python-engineio awaits ``asyncio.wait_for(queue.get(), timeout)``: the timed-out getter must not swallow
    the next item, which goes to the next getter."""
    async def run() -> list:
        queue = LeanQueue()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(queue.get(), 0.01)
        waiting = asyncio.ensure_future(asyncio.wait_for(queue.get(), 5))
        await asyncio.sleep(0)
        queue.put_nowait('first')  # to the waiting getter, not the withdrawn one
        queue.put_nowait('second')  # kept: no getter waits
        return [await waiting, queue.qsize(), queue.get_nowait()]

    assert asyncio.run(run()) == ['first', 1, 'second']


def test_join_waits_for_every_task_done():
    async def run() -> list[bool]:
        queue = LeanQueue()
        await queue.join()  # nothing put: returns at once
        queue.put_nowait(1)
        queue.put_nowait(2)
        joined = asyncio.ensure_future(queue.join())
        seen = []
        for _ in range(2):
            await queue.get()
            await asyncio.sleep(0.01)
            seen.append(joined.done())
            queue.task_done()
        await asyncio.wait_for(joined, 5)
        return seen

    assert asyncio.run(run()) == [False, False]


def test_event_wakes_every_waiter_and_forgets_cancelled_ones():
    async def run() -> tuple:
        event = LeanEvent()
        waiters = [asyncio.ensure_future(event.wait()) for _ in range(3)]
        await asyncio.sleep(0)
        waiters[0].cancel()
        await asyncio.sleep(0)
        before = (event.is_set(), any(w.done() for w in waiters[1:]))
        event.set()
        results = await asyncio.gather(*waiters[1:])
        event.clear()
        late = asyncio.ensure_future(event.wait())
        await asyncio.sleep(0.01)
        blocked = not late.done()
        event.set()
        return before, results, blocked, await late, event._waiters

    assert asyncio.run(run()) == ((False, False), [True, True], True, True, None)


def test_engineio_runs_on_lean_queues_both_sides_through_a_burst_and_a_server_disconnect(clientsim, clientsim_lab):
    """A window on a private page: its socket and the server's socket use LeanQueue; 300 messages sent at once
    arrive in order (the window's ``next_message_id`` follows the outbox ids); the server's disconnect, which
    waits for its send queue to drain (python-engineio ``AsyncSocket.close`` awaits ``queue.join()``), ends."""
    server = clientsim_lab.server

    async def run() -> tuple:
        window = SimulatedBrowser('lean', clientsim_lab.timeline)
        window.default_load = 'instant'  # as the lab's windows on the embedded server: no Chromium boot wait
        await window.open(server.url + '/private')
        assert window.state == HANDSHAKE_DONE
        eio_sid = server.sio.manager.eio_sid_from_sid(window.sid, '/')
        queues = (type(window._connection.sio.eio.queue), type(server.sio.eio.sockets[eio_sid].queue))
        client = server.registry.get(window.client_id)
        start = window.next_message_id
        for i in range(300):
            await client.send('update', {'elements': {}, 'i': i})
        arrived = await until(lambda: window.next_message_id == start + 300)
        await asyncio.wait_for(server.sio.disconnect(window.sid), 10)
        disconnected = await until(lambda: window.state != HANDSHAKE_DONE)
        await window.close()
        return queues, arrived, disconnected

    queues, arrived, disconnected = clientsim.run(run(), timeout_s=60)
    assert queues == (LeanQueue, LeanQueue)
    assert arrived, 'the burst of 300 messages did not all arrive in order'
    assert disconnected, "the server's disconnect did not reach the window"


def test_pings_are_timers_and_an_idle_window_has_no_receive_task(clientsim, clientsim_lab_factory):
    """Issue 24: the server arms each socket's next PING as a loop timer (``clientsim.server.pings``) instead of
    python-engineio's ``AsyncSocket._send_ping`` task asleep per socket, and (CPython 3.11) a window's read loop
    waits for the next frame without a ``ClientWebSocketResponse.receive`` task. Pings still go out and are
    answered: with ``ping_interval_s`` 0.1 the server sends at least 24 to three windows (0.8 s each, twice
    ``ping_interval + ping_timeout``) and every window stays connected; a timer is armed per socket between pings;
    stopping the server leaves none."""
    lab = clientsim_lab_factory(ping_interval_s=0.1, ping_timeout_s=0.3)
    server = lab.server

    async def run() -> tuple:
        windows = [await lab.open(f'w{i}', '/private') for i in range(3)]
        timers = server._pings
        start = timers.sent
        pinged = await until(lambda: timers.sent - start >= 24 or pings.SEND_PING is None, poll_s=0.01)
        coroutines = {task.get_coro().__qualname__ for task in asyncio.all_tasks()}
        states = [w.state for w in windows]
        armed = await until(lambda: timers.pending == 3, poll_s=0.005)  # each PONG re-arms its socket's timer
        await server.stop()
        return pinged, coroutines, states, armed, timers.pending

    pinged, coroutines, states, armed, after_stop = clientsim.run(run(), timeout_s=60)
    assert pinged, 'the server did not keep pinging'
    assert states == [HANDSHAKE_DONE] * 3, 'a window lost its socket while the server pinged'
    if pings.SEND_PING is None:  # a python-engineio whose ping text is not the known one keeps its own tasks
        return
    assert 'AsyncSocket._send_ping' not in coroutines
    if lean_client.untasked_read_loop(lean_client.lean_engineio(engineio.async_client.AsyncClient)) is not \
            lean_client.lean_engineio(engineio.async_client.AsyncClient):  # CPython 3.11 and the known loop
        assert 'ClientWebSocketResponse.receive' not in coroutines
    assert armed, 'no timer per socket between pings'
    assert after_stop == 0


def test_a_silent_server_is_noticed_by_the_untasked_read_loop(clientsim, clientsim_lab_factory):
    """The window's read loop still gives up on a server that stopped pinging: with the server's ping timers
    cancelled, the window's socket ends after about ``ping_interval + ping_timeout`` (0.4 s) with python-engineio's
    transport-error disconnect, and the window shows it."""
    if pings.SEND_PING is None:
        pytest.skip('the installed python-engineio keeps its own ping tasks, which this test cannot silence')
    lab = clientsim_lab_factory(ping_interval_s=0.1, ping_timeout_s=0.3)

    async def run() -> tuple:
        window = await lab.open('quiet', '/private')
        lab.server._pings.cancel_all()  # the server falls silent; its socket stays open
        silent_at = time.monotonic()
        ended = await until(lambda: window.state != HANDSHAKE_DONE, timeout_s=20, poll_s=0.01)
        return ended, time.monotonic() - silent_at, window.state, lab.timeline.of_kind('disconnect_client')

    ended, after_s, state, disconnects = clientsim.run(run(), timeout_s=60)
    assert ended, 'the window never noticed the silent server'
    assert after_s >= 0.3, f'the window gave up after {after_s:.2f} s, before ping_interval + ping_timeout'
    assert state == DISCONNECTED
    assert [(e.detail['by'], e.detail['reason']) for e in disconnects if e.window == 'quiet'] == [
        ('server', 'transport error')]


def test_a_changed_engineio_method_is_not_replaced():
    """The ping timers and the untasked read loop repeat python-engineio 4.14.0–4.15.1's steps, so they stand in
    only for that text (``source_digest``): a class whose ``_read_loop_websocket`` reads differently keeps it, and the
    digests of the installed release are either the known ones (and then replaced) or not (and then left alone)."""
    import engineio.async_socket

    from clientsim.simulator.tasks import source_digest

    class Changed(engineio.async_client.AsyncClient):
        async def _read_loop_websocket(self) -> None:  # a release that reads differently
            await asyncio.sleep(0)

    assert lean_client.untasked_read_loop(Changed) is Changed
    installed = source_digest(engineio.async_client.AsyncClient._read_loop_websocket)
    replaced = lean_client.untasked_read_loop(engineio.async_client.AsyncClient)
    assert (replaced is not engineio.async_client.AsyncClient) == (
        installed == lean_client.KNOWN_READ_LOOP and sys.version_info < (3, 12))
    known_pings = all(source_digest(getattr(engineio.async_socket.AsyncSocket, name)) == digest
                      for name, digest in pings.KNOWN_SOURCES.items())
    assert (pings.SEND_PING is not None) == known_pings
    assert source_digest(len) is None  # a builtin has no source text
