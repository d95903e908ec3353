"""Protocol behaviour through real sockets on 127.0.0.1: handshake ack, message ids, malformed messages,
page HTML, server start/stop. Servers and windows come from the project's pytest plugin (a started
:class:`clientsim.simulator.lab.Lab`; ``clientsim.run`` drives a coroutine on its loop)."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio

from clientsim.server.app import SOCKETIO_PATH
from clientsim.simulator.browser import HANDSHAKE_DONE, parse_page

from .conftest import until


async def raw_client(url: str, client_id: str) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    await sio.connect(f'{url}?client_id={client_id}&next_message_id=0', socketio_path=SOCKETIO_PATH,
                      transports=['websocket'])
    return sio


def test_handshake_ack_false_for_unknown_client_id(clientsim, clientsim_server):
    async def go():
        sio = await raw_client(clientsim_server.url, '00000000-0000-0000-0000-000000000000')
        unknown = await sio.call('handshake', {'client_id': '00000000-0000-0000-0000-000000000000',
                                               'document_id': 'd', 'tab_id': 't', 'next_message_id': 0})
        shared_id = clientsim_server._shared_clients['/'].id
        known = await sio.call('handshake', {'client_id': shared_id, 'document_id': 'd2', 'tab_id': 't',
                                             'next_message_id': 0})
        await sio.disconnect()
        return unknown, known
    assert clientsim.run(go()) == (False, True)


def test_messages_with_old_id_are_dropped(clientsim, clientsim_lab):
    server, timeline = clientsim_lab.server, clientsim_lab.timeline

    async def go():
        browser = await clientsim_lab.open('alice', '/private')
        client = server.registry.get(browser.client_id)
        await client.send('notify', {'message': 'first'})
        await client.send('notify', {'message': 'second'})
        await browser.wait_for(lambda b: len(b.notifications) == 2)
        # a stale message (id 0 again) must be dropped, like nicegui.js does
        await server.sio.emit('notify', {'message': 'stale', '_id': 0}, room=client.id)
        await browser.wait_for(lambda b: any(e.kind == 'message_dropped' for e in timeline.events))
        await client.send('notify', {'message': 'third'})
        await browser.wait_for(lambda b: len(b.notifications) == 3)
        return browser.notifications, browser.next_message_id
    notes, next_id = clientsim.run(go())
    assert notes == ['first', 'second', 'third']
    assert next_id == 3


def test_malformed_messages_do_not_break_the_server(clientsim, clientsim_lab):
    timeline = clientsim_lab.timeline

    async def go():
        browser = await clientsim_lab.open('alice', '/')
        sio = await raw_client(clientsim_lab.url, 'not-a-client')
        assert await sio.call('handshake', 'garbage') is False
        assert await sio.call('handshake', None) is False
        await sio.emit('event', 'not a dict')
        await sio.emit('event', {'client_id': 42, 'listener_id': None})
        await sio.emit('no_such_event', {'x': 1})
        # emits are fire-and-forget: wait (deadline) until the server has seen them
        await until(lambda: len(timeline.of_kind('bad_message')) >= 4)
        await sio.disconnect()  # a socket without handshake and an unknown client_id: no client, no error
        await asyncio.sleep(0.1)
        await browser.click('Download')  # still serving
        await browser.wait_for(lambda b: b.downloads, timeout=3)
        return [e.detail.get('event') for e in timeline.of_kind('bad_message')], browser.downloads[0].status
    bad, status = clientsim.run(go())
    assert bad.count('handshake') == 2 and 'event' in bad and 'no_such_event' in bad
    assert status == 200


def test_page_html_carries_config_and_elements(clientsim, clientsim_server):
    url = clientsim_server.url

    async def go():
        async with aiohttp.ClientSession() as session:
            async with session.get(url + '/private') as r1, session.get(url + '/private') as r2:
                p1, p2 = parse_page(await r1.text()), parse_page(await r2.text())
            async with session.get(url + '/') as r3, session.get(url + '/') as r4:
                a1, a2 = parse_page(await r3.text()), parse_page(await r4.text())
            async with session.get(url + '/nope') as r5:
                missing = r5.status
        return p1, p2, a1, a2, missing
    p1, p2, a1, a2, missing = clientsim.run(go())
    assert p1['client_id'] != p2['client_id'], 'private page: a new client per load'
    assert a1['client_id'] == a2['client_id'], 'auto-index page: one client for every tab'
    labels = [e.get('props', {}).get('label') for e in p1['elements'].values()]
    assert 'Download' in labels
    assert missing == 404


@pytest.mark.clientsim_policy(disconnect_guard=True)
def test_server_stops_and_starts_cleanly(clientsim, clientsim_lab):
    server = clientsim_lab.server

    async def go():
        urls = []
        for i in range(3):
            url = server.url if i == 0 else await server.start()  # the lab started it the first time
            urls.append(url)
            browser = await clientsim_lab.open(f'w{i}', url + '/private')
            assert browser.state == HANDSHAKE_DONE
            await server.stop()
            await browser.wait_for(lambda b: b.state != HANDSHAKE_DONE, timeout=3)  # the server closed the socket
            await browser.close()
            assert not server.running and server.registry.instances == {}
            async with aiohttp.ClientSession() as session:
                with pytest.raises(aiohttp.ClientConnectionError):
                    await session.get(url + '/')
        await server.stop()  # stopping a stopped server is fine
        return urls, server.errors
    urls, errors = clientsim.run(go())
    assert len(set(urls)) >= 1 and errors == []
