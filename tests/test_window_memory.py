"""What a window holds (issue 24): the loop's one HTTP session with cookies routed per browser context, timeline
events without per-event dicts, no idle task set, shared element-tree texts — each through real sockets on
127.0.0.1 where a socket is involved."""
from __future__ import annotations

import asyncio
import pickle

import pytest
from aiohttp import web
from yarl import URL

from clientsim.server.policy import ServerPolicy
from clientsim.simulator.browser import HANDSHAKE_DONE, BrowserContext
from clientsim.simulator.lab import Lab
from clientsim.simulator.timeline import Timeline, TimelineEvent

from .conftest import until

BINDING = ServerPolicy(download_binding='session')  # the embedded server sets its browser cookie under this policy


def test_contexts_loading_at_once_keep_their_own_cookies():
    """Eight browsers open their first tab at the same moment, then their second: each pair shares the browser
    cookie its first page set, and the eight differ. A jar shared by all, or a request routed to the context of
    another task, gives pairs that differ or browsers that share."""
    async def main() -> None:
        async with Lab(BINDING) as lab:
            names = [f'b{i}' for i in range(8)]
            for name in names:
                lab.add(f'{name}-1', context=name)
                lab.add(f'{name}-2', context=name)
            for tab in ('1', '2'):
                await asyncio.gather(*(lab.open(f'{name}-{tab}', '/') for name in names))
            assert lab.server is not None
            ids = {name: [lab.server.downloads.browsers.get(lab.window(f'{name}-{t}').sid) for t in '12']
                   for name in names}
            assert all(first is not None and first == second for first, second in ids.values()), ids
            assert len({first for first, _ in ids.values()}) == 8, ids
            session = lab.window('b0-1')._session
            assert all(lab.window(f'{n}-{t}')._session is session for n in names for t in '12')  # one session
    asyncio.run(main())


def test_a_redirect_keeps_its_cookie_for_the_next_hop_and_for_its_context_only():
    """A login-style 302 with ``Set-Cookie`` on a real aiohttp server: the next hop already carries the cookie,
    another context's request carries none, and a request outside ``routing()`` raises."""
    async def login(request: web.Request) -> web.Response:
        response = web.HTTPFound('/home')
        response.set_cookie('session', 'alice-token')
        raise response

    async def home(request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get('Cookie', '(none)'))

    async def main() -> tuple[str, str, str]:
        app = web.Application()
        app.router.add_get('/login', login)
        app.router.add_get('/home', home)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, '127.0.0.1', 0)
        await site.start()
        url = f'http://127.0.0.1:{runner.addresses[0][1]}'
        alice, bob = BrowserContext('alice'), BrowserContext('bob')
        session = alice.join()
        assert bob.join() is session
        try:
            with alice.routing():
                async with session.get(url + '/login') as response:
                    after_redirect = await response.text()
            with bob.routing():
                async with session.get(url + '/home') as response:
                    bobs = await response.text()
            with alice.routing():
                async with session.get(url + '/home') as response:
                    alices = await response.text()
            with pytest.raises(RuntimeError, match='routing'):
                await session.get(url + '/home')
            return after_redirect, bobs, alices
        finally:
            await alice.leave()
            await bob.leave()
            assert session.closed
            await runner.cleanup()

    after_redirect, bobs, alices = asyncio.run(main())
    assert after_redirect == 'session=alice-token'
    assert bobs == '(none)'
    assert alices == 'session=alice-token'


def test_timeline_events_keep_values_and_share_key_tuples():
    timeline = Timeline()
    first = timeline.record('w1', 'page_get_answered', window='w1', url='http://x/', status=200)
    second = timeline.record('w2', 'page_get_answered', window='w2', url='http://x/p', status=404)
    plain = timeline.record('w1', 'window_closed')
    assert first.detail == {'url': 'http://x/', 'status': 200} and plain.detail == {}
    assert first._keys is second._keys  # one key tuple for every event with these keys
    assert not hasattr(first, '__dict__')
    first.detail['status'] = 500  # a copy: the event does not change
    assert first.detail['status'] == 200 and first.summary() == 'url=http://x/ status=200'
    copy = pickle.loads(pickle.dumps(first))
    assert copy == first and copy != second and copy.to_dict(timeline.t0_ns) == first.to_dict(timeline.t0_ns)
    assert TimelineEvent(1, 's', 'k', detail={'a': 1}) == TimelineEvent(1, 's', 'k', detail={'a': 1})
    assert TimelineEvent(1, 's', 'k', detail={'a': 1}) != TimelineEvent(1, 's', 'k', detail={'a': 2})


def test_idle_windows_hold_no_task_set_no_cache_set_and_one_tree_text():
    async def main() -> None:
        async with Lab() as lab:
            one, two = await lab.open('one', '/'), await lab.open('two', '/')
            assert one.state == two.state == HANDSHAKE_DONE
            assert one._elements_json is two._elements_json  # the auto-index tree: one text for both
            assert any(e.get('props', {}).get('label') == 'Download' for e in one.elements.values())
            assert one.static_cached is two.static_cached == frozenset()  # nothing fetched: the shared empty set
            for window in (one, two):
                assert await until(lambda w=window: len(w._tasks) == 0, 10)  # the handshake task ends
                assert window._tasks._tasks is None
    asyncio.run(main())


def test_a_shared_session_request_needs_a_context():
    """The routing jar refuses a request that names no browser context (it would go out without its cookies)."""
    async def main() -> None:
        context = BrowserContext()
        session = context.join()
        try:
            with pytest.raises(RuntimeError, match='routing'):
                session.cookie_jar.filter_cookies(URL('http://127.0.0.1/'))
            with context.routing():
                assert len(session.cookie_jar) == 0 and context.cookie_jar is None  # no cookie, no jar
        finally:
            await context.leave()
    asyncio.run(main())
