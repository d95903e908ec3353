"""``clientsim record --browser none`` does not end while the last page is still booting (issue 26: under load a
real Chromium tab on NiceGUI 2.11.0 was quiet for over a second between its last static file and its socket, and a
1 s ``--end-after-s`` ended the recording under it: the tab's next requests were refused). Real sockets on
127.0.0.1: the embedded server behind the recording proxy."""
from __future__ import annotations

import asyncio
import time

import aiohttp

from clientsim.simulator.browser.state import Latency
from clientsim.simulator.browser.window import SimulatedBrowser
from clientsim.simulator.lab import Lab
from clientsim.simulator.record.session import BOOT_GRACE_S, RecordSession
from clientsim.simulator.timeline import Timeline

END_AFTER_S = 0.2


async def _scenario(tmp_path) -> tuple[bool, float]:
    async with Lab() as lab:
        session = RecordSession(str(tmp_path / 'rec.yaml'), url=lab.url + '/', browser='none',
                                end_after_s=END_AFTER_S)
        await session.start()
        done = asyncio.ensure_future(session.wait_until_done())
        try:
            # a tab that got its page and has not connected its socket yet (it is still booting)
            async with aiohttp.ClientSession() as http:
                async with http.get(session.proxy_url + '/') as response:
                    assert response.status == 200 and 'text/html' in response.headers['Content-Type']
                    await response.read()
            quiet_until = time.monotonic() + 5 * END_AFTER_S
            while time.monotonic() < quiet_until and not done.done():
                await asyncio.sleep(0.05)
            ended_while_booting = done.done()
            # the page boots: its socket opens, then the tab closes; the session ends end_after_s later
            person = SimulatedBrowser('person', Timeline(), Latency(load='instant'))
            try:
                await person.open(session.proxy_url + '/')
            finally:
                # from the start of the close: the proxy sees the socket end during close(), and close() goes on
                # (its HTTP session) after that, for 0.2 s on a busy machine
                closed = time.monotonic()
                await person.close()
            await asyncio.wait_for(done, 30)
            return ended_while_booting, time.monotonic() - closed
        finally:
            done.cancel()
            await session.close()


def test_a_page_without_its_socket_yet_keeps_the_recording_open(tmp_path):
    assert BOOT_GRACE_S >= 30  # a busy machine's slow boot, not a person's pause
    ended_while_booting, ended_after_s = asyncio.run(_scenario(tmp_path))
    assert not ended_while_booting, f'the recording ended {5 * END_AFTER_S} s after a page that had not booted yet'
    assert ended_after_s >= END_AFTER_S  # then the usual rule: no socket, nothing requested for end_after_s
