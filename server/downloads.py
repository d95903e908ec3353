"""Single-use download routes and download targeting.

NiceGUI 2.11.0 ``ui.download(path)`` registers ``/_nicegui/auto/static/<hash>/<name>`` with
``single_use=True``: the route is removed from the router inside its first request's handler, so requests
that were already routed still succeed and later ones get 404 (``nicegui/app/app.py`` ``add_static_file``).
That handler (``def read_item``) is sync, so Starlette runs it on its thread pool: the route goes when a pool
thread wakes up. ``policy.single_use_removal``:

* ``thread_pool`` (default) - :class:`clientsim.server.removal.RemovalModel`: the wake-up time is drawn from the
  route's seeded generator (policy ``removal_wake_ms``, ``removal_busy_share``, ``route_match_ms``), tied GETs
  are matched ``route_match_ms`` apart in a seeded order under virtual time;
* ``next_tick`` - one loop tick later, always (tied GETs all get 200: the model before the measurement).

A route nobody fetches (measured with clientsim windows against real NiceGUI, tests/test_single_use_route_unfetched.py):
NiceGUI 2.11.0 keeps it for the app's lifetime (``add_static_file(single_use=True)`` removes it only inside its first
GET; still 200 after its client was deleted and pruned) — the default here; NiceGUI 3.18.0 removes it when its client
is deleted (``ui.download.file`` registers ``client.on_delete(remove_route)``):
``policy.single_use_removed_with_client`` (:meth:`SingleUseRoutes.on_client_delete`, a delete hook). Neither expires
it.

Every GET of a single-use URL is stamped ``download_served`` (``status``, ``url``, ``window`` from the
``X-Clientsim-Window`` header, ``wake_ms`` for the first), so a report can account for each GET.

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
import uuid
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, Optional

from aiohttp import web

from clientsim import assets
from clientsim.simulator.timeline import SERVER, is_virtual_clock, now_ns, now_s

from .context import ServerContext
from .removal import RemovalModel, tie_order
from .wire import WINDOW_HEADER

ROUTE_PREFIX = '/_nicegui/auto/static'
FILES_DIR = assets.path('files')
TIE_WAIT_S = 1e-6
"""Virtual seconds a GET waits before it learns its place among the GETs of its instant (1 µs)."""
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
    created: float = 0.0  # now_s() seconds
    rng: random.Random = field(default_factory=random.Random)  # this route's draws (wake-up, tie order)
    ties: dict[int, list[str]] = field(default_factory=dict)  # virtual instant (ns) -> windows whose GET came then
    orders: dict[int, list[str]] = field(default_factory=dict)  # virtual instant (ns) -> seeded matching order


class SingleUseRoutes:
    """The single-use routes of one server. Grace period from ``policy.single_use_grace_s`` (seconds), lifetime
    of never-fetched routes from ``policy.single_use_unfetched_s`` (seconds), binding from
    ``policy.download_binding``.

    ``SingleUseRoutes(server, rng)`` with ``server`` a :class:`ServerContext` (its ``policy`` and ``timeline``
    are read) and ``rng`` the server's seeded generator; each route gets its own generator seeded from it at
    registration (routes register in a run's event order, so a seed fixes every route's draws).
    ``browsers`` maps sid → browser session id (kept by the socket handlers from the connect's cookie)."""

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
                               created=now_s(), rng=random.Random(self.rng.getrandbits(64)), client_id=client_id)
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
            return self._not_found(None, request.headers.get(WINDOW_HEADER) or '', request.path)
        if route.session is not None and browser_of_cookie_header(request.headers.get('Cookie')) != route.session:
            self.server.timeline.record(SERVER, 'download_refused', url=route.url, status=403,
                                        reason='another browser session')
            return web.Response(status=403, text='403: this download belongs to another browser session')
        policy = self.server.policy
        grace = policy.single_use_grace_s
        window = request.headers.get(WINDOW_HEADER) or ''
        if grace <= 0 and policy.single_use_removal == 'thread_pool':
            model = RemovalModel(policy.removal_wake_ms, policy.removal_busy_share, policy.route_match_ms)
            if is_virtual_clock():  # the k-th GET of an instant, in a seeded order, is matched k * match_ms later
                position = await self._tie_position(route, window)
                if position:
                    await asyncio.sleep(position * model.match_ms / 1000)
                if route.removed:
                    return self._not_found(route, window)
            route.used += 1
            if route.used > 1:
                return self._served(route, window)
            wake_ms = model.draw_wake_ms(route.rng)
            if wake_ms <= 0:
                self._remove(key)  # the thread ran before any other GET was matched
            else:
                self._later(wake_ms / 1000, self._remove, key)
            return self._served(route, window, wake_ms=round(wake_ms, 3))
        await asyncio.sleep(0)  # routed; the handler runs on the next tick, as in Starlette
        route.used += 1
        if grace <= 0:
            self._remove(key)
        elif route.used == 1:
            self._later(grace, self._remove, key)
        return self._served(route, window)

    async def _tie_position(self, route: SingleUseRoute, window: str) -> int:
        """Virtual time: wait until every GET of this instant arrived (virtual time passes only when the loop is
        idle), then return this GET's place in the route's seeded order of the instant."""
        instant = now_ns()
        group = route.ties.setdefault(instant, [])
        name = f'{window}#{sum(1 for g in group if g.rsplit("#", 1)[0] == window)}'
        group.append(name)
        await asyncio.sleep(TIE_WAIT_S)
        order = route.orders.get(instant)
        if order is None:
            order = route.orders[instant] = tie_order(group, route.rng)
        return order.index(name)

    def _served(self, route: SingleUseRoute, window: str, **detail: Any) -> web.Response:
        self.server.timeline.record(SERVER, 'download_served', window=window or None, url=route.url, status=200,
                                    **detail)
        return self._file_response(route)

    def _not_found(self, route: Optional[SingleUseRoute], window: str, url: str = '') -> web.Response:
        self.server.timeline.record(SERVER, 'download_served', window=window or None,
                                    url=route.url if route is not None else url, status=404)
        return web.Response(status=404, text='404: not found (single-use route already used or unknown)')

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
