"""Browser contexts: the browser profile that simulated windows (tabs) belong to (no Qt).

A :class:`BrowserContext` is what tabs of one Chromium profile share, as Playwright's ``BrowserContext`` models it:
the cookie jar (so a cookie a page sets — NiceGUI's ``browser_id`` session cookie behind ``app.storage.user`` — is
sent by every tab of the context) and the HTTP connection pool. What stays per tab (per
:class:`~.window.SimulatedBrowser`): sessionStorage (the ``tab_id``), history, and the websocket, which every page
load opens on a connection of its own (a websocket upgrade never goes back into the pool).

By default every window is its own context (a separate browser, as before contexts existed); a scenario's
``context: NAME`` on windows, or ``SimulatedBrowser(..., context=ctx)``, puts several windows in one. New tabs a page
opens (``ui.navigate.to(..., new_tab=True)``) and duplicated tabs belong to their opener's context.

One aiohttp ``TCPConnector`` per event loop is shared by all contexts of the loop (:class:`_SharedPool`): a
separate Chromium profile would open its own TCP connections, but a server cannot tell whose keep-alive
connection a request came over (cookies travel per request, from the context's own jar), and one pool saves every
window an idle keep-alive connection (two file descriptors and ~8 KB with the embedded server in the process).
The same session carries the context's websockets: its connector (:class:`BrowserConnector`) hands every websocket
upgrade a TCP connection of its own that never goes back into the pool, as in Chromium, so a window costs no
session and no connector of its own for its sockets (~6 KB, issue 24).
"""
from __future__ import annotations

import asyncio
import itertools
import weakref
from typing import Any, Optional

import aiohttp

from .ws_attempts import TrackedWebSocket

_numbers = itertools.count(1)


class BrowserConnector(aiohttp.TCPConnector):
    """The pool of the page GETs and downloads (keep-alive, no cap), which sends every websocket upgrade (a request
    with ``Upgrade: websocket``) through :attr:`sockets`, a connector that opens a new TCP connection per request and
    closes it when the websocket ends (``force_close``): a websocket never rides on a page GET's idle connection,
    whose server-side keep-alive timer would cut it (uvicorn's 5 s; issue 18). Overrides aiohttp's public
    ``BaseConnector.connect`` (aiohttp 3.14); :meth:`close` closes both."""

    def __init__(self) -> None:
        # limit=0: no cap on simultaneous connections (a browser caps page requests per host at 6; the windows of a
        # loop are many browsers)
        super().__init__(limit=0)
        self.sockets = aiohttp.TCPConnector(limit=0, force_close=True)

    async def connect(self, req: Any, traces: Any, timeout: Any) -> Any:
        if req.headers.get('Upgrade', '').lower() == 'websocket':
            return await self.sockets.connect(req, traces, timeout)
        return await super().connect(req, traces, timeout)

    async def close(self, *args: Any, **kwargs: Any) -> None:
        try:
            await self.sockets.close()
        finally:
            await super().close(*args, **kwargs)


class _SharedPool:
    """The connection pool of one event loop, shared by its contexts: created by the first context session and
    closed when the last one closes (so no "Unclosed connector" remains at the end of a loop)."""

    _by_loop: 'weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedPool]' = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self.connector = BrowserConnector()
        self.users = 0

    @classmethod
    def acquire(cls) -> '_SharedPool':
        loop = asyncio.get_running_loop()
        pool = cls._by_loop.get(loop)
        if pool is None or pool.connector.closed:
            pool = cls._by_loop[loop] = cls()
        pool.users += 1
        return pool

    async def release(self) -> None:
        """One user fewer; the last closes the connector (and forgets the pool)."""
        self.users -= 1
        if self.users <= 0:
            loop = asyncio.get_running_loop()
            if self._by_loop.get(loop) is self:
                del self._by_loop[loop]
            await self.connector.close()


class BrowserContext:
    """One browser profile: ``BrowserContext(name=None)``; windows join it with :meth:`join` and leave with
    :meth:`leave` (``SimulatedBrowser`` does both). ``name``: the scenario's ``context:`` value, or a generated
    ``context-N`` for a window's own context. ``cookie_jar`` (aiohttp ``CookieJar``, ``unsafe=True`` so cookies of
    ``127.0.0.1`` are kept, as Chromium does) lives as long as the context object; the HTTP ``session`` (page GETs,
    downloads and websockets, :class:`BrowserConnector`) exists while at least one window of the context has joined
    and is closed when the last leaves. ``tabs`` counts the joined windows."""

    def __init__(self, name: Optional[str] = None) -> None:
        self.name = name or f'context-{next(_numbers)}'
        self.cookie_jar: Optional[aiohttp.CookieJar] = None  # made with the first session (it needs the loop)
        self.session: Optional[aiohttp.ClientSession] = None
        self._pool: Optional[_SharedPool] = None
        self.tabs = 0

    def __repr__(self) -> str:
        return f'BrowserContext({self.name!r}, tabs={self.tabs})'

    def join(self, headers: Optional[dict[str, str]] = None) -> aiohttp.ClientSession:
        """A window (tab) of this context starts loading pages: returns the context's open HTTP session (made on
        first use, with the context's cookie jar, the loop's shared pool and ``headers`` as default headers, e.g.
        the browser's ``User-Agent``). Must run inside an event loop."""
        self.tabs += 1
        if self.session is None or self.session.closed:
            if self.cookie_jar is None:
                self.cookie_jar = aiohttp.CookieJar(unsafe=True)
            if self._pool is None:
                self._pool = _SharedPool.acquire()
            self.session = aiohttp.ClientSession(cookie_jar=self.cookie_jar, connector=self._pool.connector,
                                                 connector_owner=False, headers=headers,
                                                 ws_response_class=TrackedWebSocket)  # see .ws_attempts
        return self.session

    async def leave(self) -> None:
        """A window of this context closed: the last one to leave closes the HTTP session (the cookie jar stays,
        as a profile's cookies outlive its tabs). Calls beyond the joins are ignored."""
        if self.tabs <= 0:
            return
        self.tabs -= 1
        if self.tabs == 0:
            session, pool, self.session, self._pool = self.session, self._pool, None, None
            if session is not None:
                await session.close()
            if pool is not None:
                await pool.release()

    def cookies(self) -> dict[str, str]:
        """The context's cookies as ``{name: value}`` (all domains; for tests and the inspector)."""
        return {} if self.cookie_jar is None else {c.key: c.value for c in self.cookie_jar}
