"""The engine.io sockets' lean queue and events (issue 24, ``clientsim.simulator.tasks``): their asyncio semantics
on their own, and engine.io on them over real sockets on 127.0.0.1, both sides (a window and the embedded server)."""
from __future__ import annotations

import asyncio
import sys
import time

import engineio.async_client
import pytest

from clientsim.server import lean_socket, pings
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
    if lean_socket.WEBSOCKET_HANDLER is not None:  # the server's websockets read in the request's task, write by
        assert not {'AsyncSocket._websocket_handler.<locals>.websocket_wait',  # callbacks
                    'AsyncSocket._websocket_handler.<locals>.writer'} & coroutines
    if lean_client.callback_write_loop(engineio.async_client.AsyncClient) is not engineio.async_client.AsyncClient:
        assert 'AsyncClient._write_loop' not in coroutines  # the window's write loop is callbacks
    assert armed, 'no timer per socket between pings'
    assert after_stop == 0


def test_a_silent_server_is_noticed_by_the_untasked_read_loop(clientsim, clientsim_lab_factory):
    """The window's read loop still gives up on a server that stopped pinging: with the server's ping timers
    cancelled, the window's socket ends after about ``ping_interval + ping_timeout`` (0.4 s) with python-engineio's
    transport-error disconnect, and the window shows it. Its write loop (``CallbackWriteLoop``) ends on the ``None``
    the read loop queues, not at its own idle timeout."""
    if pings.SEND_PING is None:
        pytest.skip('the installed python-engineio keeps its own ping tasks, which this test cannot silence')
    lab = clientsim_lab_factory(ping_interval_s=0.1, ping_timeout_s=0.3)

    async def run() -> tuple:
        window = await lab.open('quiet', '/private')
        lab.server._pings.cancel_all()  # the server falls silent; its socket stays open
        silent_at = time.monotonic()
        # 4 s: ten times ping_interval + ping_timeout, and less than the write loop's own idle timeout
        # (max(ping_interval, ping_timeout) + 5 s), which the read loop would wait for if the write loop missed its None
        ended = await until(lambda: window.state != HANDSHAKE_DONE, timeout_s=4, poll_s=0.01)
        return ended, time.monotonic() - silent_at, window.state, lab.timeline.of_kind('disconnect_client')

    ended, after_s, state, disconnects = clientsim.run(run(), timeout_s=60)
    assert ended, 'the window never noticed the silent server'
    assert after_s >= 0.3, f'the window gave up after {after_s:.2f} s, before ping_interval + ping_timeout'
    assert state == DISCONNECTED
    assert [(e.detail['by'], e.detail['reason']) for e in disconnects if e.window == 'quiet'] == [
        ('server', 'transport error')]


def test_a_changed_engineio_method_is_not_replaced():
    """The ping timers, the untasked read loop, the callback write loop and the server's websocket handler repeat
    python-engineio's steps, so they stand in only for the text they were written against (``source_digest``): a
    class whose ``_read_loop_websocket`` or ``_write_loop`` differs keeps it, and the digests of the installed release
    are either the known ones (and then replaced) or not (and then left alone)."""
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

    class Writes(engineio.async_client.AsyncClient):
        async def _write_loop(self) -> None:  # a release that writes differently
            await asyncio.sleep(0)

    assert lean_client.callback_write_loop(Writes) is Writes
    writes_known = source_digest(engineio.async_client.AsyncClient._write_loop) == lean_client.KNOWN_WRITE_LOOP
    assert (lean_client.callback_write_loop(engineio.async_client.AsyncClient)
            is not engineio.async_client.AsyncClient) == writes_known
    known_handler = all(source_digest(getattr(engineio.async_socket.AsyncSocket, name)) == digest
                        for name, digest in lean_socket.KNOWN_SOURCES.items())
    assert (lean_socket.WEBSOCKET_HANDLER is not None) == known_handler
    assert lean_socket.install(object()) is False  # no websocket driver: nothing to replace
    assert source_digest(len) is None  # a builtin has no source text


def test_a_burst_each_way_arrives_in_order_through_the_callback_writers(clientsim, clientsim_lab_factory):
    """The send loops without tasks (``clientsim.server.lean_socket.CallbackWriter`` on the server,
    ``lean_client.CallbackWriteLoop`` in the window) batch what is queued and send it in order: 500 events the window
    queues at once reach the server's handler as 0..499, and 500 the server queues at once arrive as 0..499. Closing
    the window ends its write loop at once (``write_loop_task`` None), not at the loop's 25 s idle timeout, and the
    server's websocket handler (its request) ends too."""
    import socketio

    lab = clientsim_lab_factory(ping_interval_s=20, ping_timeout_s=20)  # idle timeouts far beyond the deadlines
    server = lab.server
    received: list[int] = []

    async def run() -> tuple:
        server.sio.on('burst', lambda sid, n: received.append(n))
        window = await lab.open('burst', '/private')
        sio = window._connection.sio
        arrived: list[int] = []
        sio.on('burst', arrived.append)
        for n in range(500):
            await sio.emit('burst', n)  # queued only: the write loop sends them
        up = await until(lambda: len(received) == 500)
        eio_sid = server.sio.manager.eio_sid_from_sid(window.sid, '/')
        for n in range(500):  # engine.io's public send: queued without a pause, so the writer sends batches
            encoded = socketio.packet.Packet(socketio.packet.EVENT, data=['burst', n]).encode()
            await server.sio.eio.send(eio_sid, encoded)
        down = await until(lambda: len(arrived) == 500)
        eio = sio.eio
        loop_type = type(eio.write_loop_task).__name__
        try:
            await asyncio.wait_for(window.close(), 10)
            closed = True
        except asyncio.TimeoutError:
            closed = False
        served = await until(lambda: not any(task.get_coro().__qualname__ == 'RequestHandler._handle_request'
                                             for task in asyncio.all_tasks()), timeout_s=10)
        return up, down, arrived, loop_type, closed, eio.write_loop_task, served

    up, down, arrived, loop_type, closed, write_loop, served = clientsim.run(run(), timeout_s=60)
    assert up and received == list(range(500)), "the window's events reached the server out of order or not at all"
    assert down and arrived == list(range(500)), "the server's events reached the window out of order or not at all"
    if lean_client.callback_write_loop(engineio.async_client.AsyncClient) is not engineio.async_client.AsyncClient:
        assert loop_type == 'CallbackWriteLoop'
    assert closed, 'closing the window waited for its write loop to time out'
    assert write_loop is None, "the window's write loop did not end with its socket"
    assert served, "the server's websocket handler did not end with the window's socket"


def test_a_polling_socket_upgraded_to_websocket_keeps_engineios_own_handler(clientsim, clientsim_lab):
    """An engine.io socket that starts on polling and upgrades (python-socketio's default transports) is served by
    python-engineio's own upgrade path (``lean_socket`` replaces only a fresh websocket's handler): it upgrades,
    and messages go both ways after the upgrade."""
    import socketio

    from clientsim.server.wire import SOCKETIO_PATH_RELATIVE

    server = clientsim_lab.server

    async def run() -> tuple:
        echoed: list = []
        server.sio.on('echo', lambda sid, data: data)
        client = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        client.on('*', lambda event, data: echoed.append((event, data)))
        page = await clientsim_lab.open('page', '/')
        await client.connect(f'{server.url}?client_id={page.client_id}', socketio_path=SOCKETIO_PATH_RELATIVE,
                             transports=['polling', 'websocket'], wait_timeout=10)
        upgraded = await until(lambda: client.eio.current_transport == 'websocket')
        answers = [await client.call('echo', n, timeout=10) for n in range(3)]
        await client.disconnect()
        return upgraded, answers

    upgraded, answers = clientsim.run(run(), timeout_s=60)
    assert upgraded, 'the polling socket never upgraded to websocket'
    assert answers == [0, 1, 2]
