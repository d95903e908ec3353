"""Single-use download routes and download targeting.

NiceGUI 2.11.0 ``ui.download(path)`` registers ``/_nicegui/auto/static/<hash>/<name>`` with
``single_use=True``: the route is removed from the router inside its first request's handler, so requests
that were already routed still succeed and later ones get 404 (``nicegui/app/app.py`` ``add_static_file``).
That handler (``def read_item``) is sync, so Starlette runs it on its thread pool: whether a second GET that
arrived at the same moment is matched before the route is gone depends on thread scheduling. Measured on
2.11.0, tied GETs all got 200 in 28 of 51 races and only one got 200 in 23 of 51; with 1-5 ms between GETs
two 200s still happened now and then. ``policy.single_use_removal``:

* ``thread_pool`` (default) - :func:`removal_delay_ms` draws, from the server's seeded ``random.Random``, when
  the route goes after its first GET: at once (probability :data:`AT_ONCE_SHARE`, a tied GET gets 404), or
  after at least one loop tick plus an exponential delay (mean :data:`MEAN_DELAY_MS`, at most
  :data:`MAX_DELAY_MS`), so ties give both outcomes and GETs 50 ms apart never two 200s;
* ``next_tick`` - one loop tick later, always (tied GETs all get 200: the model before the measurement).

A route nobody fetches (measured with clientsim windows against real NiceGUI, tests/test_single_use_route_unfetched.py):
NiceGUI 2.11.0 keeps it for the app's lifetime (``add_static_file(single_use=True)`` removes it only inside its first
GET; still 200 after its client was deleted and pruned) — the default here; NiceGUI 3.18.0 removes it when its client
is deleted (``ui.download.file`` registers ``client.on_delete(remove_route)``):
``policy.single_use_removed_with_client`` (:meth:`SingleUseRoutes.on_client_delete`, a delete hook). Neither expires
it.

Two hardening knobs NiceGUI does not have (both in :class:`clientsim.server.policy.ServerPolicy`):

* ``single_use_unfetched_s`` — a route nobody fetches is dropped after this many seconds (0, the default: never).
* ``download_binding`` — ``session`` binds a route to the browser session (the :data:`BROWSER_COOKIE` cookie the
  page GET sets) of the socket whose event registered it; a GET from another session gets 403 and leaves the
  route in place. ``none`` is NiceGUI's behaviour: anyone holding the URL may fetch it once.
"""
from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import random
import time
import uuid
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, Optional

from aiohttp import web

from clientsim import assets
from clientsim.simulator.timeline import SERVER

from .context import ServerContext

ROUTE_PREFIX = '/_nicegui/auto/static'
FILES_DIR = assets.path('files')
AT_ONCE_SHARE = 23 / 51
"""Share of first GETs whose route is removed before a tied GET is matched (measured on 2.11.0: 23 of 51)."""
MEAN_DELAY_MS = 1.5
"""Mean of the exponential removal delay otherwise, in ms (two 200s 1-5 ms apart happen "now and then")."""
MAX_DELAY_MS = 10.0
"""Cap of the removal delay, in ms (well below the 50 ms steps of the library's download races)."""


def removal_delay_ms(rng: random.Random) -> float:
    """One draw of the thread-pool model: 0.0 (removed at once) with probability :data:`AT_ONCE_SHARE`, else
    ``min(expovariate(1 / MEAN_DELAY_MS), MAX_DELAY_MS)`` ms (removed after one loop tick plus that)."""
    if rng.random() < AT_ONCE_SHARE:
        return 0.0
    return min(rng.expovariate(1 / MEAN_DELAY_MS), MAX_DELAY_MS)


BROWSER_COOKIE = 'clientsim_browser'
"""Cookie the page GET sets once per browser (HTTP session): the session a bound single-use route belongs to."""


def browser_of_cookie_header(header: Optional[str]) -> Optional[str]:
    """The :data:`BROWSER_COOKIE` value in a ``Cookie`` header, or None (also for a malformed header)."""
    if not header:
        return None
    try:
        morsel = SimpleCookie(header).get(BROWSER_COOKIE)
    except CookieError:
        return None
    return morsel.value if morsel is not None else None


@dataclass
class SingleUseRoute:
    """A registered single-use route: ``url`` → ``path`` on disk; ``used`` counts served GETs."""
    key: str
    path: Path
    url: str
    used: int = 0
    removed: bool = False
    session: Optional[str] = None  # the browser session the route is bound to (policy download_binding)
    client_id: Optional[str] = None  # the client whose download registered it (policy single_use_removed_with_client)
    created: float = 0.0  # time.monotonic() seconds


class SingleUseRoutes:
    """The single-use routes of one server. Grace period from ``policy.single_use_grace_s`` (seconds), lifetime
    of never-fetched routes from ``policy.single_use_unfetched_s`` (seconds), binding from
    ``policy.download_binding``.

    ``SingleUseRoutes(server, rng)`` with ``server`` a :class:`ServerContext` (its ``policy`` and ``timeline``
    are read) and ``rng`` the server's seeded generator that :func:`removal_delay_ms` draws from (one draw per
    route). ``browsers`` maps sid → browser session id (kept by the socket handlers from the connect's cookie)."""

    def __init__(self, server: ServerContext, rng: Optional[random.Random] = None) -> None:
        self.server = server
        self.rng = rng or random.Random()
        self.routes: dict[str, SingleUseRoute] = {}
        self.browsers: dict[str, Optional[str]] = {}
        self._timers: set[asyncio.TimerHandle] = set()

    def register(self, path: Path, sid: Optional[str] = None, client_id: Optional[str] = None) -> SingleUseRoute:
        """Register ``path`` under a new single-use URL for ``client_id``; with ``policy.download_binding ==
        'session'`` bound to the browser session of socket ``sid``. The expiry timer starts only inside a running
        loop. Raises FileNotFoundError if ``path`` does not exist."""
        if not path.is_file():
            raise FileNotFoundError(path)
        key = hashlib.sha256(f'{path}{uuid.uuid4()}'.encode()).hexdigest()[:32]
        policy = self.server.policy
        session = self.browsers.get(sid) if sid is not None and policy.download_binding == 'session' else None
        route = SingleUseRoute(key, path, f'{ROUTE_PREFIX}/{key}/{path.name}', session=session,
                               created=time.monotonic(), client_id=client_id)
        self.routes[key] = route
        if policy.single_use_unfetched_s > 0:
            self._later(policy.single_use_unfetched_s, self._expire, key)
        return route

    def _later(self, delay_s: float, callback: Any, key: str) -> None:
        def run() -> None:
            self._timers.discard(timer)
            callback(key)
        try:
            timer = asyncio.get_running_loop().call_later(delay_s, run)
        except RuntimeError:  # registered outside the server's loop (a test): no timer
            return
        self._timers.add(timer)

    def _expire(self, key: str) -> None:
        route = self.routes.get(key)
        if route is not None and route.used == 0:
            self._remove(key)
            self.server.timeline.record(SERVER, 'single_use_route_expired', url=route.url)

    def on_client_delete(self, client: Any) -> None:
        """Delete hook: with ``policy.single_use_removed_with_client`` remove the client's routes nobody fetched
        (NiceGUI 3.18.0); records ``single_use_route_removed_with_client`` per route."""
        if not self.server.policy.single_use_removed_with_client:
            return
        for key, route in list(self.routes.items()):
            if route.client_id == client.id and route.used == 0:
                self._remove(key)
                self.server.timeline.record(SERVER, 'single_use_route_removed_with_client', url=route.url,
                                            client_id=client.id)

    def _remove(self, key: str) -> None:
        route = self.routes.pop(key, None)
        if route is not None:
            route.removed = True

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for ``ROUTE_PREFIX/{key}/{name}``: the file's bytes, or 404 once removed."""
        key = request.match_info['key']
        route: Optional[SingleUseRoute] = self.routes.get(key)
        if route is None or route.path.name != request.match_info['name']:
            return web.Response(status=404, text='404: not found (single-use route already used or unknown)')
        if route.session is not None and browser_of_cookie_header(request.headers.get('Cookie')) != route.session:
            self.server.timeline.record(SERVER, 'download_refused', url=route.url, status=403,
                                        reason='another browser session')
            return web.Response(status=403, text='403: this download belongs to another browser session')
        policy = self.server.policy
        grace = policy.single_use_grace_s
        if grace <= 0 and policy.single_use_removal == 'thread_pool':
            route.used += 1
            delay_ms = removal_delay_ms(self.rng) if route.used == 1 else 0.0
            if delay_ms <= 0:
                self._remove(key)  # the thread ran before any other GET was matched
            else:  # after at least one tick: tied GETs are matched first
                self._later(delay_ms / 1000 + 1e-4, self._remove, key)
            return self._file_response(route)
        await asyncio.sleep(0)  # routed; the handler runs on the next tick, as in Starlette
        route.used += 1
        if grace <= 0:
            self._remove(key)
        elif route.used == 1:
            self._later(grace, self._remove, key)
        return self._file_response(route)

    @staticmethod
    def _file_response(route: SingleUseRoute) -> web.Response:
        media_type = mimetypes.guess_type(route.path.name)[0] or 'application/octet-stream'
        return web.Response(body=route.path.read_bytes(), content_type=media_type,
                            headers={'Content-Disposition': f'attachment; filename="{route.path.name}"'})

    def close(self) -> None:
        """Cancel grace timers and drop all routes (server stop)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.routes.clear()
        self.browsers.clear()


def sample_file(name: str = 'sample.txt') -> Path:
    """Path of a sample file in ``assets/files/``. Raises FileNotFoundError if it is missing."""
    path = FILES_DIR / name
    if not path.is_file():
        raise FileNotFoundError(path)
    return path
