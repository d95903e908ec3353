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
"""
from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from aiohttp import web

from .context import ServerContext

ROUTE_PREFIX = '/_nicegui/auto/static'
FILES_DIR = Path(__file__).resolve().parent.parent / 'assets' / 'files'
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


@dataclass
class SingleUseRoute:
    """A registered single-use route: ``url`` → ``path`` on disk; ``used`` counts served GETs."""
    key: str
    path: Path
    url: str
    used: int = 0
    removed: bool = False


class SingleUseRoutes:
    """The single-use routes of one server. Grace period from ``policy.single_use_grace_s`` (seconds).

    ``SingleUseRoutes(server, rng)`` with ``server`` a :class:`ServerContext` (only its ``policy`` is read) and
    ``rng`` the server's seeded generator that :func:`removal_delay_ms` draws from (one draw per route)."""

    def __init__(self, server: ServerContext, rng: Optional[random.Random] = None) -> None:
        self.server = server
        self.rng = rng or random.Random()
        self.routes: dict[str, SingleUseRoute] = {}
        self._timers: set[asyncio.TimerHandle] = set()

    def register(self, path: Path) -> SingleUseRoute:
        """Register ``path`` under a new single-use URL. Raises FileNotFoundError if ``path`` does not exist."""
        if not path.is_file():
            raise FileNotFoundError(path)
        key = hashlib.sha256(f'{path}{uuid.uuid4()}'.encode()).hexdigest()[:32]
        route = SingleUseRoute(key, path, f'{ROUTE_PREFIX}/{key}/{path.name}')
        self.routes[key] = route
        return route

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
        policy = self.server.policy
        grace = policy.single_use_grace_s
        if grace <= 0 and policy.single_use_removal == 'thread_pool':
            route.used += 1
            delay_ms = removal_delay_ms(self.rng) if route.used == 1 else 0.0
            if delay_ms <= 0:
                self._remove(key)  # the thread ran before any other GET was matched
            else:
                self._later(delay_ms / 1000 + 1e-4, key)  # after at least one tick: tied GETs are matched first
            return self._file_response(route)
        await asyncio.sleep(0)  # routed; the handler runs on the next tick, as in Starlette
        route.used += 1
        if grace <= 0:
            self._remove(key)
        elif route.used == 1:
            self._later(grace, key)
        return self._file_response(route)

    def _later(self, delay_s: float, key: str) -> None:
        timer = asyncio.get_running_loop().call_later(delay_s, self._remove, key)
        self._timers.add(timer)

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


def sample_file(name: str = 'sample.txt') -> Path:
    """Path of a sample file in ``assets/files/``. Raises FileNotFoundError if it is missing."""
    path = FILES_DIR / name
    if not path.is_file():
        raise FileNotFoundError(path)
    return path
