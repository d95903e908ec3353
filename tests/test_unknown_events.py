"""Any socket.io event name and payload a window does not speak is recorded as ``bad_message`` (issue 20, item 4):
an event literally named ``*`` with a dict or list payload raised ``TypeError: unhashable`` in the catch-all
handler and was recorded nowhere. Real sockets on 127.0.0.1 against the embedded server."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from .conftest import until
from .rawsocket import RawSocket, page_client_id
from .test_hostile_input_fuzz import FIX_MODE, fuzz, json_values

HANDLED = {'connect', 'handshake', 'disconnect', 'event', 'ack', 'message'}  # 'message': python-socketio's own


def _bad_messages(server) -> list[dict]:
    return [e.detail for e in server.timeline.events if e.kind == 'bad_message']


def test_star_event_with_unhashable_payloads_is_a_bad_message(clientsim, clientsim_server_factory):
    server = clientsim_server_factory(**FIX_MODE)
    unhandled: list[dict] = []
    clientsim.loop.set_exception_handler(lambda loop, context: unhandled.append(context))

    async def go() -> None:
        client_id = await page_client_id(server.url, '/private')
        sock = await RawSocket.connect(server.url, client_id=client_id)
        assert await sock.handshake(client_id) is True
        for payload in ({'a': 1}, [1, 2], {'nested': [{}]}):
            await sock.send('42' + json.dumps(['*', payload]))
        assert await until(lambda: len([d for d in _bad_messages(server) if d.get('event') == '*']) >= 3, 10)
        await sock.close()

    clientsim.run(go(), timeout_s=20)
    stars = [d for d in _bad_messages(server) if d.get('event') == '*']
    assert len(stars) == 3 and all(d.get('reason') == 'unknown event' for d in stars), stars
    assert server.errors == [] and unhandled == []


def test_any_event_name_and_payload_is_recorded(clientsim, clientsim_server_factory):
    """Event names drawn from all strings (Hypothesis), payloads from any JSON: each unknown name gives exactly
    one ``bad_message`` naming it; nothing escapes as an unhandled error."""
    server = clientsim_server_factory(**FIX_MODE)
    unhandled: list[dict] = []
    clientsim.loop.set_exception_handler(lambda loop, context: unhandled.append(context))
    state: dict = {}

    async def socket() -> RawSocket:
        if state.get('sock') is None:
            client_id = await page_client_id(server.url, '/private')
            sock = await RawSocket.connect(server.url, client_id=client_id)
            assert await sock.handshake(client_id) is True
            state['sock'] = sock
        return state['sock']

    async def one(name: str, payloads: list) -> None:
        sock = await socket()
        before = len(_bad_messages(server))
        await sock.send('42' + json.dumps([name, *payloads]))
        assert await until(lambda: len(_bad_messages(server)) > before, 10), (name, payloads)
        recorded = _bad_messages(server)[before]
        assert recorded['event'] == name[:200] and recorded.get('reason') == 'unknown event', recorded

    @fuzz(80)
    @given(st.just('*') | st.text(min_size=1, max_size=30).filter(lambda n: n not in HANDLED),
           st.lists(json_values, max_size=3))
    def check(name: str, payloads: list) -> None:
        clientsim.run(one(name, payloads), timeout_s=15)
        assert server.errors == [] and unhandled == [], (server.errors[-1:], unhandled[:1])

    check()
    if state.get('sock') is not None:
        clientsim.run(state['sock'].close(), timeout_s=10)
