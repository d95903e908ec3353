"""Browser contexts (issue 24): tabs of one context share cookies, separate contexts (and, by default, separate
windows) do not — through real sockets on the embedded server, and on real NiceGUI 3.18.0's ``app.storage.user``."""
from __future__ import annotations

import asyncio

import pytest

from clientsim.server.policy import ServerPolicy
from clientsim.simulator.browser import HANDSHAKE_DONE, BrowserContext
from clientsim.simulator.browser.context import BrowserConnector
from clientsim.simulator.lab import Lab
from clientsim.simulator.scenario import parse_scenario

from .conftest import ROOT, failed_checks, nicegui_python_or_skip

BINDING = ServerPolicy(download_binding='session')  # the embedded server sets its browser cookie under this policy


def browser_ids(lab: Lab, *names: str) -> list[str | None]:
    """The browser session the server recorded from each window's socket connect (its ``Cookie`` header)."""
    assert lab.server is not None
    return [lab.server.downloads.browsers.get(lab.window(n).sid) for n in names]


def test_tabs_of_one_context_share_cookies_separate_contexts_do_not():
    async def main() -> None:
        async with Lab(BINDING) as lab:
            lab.add('a1', context='alice')
            lab.add('a2', context='alice')
            lab.add('b', context='bob')
            lab.add('loner')  # no context: a browser of its own
            for name in ('a1', 'a2', 'b', 'loner'):  # one after the other: a1's page sets the cookie a2 sends
                await lab.open(name, '/private')
                assert lab.window(name).state == HANDSHAKE_DONE
            a1, a2, b, loner = browser_ids(lab, 'a1', 'a2', 'b', 'loner')
            assert a1 is not None and a1 == a2
            assert len({a1, b, loner}) == 3 and None not in (b, loner)
            assert lab.window('a1').context is lab.window('a2').context is lab.contexts['alice']
            assert lab.window('a1').context.cookies() == lab.window('a2').context.cookies()
            assert lab.window('a1').tab_id != lab.window('a2').tab_id  # sessionStorage stays per tab
            assert lab.window('a1').sid != lab.window('a2').sid  # and so does the websocket
    asyncio.run(main())


def test_cookies_outlive_the_tabs_session_closes_with_the_last():
    async def main() -> None:
        async with Lab(BINDING) as lab:
            context = BrowserContext('profile')
            lab.add('t1', context=context)
            lab.add('t2', context=context)
            await lab.open('t1', '/')
            await lab.open('t2', '/')
            first = browser_ids(lab, 't1')[0]
            session = context.session
            # the tabs' websockets go through the context's session, each on a TCP connection of its own that
            # never enters the keep-alive pool of the page GETs
            assert lab.window('t1')._connection.sio.eio.http is lab.window('t2')._connection.sio.eio.http is session
            assert isinstance(session.connector, BrowserConnector) and session.connector.sockets.force_close
            await lab.window('t1').close()
            assert context.session is session and not session.closed and context.tabs == 1
            await lab.window('t2').close()
            assert context.session is None and session.closed and context.tabs == 0
            await lab.window('t2').open(lab.url_for('/'))  # the profile's cookie is still there
            assert browser_ids(lab, 't2') == [first]
    asyncio.run(main())


def test_new_and_duplicated_tabs_join_the_openers_context():
    async def main() -> None:
        async with Lab(BINDING) as lab:
            await lab.open('alice', '/')
            copy = await lab.duplicate('alice', 'alice2')
            assert copy.context is lab.window('alice').context
            assert browser_ids(lab, 'alice') == browser_ids(lab, 'alice2')
    asyncio.run(main())


def test_scenario_context_field():
    text = ('name: c\nwindows:\n  - {name: a, context: shop}\n  - {name: b, context: shop}\n  - {name: c}\n'
            'steps:\n  - open: all\n')
    scenario = parse_scenario(text)
    assert [w.context for w in scenario.windows] == ['shop', 'shop', None]
    with pytest.raises(Exception, match=r'context'):
        parse_scenario(text.replace('context: shop}', 'context: ""}', 1))


@pytest.mark.network
def test_real_nicegui_storage_user_is_per_browser(tmp_path):
    """Library scenario on NiceGUI 3.18.0: alice's two tabs count one app.storage.user (visits 1, 2), bob's browser
    its own (visits 1). The same scenario without ``context:`` fails: every window is then a browser of its own."""
    from clientsim.simulator.matrix import play_version
    from clientsim.simulator.scenario import load_scenario
    python = nicegui_python_or_skip('3.18.0')
    path = ROOT / 'assets' / 'scenarios' / 'real' / 'browser_context_storage_user.yaml'
    report = asyncio.run(play_version(load_scenario(path), '3.18.0', python))
    assert report.passed, failed_checks(report)
    apart = tmp_path / 'apart.yaml'
    apart.write_text(path.read_text().replace(', context: alice}', '}').replace(', context: bob}', '}')
                     .replace('../../apps/', str(ROOT / 'assets' / 'apps') + '/'))
    report = asyncio.run(play_version(load_scenario(apart), '3.18.0', python))
    assert any('alice2' in name and 'user visits: 2' in name for name in failed_checks(report)), failed_checks(report)
