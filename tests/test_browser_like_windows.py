"""Windows that behave like Chromium (issue #18), checked fast on the embedded server (real sockets, no Chromium;
``tests/test_conformance.py`` compares the same behaviour with real Chromium).

Each behaviour here was a row of ``clientsim conform`` that differed from Chromium before: the ack cadence (2.11.0
windows never acked), navigation order (old socket closed before the new GET), the load model (page GET → handshake
50-150x faster than Chromium), the window name in the connect query, the download's saved filename.
"""
from __future__ import annotations

import asyncio
import random

from clientsim.simulator.browser import HANDSHAKE_DONE, Latency, SimulatedBrowser
from clientsim.simulator.browser.boot import FIRST_LOAD_MS, draw_boot_ms, static_urls
from clientsim.simulator.browser.downloads import saved_filename


def _kinds(timeline, window: str) -> list[tuple[str, int]]:
    return [(e.kind, e.t_ns) for e in timeline.events if e.window == window]


def test_a_2x_page_acks_three_seconds_after_it_started_even_without_messages(clientsim, clientsim_lab):
    async def go():
        window = await clientsim_lab.open('alice', '/')
        started = window.page_loaded_ns
        await window.wait_for(lambda w: w.acks_sent >= 1, 6.0)
        ack = next(f for f in window.frames if f.event == 'ack')
        return window.version, (ack.t_ns - started) / 1e6, ack.payload, window.client_id
    version, after_ms, payload, client_id = clientsim.run(go())
    assert version.startswith('2.')
    assert 2900 <= after_ms <= 4500, after_ms
    assert payload == {'client_id': client_id, 'next_message_id': 0}


def test_navigation_gets_the_new_page_before_the_old_socket_closes(clientsim, clientsim_lab):
    async def go():
        window = await clientsim_lab.open('alice', '/private')
        t0 = window.timeline.events[-1].t_ns
        await window.navigate('/')
        return [(k, t) for k, t in _kinds(window.timeline, 'alice') if t > t0]
    events = clientsim.run(go())
    kinds = [k for k, _ in events]
    assert kinds.index('page_get_answered') < kinds.index('disconnect_client') < kinds.index('socket_connected_client')
    closing = next(e for e in clientsim_lab.timeline.events if e.kind == 'disconnect_client' and e.window == 'alice')
    assert closing.detail['code'] == 1001


def test_the_window_name_travels_in_a_header_not_the_connect_query(clientsim, clientsim_lab):
    async def go():
        await clientsim_lab.open('alice', '/private')
        sid = clientsim_lab.window('alice').sid
        return clientsim_lab.server.sio.get_environ(sid, namespace='/') or {}
    environ = clientsim.run(go())
    assert 'clientsim_window' not in environ['QUERY_STRING'] and '&t=' not in environ['QUERY_STRING']
    assert environ['HTTP_X_CLIENTSIM_WINDOW'] == 'alice'
    assert environ['HTTP_ORIGIN'].startswith('http://127.0.0.1:')
    assert any(e.kind == 'socket_connected_server' and e.window == 'alice' for e in clientsim_lab.timeline.events)


def test_chromium_profile_waits_its_boot_time_and_instant_does_not(clientsim, clientsim_lab):
    async def go():
        slow = await clientsim_lab.open('slow', '/private', latency={'load': 'chromium', 'boot_ms': 400})
        fast = await clientsim_lab.open('fast', '/private')  # the embedded server's default: instant
        spans = {}
        for window in (slow, fast):
            events = dict(_kinds(window.timeline, window.name))
            spans[window.name] = (events['handshake_acked'] - events['page_get_sent']) / 1e6
        return slow.state, fast.state, spans
    slow_state, fast_state, spans = clientsim.run(go())
    assert slow_state == fast_state == HANDSHAKE_DONE
    assert spans['slow'] >= 400 and spans['fast'] < 400, spans


def test_boot_times_follow_chromiums_spread_and_the_runs_seed():
    low, median, high = FIRST_LOAD_MS[3]
    draws = [draw_boot_ms(3, False, random.Random(f'seed:{i}')) for i in range(400)]
    assert all(low <= d <= high for d in draws)
    assert abs(sorted(draws)[200] - median) < 15
    assert draw_boot_ms(2, False, random.Random('a')) == draw_boot_ms(2, False, random.Random('a'))


def test_the_lab_seeds_each_windows_draws_from_the_runs_seed():
    from clientsim.simulator.lab import Lab

    async def go():
        jitter = []
        for seed in (1, 1, 2):
            lab = Lab(seed=seed)
            jitter.append(lab.add('alice').rng.random())
        return jitter
    same_a, same_b, other = asyncio.run(go())
    assert same_a == same_b != other
    assert SimulatedBrowser('alice', latency=Latency()).rng.random() != SimulatedBrowser('alice').rng.random()


def test_static_files_and_saved_filenames_as_chromium_reads_them():
    html = ('<link href="/_nicegui/3.18.0/static/favicon.ico" rel="shortcut icon" />'
            '<style>@import url("/_nicegui/3.18.0/static/fonts.css") layer(base);</style>'
            '<script defer src="/_nicegui/3.18.0/static/nicegui.js"></script>'
            '<script src="https://cdn.example.org/x.js"></script>')
    assert static_urls(html, 'http://127.0.0.1:8000/page') == [
        'http://127.0.0.1:8000/_nicegui/3.18.0/static/favicon.ico',
        'http://127.0.0.1:8000/_nicegui/3.18.0/static/fonts.css',
        'http://127.0.0.1:8000/_nicegui/3.18.0/static/nicegui.js']
    assert saved_filename('report.csv', 'attachment; filename="x.txt"', 'http://h/a/b.bin') == 'report.csv'
    assert saved_filename(None, 'attachment; filename="sample.txt"', 'http://h/a/b.bin') == 'sample.txt'
    assert saved_filename(None, "attachment; filename*=UTF-8''na%C3%AFve.txt", 'http://h/x') == 'naïve.txt'
    assert saved_filename(None, None, 'http://h/_nicegui/auto/static/abc/sample.txt') == 'sample.txt'
    assert saved_filename(None, None, 'http://h/') == 'download'
