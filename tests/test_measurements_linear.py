"""The linear ``measurements_of`` (events indexed once, issue 24) gives exactly what the quadratic one gave
(tests/measurements_reference.py): on the events of real scenario runs and on generated event lists."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from clientsim.simulator.measurements import measurements_of

from . import measurements_reference as reference
from .conftest import play


def test_equal_on_library_runs():
    for name in ('download_race_auto_index.yaml', 'double_delete.yaml', 'fast_navigation.yaml',
                 'download_private_pages.yaml'):
        events = play(name)['events']
        assert len(events) > 20
        assert measurements_of(events) == reference.measurements_of(events), name


KINDS = ('socket_connected_client', 'handshake_handled', 'handshake_acked', 'disconnect_client', 'disconnect_server',
         'client_deleted', 'client_created', 'download_event', 'download_get', 'page_get_sent')
event = st.fixed_dictionaries({
    't_ms': st.integers(0, 50).map(float),  # few distinct times: ties, as on a busy loop
    'source': st.sampled_from(['server', 'w1', 'w2', 'w3', None]),
    'kind': st.sampled_from(KINDS),
    'sid': st.sampled_from(['s1', 's2', 's3', None]),
    'client_id': st.sampled_from(['c1', 'c2', None]),
    'detail': st.sampled_from([{}, {'by': 'client'}, {'by': 'server'}, {'ok': True}, {'ok': False},
                               {'page': 'auto_index'}, {'status': 200}, {'reason': 'timeout'}]),
})


@settings(max_examples=300, deadline=None)
@given(st.lists(event, max_size=60))
def test_equal_on_generated_events(events):
    assert measurements_of(events) == reference.measurements_of(events)
