"""Single-use download routes and download targeting.

NiceGUI 2.11.0 ``ui.download(path)`` registers ``/_nicegui/auto/static/<hash>/<name>`` with
``single_use=True``: the route is removed from the router inside its first request's handler, so requests
that were already routed still succeed and later ones get 404 (``nicegui/app/app.py`` ``add_static_file``).
clientsim emulates "routed before removed" by yielding to the loop once between matching and removing, so
GETs that arrive in the same loop tick all get 200, as measured on 2.11.0.
"""
from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from aiohttp import web

from .context import ServerContext

ROUTE_PREFIX = '/_nicegui/auto/static'
FILES_DIR = Path(__file__).resolve().parent.parent / 'assets' / 'files'


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

    ``SingleUseRoutes(server)`` with ``server`` a :class:`ServerContext` (only its ``policy`` is read)."""

    def __init__(self, server: ServerContext) -> None:
        self.server = server
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
        await asyncio.sleep(0)  # routed; the handler runs on the next tick, as in Starlette
        route.used += 1
        grace = self.server.policy.single_use_grace_s
        if grace <= 0:
            self._remove(key)
        elif route.used == 1:
            timer = asyncio.get_running_loop().call_later(grace, self._remove, key)
            self._timers.add(timer)
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
