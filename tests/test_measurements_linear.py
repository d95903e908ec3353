"""The linear ``measurements_of`` (events indexed once, issue 24) gives exactly what the quadratic one gave
(tests/measurements_reference.py): on the events of real scenario runs and on generated event lists."""
from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from clientsim.simulator.measurements import measurements_of

from . import measurements_reference as reference
from .conftest import play


def test_equal_on_library_runs():
    for name in ('download_race_auto_index.yaml', 'double_delete.yaml', 'fast_navigation.yaml',
                 'download_private_pages.yaml'):
        events = play(name).model_dump(mode='json')['events']
        assert len(events) > 20
        assert measurements_of(events) == reference.measurements_of(events), name


KINDS = ('socket_connected_client', 'handshake_handled', 'handshake_acked', 'disconnect_client', 'disconnect_server',
         'client_deleted', 'client_created', 'download_event', 'download_get', 'page_get_sent')
event = st.fixed_dictionaries({
    't_ms': st.integers(0, 8).map(float),  # few distinct times: ties, as on a busy loop
    'source': st.sampled_from(['server', 'w1', 'w2', None]),
    'kind': st.sampled_from(KINDS),
    'sid': st.sampled_from(['s1', 's2', None]),
    'client_id': st.sampled_from(['c1', 'c2', None]),
    'detail': st.sampled_from([{}, {'by': 'client'}, {'ok': True}, {'page': 'auto_index'}, {'status': 200}]),
})


def ev(t_ms: float, source: str, kind: str, sid=None, client_id=None, **detail) -> dict:
    return {'t_ms': t_ms, 'source': source, 'kind': kind, 'sid': sid, 'client_id': client_id, 'detail': detail}


SAME_TIME_DELETE = [  # a client deleted in the same ms as its window closed (a tie the index must keep)
    ev(5.0, 'w1', 'disconnect_client', 's1', 'c1', by='client'), ev(5.0, 'server', 'client_deleted', None, 'c1')]
TWO_HANDLED = [  # the first handshake_handled of a sid counts, not a later one
    ev(1.0, 'w1', 'socket_connected_client', 's1', 'c1'), ev(2.0, 'server', 'handshake_handled', 's1', 'c1'),
    ev(3.0, 'server', 'handshake_handled', 's1', 'c1'), ev(4.0, 'w1', 'handshake_acked', 's1', 'c1', ok=True),
    ev(5.0, 'w1', 'handshake_acked', 's1', 'c1', ok=False)]


@settings(max_examples=500, deadline=None)
@example(SAME_TIME_DELETE)
@example(TWO_HANDLED)
@given(st.lists(event, max_size=40))
def test_equal_on_generated_events(events):
    assert measurements_of(events) == reference.measurements_of(events)
