"""Single-use download routes that are never fetched (issue 26, item 3): what real NiceGUI does and that the embedded
server does the same by default.

Measured on real NiceGUI 2.11.0 and 3.18.0 (``assets/apps/real_app.py``, a private page's Download button): the
window gets the ``download`` event but never GETs the URL; its client is deleted (reconnect_timeout) and the app
prunes; then a GET of the URL. 2.11.0 keeps the route (200: ``add_static_file(single_use=True)`` removes it only in
its first GET); 3.18.0 removed it with the client (404: ``ui.download.file`` registers
``client.on_delete(remove_route)``). Neither expires it by time. The embedded server does the same:
``single_use_removed_with_client`` false (2.11.0, the default) or true (3.18.0); ``single_use_unfetched_s`` > 0 is
its own expiry (hardening)."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest

from clientsim.simulator.target import TargetSpec

from .conftest import ROOT, nicegui_python_or_skip

APP = ROOT / 'assets' / 'apps' / 'real_app.py'
NEVER_MS = 600_000  # the window waits this long before it fetches a download: never, within the test


def _download_src(window) -> str:
    return next(f.payload['src'] for f in window.frames if f.direction == 'received' and f.event == 'download')


async def _unfetched_route_after_client_gone(lab, is_gone) -> tuple[int, str]:
    """Open a private page, click Download without fetching, close; once ``is_gone()`` (the client was deleted),
    GET the route's URL: its status (200: the route was kept) and the URL."""
    window = await lab.open('w', '/private', latency={'download_ms': NEVER_MS})
    await window.click('Download')
    deadline = asyncio.get_running_loop().time() + 15
    while not any(f.event == 'download' for f in window.frames):
        assert asyncio.get_running_loop().time() < deadline, 'no download event'
        await asyncio.sleep(0.05)
    src = _download_src(window)
    await window.close()
    while not is_gone():
        assert asyncio.get_running_loop().time() < deadline + 15, 'the client was never deleted'
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # a few prune runs (every 0.1 s) after the delete
    async with aiohttp.ClientSession() as session:
        async with session.get(lab.url + src) as response:
            return response.status, src


@pytest.mark.network
@pytest.mark.parametrize('version, expected', [('2.11.0', 200), ('3.18.0', 404)], ids=['kept', 'with-client'])
def test_real_nicegui_never_fetched_route_after_its_client_is_deleted(clientsim, clientsim_lab_factory, version,
                                                                      expected):
    python = nicegui_python_or_skip(version)
    spec = TargetSpec(command=[python, str(APP), '{port}', '--reconnect-timeout', '0.2', '--prune-every', '0.1',
                               '--prune-age', '5'], url='http://127.0.0.1:{port}', ready_timeout_s=60)
    lab = clientsim_lab_factory(target=spec)
    target = lab.target

    def gone() -> bool:
        return not any(not shared for shared in target.probe.clients.values())
    status, src = clientsim.run(_unfetched_route_after_client_gone(lab, gone), timeout_s=60)
    assert src.startswith('/_nicegui/auto/static/')
    assert status == expected, '200: the route outlived its client; 404: it was removed with the client'


@pytest.mark.parametrize('with_client, lifetime_s, expected', [(False, 0.0, 200), (True, 0.0, 404), (False, 0.3, 404)],
                         ids=['2.11.0-default', '3.18.0-with-client', 'expiry'])
def test_embedded_server_matches(clientsim, clientsim_lab_factory, with_client, lifetime_s, expected):
    lab = clientsim_lab_factory(single_use_removed_with_client=with_client, single_use_unfetched_s=lifetime_s,
                                reconnect_timeout_s=0.2, prune_interval_s=0.1, prune_age_s=0.3)
    server = lab.server

    def gone() -> bool:
        return not any(not c.shared for c in server.registry.instances.values())
    status, _ = clientsim.run(_unfetched_route_after_client_gone(lab, gone))
    assert status == expected
