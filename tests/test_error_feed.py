"""``clientsim serve``'s error feed (issue 20, item 3), through real sockets against a real serve process: joining
``/clientsim`` takes the run's token (a foreign socket gets nothing, and the worker still gets every error), and
errors stay with the feed until acknowledged (a claimant that leaves without acknowledging gives them back), and
a claim cancelled halfway (the load engine stops its polling claim when it shuts down) loses nothing."""
from __future__ import annotations

import asyncio
import re

import pytest
import socketio

from clientsim.server.app import EmbeddedServer
from clientsim.server.policy import ServerPolicy
from clientsim.server.wire import SOCKETIO_PATH
from clientsim.simulator.browser.state import Latency
from clientsim.simulator.browser.window import SimulatedBrowser
from clientsim.simulator.load.feed import ErrorFeedClient
from clientsim.simulator.serve import ERROR_FEED_NAMESPACE, FEED_TOKEN_ENV, ErrorFeed
from clientsim.simulator.timeline import Timeline

from .test_serve_limits import _serve, _stop

TOKEN = 'the-runs-own-token'


async def _feed(url: str, token: str | None) -> socketio.AsyncClient:
    """A socket on the error feed; raises socketio.exceptions.ConnectionError when refused."""
    client = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    try:
        await client.connect(url, namespaces=[ERROR_FEED_NAMESPACE], socketio_path=SOCKETIO_PATH,
                             transports=['websocket'], wait_timeout=5,
                             auth=None if token is None else {'token': token})
    except BaseException:
        await client.disconnect()
        raise
    return client


async def _keyerrors(url: str, count: int) -> None:
    """``count`` windows that connect and leave before their handshake: with the shipped policy each is a KeyError
    in the server's disconnect handler (problem 3)."""
    for i in range(count):
        window = SimulatedBrowser(f'w{i}', Timeline(), Latency(load='instant'))
        await window.open(url + '/', handshake=False)
        await window.close()


async def _claim(feed: socketio.AsyncClient, *, ack: bool) -> list[dict]:
    errors = await feed.call('claim_errors', {'prefix': ''}, namespace=ERROR_FEED_NAMESPACE, timeout=5)
    if ack and errors:
        await feed.call('ack_errors', {'ids': [e['id'] for e in errors]}, namespace=ERROR_FEED_NAMESPACE, timeout=5)
    return errors


async def _claim_until(feed: socketio.AsyncClient, count: int, timeout_s: float = 20) -> list[dict]:
    """Claim (and acknowledge) until ``count`` errors came, within a deadline."""
    got: list[dict] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(got) < count and asyncio.get_running_loop().time() < deadline:
        got += await _claim(feed, ack=True)
        await asyncio.sleep(0.05)
    return got


def test_a_socket_without_the_token_cannot_take_a_workers_errors(tmp_path):
    with open(tmp_path / 'serve.err', 'w') as err:
        proc, url = _serve('--feed-token', TOKEN, '--set', 'disconnect_guard=false', stderr=err)
        try:
            async def run() -> tuple[int, list[dict]]:
                refused = 0
                for token in (None, '', 'a-guess', TOKEN + 'x'):
                    with pytest.raises(socketio.exceptions.ConnectionError):
                        await _feed(url, token)
                    refused += 1
                worker = await _feed(url, TOKEN)
                try:
                    await _keyerrors(url, 3)
                    return refused, await _claim_until(worker, 3)
                finally:
                    await worker.disconnect()
            refused, errors = asyncio.run(run())
            assert refused == 4
            assert [e['type'] for e in errors] == ['KeyError'] * 3, errors
            assert len({e['id'] for e in errors}) == 3
        finally:
            summary = _stop(proc)
    assert re.search(r'server errors: KeyError 3\b', summary), summary


def test_errors_are_kept_until_acknowledged(tmp_path):
    with open(tmp_path / 'serve.err', 'w') as err:
        proc, url = _serve('--feed-token', TOKEN, '--set', 'disconnect_guard=false', stderr=err)
        try:
            async def run() -> tuple[list[dict], list[dict], list[dict]]:
                first = await _feed(url, TOKEN)
                await _keyerrors(url, 2)
                taken: list[dict] = []
                deadline = asyncio.get_running_loop().time() + 20
                while len(taken) < 2 and asyncio.get_running_loop().time() < deadline:
                    taken = await _claim(first, ack=False)  # claimed, never acknowledged: re-offered to `first`
                    await asyncio.sleep(0.05)
                second = await _feed(url, TOKEN)
                try:
                    while_leased = await _claim(second, ack=True)  # leased to the first: not handed out twice
                    await first.disconnect()  # leaves without acknowledging: the lease returns to the feed
                    returned = await _claim_until(second, 2)
                    return taken, while_leased, returned
                finally:
                    await second.disconnect()
            taken, while_leased, returned = asyncio.run(run())
            assert len(taken) == 2 and while_leased == []
            assert sorted(e['id'] for e in returned) == sorted(e['id'] for e in taken)
        finally:
            _stop(proc)


class _CancellingFeed(ErrorFeed):
    """The feed, which cancels ``victim`` (the task running a worker's claim) the first time ``at`` (``'claim'``
    or ``'ack'``) is answered: the worker's call is cancelled after the server handled it, as when the engine
    stops its polling claim at the wrong moment (a 16-error batch went missing in a stress run of
    test_load.py, 704 of serve's 720)."""
    victim: asyncio.Task | None = None

    def __init__(self, server: EmbeddedServer, token: str, at: str) -> None:
        super().__init__(server, token)
        self.at = at

    def _cancel(self, stage: str) -> None:
        if stage == self.at and self.victim is not None:
            self.victim.cancel()
            self.victim = None

    async def _claim(self, sid: str, data=None) -> list[dict]:
        answer = await super()._claim(sid, data)
        if answer:
            self._cancel('claim')
        return answer

    async def _ack(self, sid: str, data=None) -> int:
        done = await super()._ack(sid, data)
        self._cancel('ack')
        return done


@pytest.mark.parametrize('at', ['claim', 'ack'])
def test_a_claim_cancelled_halfway_loses_no_error(at, monkeypatch):
    """Cancelled while the feed's answer is on its way (``claim``: the errors are leased to the worker's socket)
    or while its acknowledgement is (``ack``: the feed forgot them): the worker's next claim still returns each
    error, once. Before the fix the first case returned [] (the lease held them until the socket left, and then
    nobody claimed them) and the second lost them outright (taken, acknowledged, never returned)."""
    monkeypatch.setenv(FEED_TOKEN_ENV, TOKEN)

    async def run() -> tuple[bool, list[dict], list[dict], int]:
        server = EmbeddedServer(ServerPolicy(disconnect_guard=False))
        url = await server.start()
        feed = _CancellingFeed(server, TOKEN, at).install()
        worker = ErrorFeedClient(url, 'w')
        try:
            assert await worker.connect()
            await _keyerrors(url, 3)
            deadline = asyncio.get_running_loop().time() + 20
            while len(feed.pending) < 3 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            assert len(feed.pending) == 3, feed.pending
            feed.victim = asyncio.create_task(worker.claim())
            cancelled = False
            try:
                await feed.victim
            except asyncio.CancelledError:
                cancelled = True
            after = await worker.claim()
            again = await worker.claim()
            return cancelled, after, again, feed.unclaimed()
        finally:
            await worker.close()
            await server.stop()
    cancelled, after, again, unclaimed = asyncio.run(run())
    assert cancelled  # the cancel landed where the test put it
    assert sorted(e['type'] for e in after) == ['KeyError'] * 3 and len({e['id'] for e in after}) == 3, after
    assert again == [] and unclaimed == 0  # each error once, and the feed holds none of them any more
