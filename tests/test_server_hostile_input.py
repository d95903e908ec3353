"""Issue 13, items 1-6 and 10: the embedded server under hostile input. Real sockets on 127.0.0.1 (raw socket.io
frames from :mod:`tests.rawsocket`, simulated windows from the project's pytest plugin), no mocks."""
from __future__ import annotations

import asyncio
import gc
import logging

import aiohttp
import pytest

from clientsim.server.app import EmbeddedServer, host_allowed
from clientsim.server.downloads import sample_file

from .conftest import until
from .rawsocket import RawSocket, page_client_id

FAST_DELETE = dict(reconnect_timeout_s=0.2, prune_interval_s=0.05, prune_age_s=0.1, prune_skips_pending_delete=True,
                   idempotent_delete=True)  # fix mode: no emulated double delete


@pytest.fixture
def loop_errors(clientsim):
    """Every context the loop's exception handler gets ("Task exception was never retrieved" and the like)."""
    seen: list[dict] = []
    clientsim.loop.set_exception_handler(lambda loop, context: seen.append(context))
    yield seen


def _bad(server: EmbeddedServer, sid: str) -> list:
    return [e for e in server.timeline.of_kind('bad_message') if e.sid == sid]


BAD_FRAMES = [
    ('handshake with two arguments', '42["handshake",{"client_id":"x"},2]', 'handshake'),
    ('event with two arguments', '42["event",{},{}]', 'event'),
    ('ack with three arguments', '42["ack",1,2,3]', 'ack'),
    ('unknown event with two arguments', '42["whatever",1,2]', 'whatever'),
    ('an event named *', '42["*",1]', '*'),
    ('an event named * without data', '42["*"]', '*'),
    ('connect event with a number', '42["connect",5]', 'connect'),
    ('connect event without data', '42["connect"]', 'connect'),
    ('disconnect event with three arguments', '42["disconnect",1,2,3]', 'disconnect'),
]


@pytest.mark.parametrize('label, frame, event', BAD_FRAMES, ids=[b[0] for b in BAD_FRAMES])
def test_item1_bad_handler_input_becomes_bad_message(clientsim, clientsim_server, loop_errors, label, frame, event):
    server = clientsim_server

    async def run():
        sock = await RawSocket.connect(server.url)
        await sock.send(frame)
        await until(lambda: _bad(server, sock.sid))
        bad = _bad(server, sock.sid)
        # the server still answers on the same socket
        ack = await sock.handshake(await page_client_id(server.url, '/'))
        await sock.close()
        return bad, ack
    bad, ack = clientsim.run(run())
    gc.collect()
    assert [e.detail['event'] for e in bad] == [event], label
    assert len(bad[0].detail['payload']) <= 200
    assert ack is True
    assert server.errors == []
    assert loop_errors == [], loop_errors


def test_item2_forged_disconnect_does_not_run_the_disconnect_handler(clientsim, clientsim_server, loop_errors):
    server = clientsim_server

    async def run():
        client_id = await page_client_id(server.url, '/private')
        sock = await RawSocket.connect(server.url, client_id=client_id)
        assert await sock.handshake(client_id) is True
        await sock.send('42["disconnect"]')
        await sock.send('42["disconnect","client namespace disconnect"]')
        await until(lambda: len(_bad(server, sock.sid)) >= 2)
        client = server.registry.get(client_id)
        state = (sock.sid in server.sids, client is not None and client.has_socket_connection,
                 client is not None and not client.pending_delete)
        await sock.close()
        await until(lambda: server.timeline.of_kind('disconnect_server'))
        return sock.sid, state
    sid, state = clientsim.run(run())
    assert state == (True, True, True), 'the socket stays registered and its client connected'
    assert [e.detail['event'] for e in _bad(server, sid)] == ['disconnect', 'disconnect']
    assert len(server.timeline.of_kind('disconnect_server')) == 1, "only engine.io's disconnect ran the handler"
    assert server.errors == [] and loop_errors == []


# prune_age_s above any page-GET-to-handshake gap on a busy machine: the three pages' clients must not be pruned
# before their handshake; deleting them after the socket closed is reconnect_timeout_s's job (0.2 s)
@pytest.mark.clientsim_policy(**{**FAST_DELETE, 'prune_age_s': 60.0})
def test_item3_one_socket_one_client_second_handshake_replaces_the_first(clientsim, clientsim_server, loop_errors):
    server = clientsim_server

    async def run():
        ids = [await page_client_id(server.url, '/private') for _ in range(3)]
        sock = await RawSocket.connect(server.url, client_id=ids[0])
        clients = {}  # held here: a replaced client may already be deleted (reconnect_timeout_s) on a busy machine
        for client_id in ids:  # three clients on one socket
            clients[client_id] = server.registry.get(client_id)
            assert await sock.handshake(client_id) is True
        assert await sock.handshake(ids[2], document_id='doc2') is True  # the same client again
        counts = {i: sum(clients[i]._num_connections.values()) for i in ids}
        replaced = len(server.timeline.of_kind('handshake_replaced'))
        await sock.close()
        await until(lambda: not [i for i in ids if i in server.registry.instances])  # reconnect_timeout_s, prune
        return counts, replaced, [i for i in ids if i in server.registry.instances]
    counts, replaced, alive = clientsim.run(run())
    assert counts == {**{i: 0 for i in list(counts)[:2]}, list(counts)[2]: 1}, 'only the last handshake counts'
    assert replaced == 3
    assert alive == [], 'every private client of the socket is deleted after it closed'
    assert server.errors == [] and loop_errors == []


@pytest.mark.clientsim_policy(single_use_unfetched_s=0.2)
def test_item4_never_fetched_single_use_routes_expire(clientsim, clientsim_server):
    server = clientsim_server

    async def run():
        routes = [server.downloads.register(sample_file()) for _ in range(20)]
        fetched = routes[0]
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + fetched.url) as r:
                first = r.status
            await until(lambda: not server.downloads.routes)  # single_use_unfetched_s = 0.2 s, polled
            async with session.get(server.url + routes[1].url) as r:
                late = r.status
        return first, late, len(server.downloads.routes), len(server.downloads._timers)
    first, late, left, timers = clientsim.run(run())
    assert (first, late, left, timers) == (200, 404, 0, 0)
    assert len(server.timeline.of_kind('single_use_route_expired')) == 19


def test_item4_lifetime_zero_keeps_nicegui_behaviour(clientsim, clientsim_server_factory):
    server = clientsim_server_factory(single_use_unfetched_s=0)

    async def run():
        for _ in range(5):
            server.downloads.register(sample_file())
        await asyncio.sleep(0.1)
        return len(server.downloads.routes)
    assert clientsim.run(run()) == 5


@pytest.mark.parametrize('value, ok', [
    ('127.0.0.1:8080', True), ('localhost', True), ('[::1]:9', True), ('http://127.0.0.1:5', True),
    ('http://localhost', True), ('127.5.5.5', True), ('evil.example', False), ('127.0.0.1.evil.example', False),
    ('http://evil.example:80', False), ('', False), (None, False), ('[::1', False), ('null', False)])
def test_item5_host_allowed(value, ok):
    assert host_allowed(value) is ok


def test_item5_host_and_origin_are_checked(clientsim, clientsim_server):
    server = clientsim_server
    port = server.url.rsplit(':', 1)[1]

    async def get(headers):
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + '/', headers=headers) as r:
                return r.status

    async def run():
        statuses = [await get({}), await get({'Host': f'evil.example:{port}'}),
                    await get({'Origin': 'http://evil.example'}), await get({'Origin': f'http://localhost:{port}'})]
        refused_socket = None
        try:
            sock = await RawSocket.connect(server.url, headers={'Origin': 'http://evil.example'})
            await sock.close()
        except aiohttp.WSServerHandshakeError as e:
            refused_socket = e.status
        async with aiohttp.ClientSession() as session:  # CORS for a loopback origin: echoed, never '*'
            async with session.get(f'{server.url}/_nicegui_ws/socket.io/?EIO=4&transport=polling',
                                   headers={'Origin': f'http://127.0.0.1:{port}'}) as r:
                cors = r.headers.get('Access-Control-Allow-Origin')
        return statuses, refused_socket, cors
    statuses, refused_socket, cors = clientsim.run(run())
    assert statuses == [200, 403, 403, 200]
    assert refused_socket == 403
    assert cors == f'http://127.0.0.1:{port}'
    assert len(server.timeline.of_kind('request_refused')) == 3


def test_item5_allowed_hosts_option(clientsim):
    server = EmbeddedServer(allowed_hosts=['lab.example'])

    async def run():
        await server.start()
        port = server.url.rsplit(':', 1)[1]
        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(server.url + '/', headers={'Host': f'lab.example:{port}',
                                                                  'Origin': 'http://lab.example'}) as r:
                    allowed = r.status
                async with session.get(server.url + '/', headers={'Host': 'other.example'}) as r:
                    other = r.status
        finally:
            await server.stop()
        return allowed, other
    assert clientsim.run(run()) == (200, 403)


def _steal(clientsim, lab) -> tuple[int, list[int]]:
    """alice (download after 300 ms) clicks Download on the auto-index page with download_target sender; bob, who
    got no download event, GETs alice's single-use URL with his own browser session before she does."""
    async def run():
        alice = await lab.open('alice', '/', latency={'download_ms': 300})
        bob = await lab.open('bob', '/')
        await alice.click('Download')
        event = await _wait_event(lab, 'download_emitted')
        with bob.context.routing():  # bob's browser profile: his cookies
            async with bob._session.get(lab.url + event.detail['url']) as r:
                stolen = r.status
        await alice.wait_for(lambda b: bool(b.downloads), 3)
        assert bob.download_events == 0
        return stolen, [d.status for d in alice.downloads]
    return clientsim.run(run())


async def _wait_event(lab, kind: str):
    assert await until(lambda: lab.timeline.of_kind(kind)), f'no {kind}'
    return lab.timeline.of_kind(kind)[-1]


def test_item6_routes_not_bound_by_default_nicegui_behaviour(clientsim, clientsim_lab_factory):
    lab = clientsim_lab_factory(download_target='sender')
    assert _steal(clientsim, lab) == (200, [404])


def test_item6_download_binding_session_binds_routes_to_the_sender(clientsim, clientsim_lab_factory):
    lab = clientsim_lab_factory(download_target='sender', download_binding='session')
    assert _steal(clientsim, lab) == (403, [200])
    assert lab.timeline.of_kind('download_refused')
    assert lab.server.errors == []


def test_item10_undecodable_packets_are_recorded_and_logged_once(clientsim, clientsim_server, loop_errors, caplog):
    server = clientsim_server

    async def run():
        sock = await RawSocket.connect(server.url)
        for frame in ['4{not json', '4', '49', '42["x"', '45-["event",{"_placeholder":true,"num":0}]']:
            await sock.send(frame)
        await until(lambda: len([e for e in _bad(server, sock.sid) if e.detail['event'] == '(undecodable)']) >= 3)
        ack = await sock.handshake(await page_client_id(server.url, '/'))
        await sock.close()
        return sock.sid, ack
    with caplog.at_level(logging.WARNING):
        sid, ack = clientsim.run(run())
    undecodable = [e for e in _bad(server, sid) if e.detail['event'] == '(undecodable)']
    assert len(undecodable) >= 3 and ack is True
    assert server.errors == [] and loop_errors == []
    assert not [r for r in caplog.records if r.exc_info], 'no library traceback reaches the log at WARNING'


def test_item10_server_errors_logged_as_one_summary_line(clientsim, clientsim_server, caplog):
    server = clientsim_server
    for i in range(20):
        server.record_error(KeyError(i), where='test')
    with caplog.at_level(logging.INFO, logger='clientsim.server'):
        clientsim.run(server.stop())
    lines = [r for r in caplog.records if r.levelno >= logging.INFO and r.name == 'clientsim.server']
    assert len(lines) == 1 and '20 server error(s)' in lines[0].getMessage()
