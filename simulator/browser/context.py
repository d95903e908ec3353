"""Browser contexts: the browser profile that simulated windows (tabs) belong to (no Qt).

A :class:`BrowserContext` is what tabs of one Chromium profile share, as Playwright's ``BrowserContext`` models it:
the cookie jar (so a cookie a page sets — NiceGUI's ``browser_id`` session cookie behind ``app.storage.user`` — is
sent by every tab of the context) and the HTTP connection pool. What stays per tab (per
:class:`~.window.SimulatedBrowser`): sessionStorage (the ``tab_id``), history, and the websocket, which every page
load opens on a connection of its own (a websocket upgrade never goes back into the pool).

By default every window is its own context (a separate browser, as before contexts existed); a scenario's
``context: NAME`` on windows, or ``SimulatedBrowser(..., context=ctx)``, puts several windows in one. New tabs a page
opens (``ui.navigate.to(..., new_tab=True)``) and duplicated tabs belong to their opener's context.

One aiohttp ``ClientSession`` and one ``TCPConnector`` per event loop serve all contexts of the loop
(:class:`_SharedPool`); each request reads and writes the cookies of the context it is made for:

* the shared session's jar is a :class:`RoutingCookieJar`, which hands every ``filter_cookies`` /
  ``update_cookies`` call to the jar of the context in :meth:`BrowserContext.routing` (a ``ContextVar``: it follows
  the task that makes the request, so windows loading at once never see each other's cookies, and a redirect's
  ``Set-Cookie`` is kept before the next hop, as aiohttp's own jar does). A request outside ``routing()`` raises
  RuntimeError instead of going out without the profile's cookies;
* a context makes its ``aiohttp.CookieJar`` with the first cookie a server sets (no cookie work where none is
  set): a session and a jar per window cost ~3.3 KB (tracemalloc, aiohttp 3.14, issue 24);
* a separate Chromium profile would open its own TCP connections, but a server cannot tell whose keep-alive
  connection a request came over (cookies travel per request), and one pool saves every window an idle keep-alive
  connection (two file descriptors and ~8 KB with the embedded server in the process). The same session carries
  the websockets: its connector (:class:`BrowserConnector`) hands every websocket upgrade a TCP connection of its
  own that never goes back into the pool, as in Chromium.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import weakref
from http.cookies import BaseCookie, SimpleCookie
from types import MappingProxyType
from typing import Any, Iterator, Optional, Sequence

import aiohttp
from aiohttp.abc import AbstractCookieJar, ClearCookiePredicate
from yarl import URL

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


_ROUTE: 'contextvars.ContextVar[Optional[BrowserContext]]' = contextvars.ContextVar('clientsim_browser_context',
                                                                                  default=None)


_NO_URL = URL()


class RoutingCookieJar(AbstractCookieJar):
    """The shared session's cookie jar: every call goes to the ``aiohttp.CookieJar`` of the browser context whose
    :meth:`BrowserContext.routing` is active in the calling task (aiohttp 3.14's ``AbstractCookieJar``; the
    session calls ``filter_cookies`` before each request and redirect hop and ``update_cookies_from_headers`` after
    each response, in the task that awaits the request). A context without cookies has no jar: its requests carry
    no ``Cookie`` header. Raises RuntimeError when no context is routed (a request that would silently go out
    without the profile's cookies)."""

    @staticmethod
    def _context() -> 'BrowserContext':
        context = _ROUTE.get()
        if context is None:
            raise RuntimeError('a request through the shared browser session outside BrowserContext.routing(): '
                               'whose cookies it carries is unknown')
        return context

    def _jar(self) -> Optional[aiohttp.CookieJar]:
        return self._context().cookie_jar

    @property
    def unsafe(self) -> bool:
        return True  # cookies of 127.0.0.1 are kept, as Chromium does

    @property
    def quote_cookie(self) -> bool:
        return True  # aiohttp.CookieJar's default

    @property
    def cookies(self) -> 'MappingProxyType[tuple[str, str], SimpleCookie]':
        jar = self._jar()
        return jar.cookies if jar is not None else MappingProxyType({})

    @property
    def host_only_cookies(self) -> frozenset[tuple[str, str, str]]:
        jar = self._jar()
        return jar.host_only_cookies if jar is not None else frozenset()

    def clear(self, predicate: Optional[ClearCookiePredicate] = None) -> None:
        jar = self._jar()
        if jar is not None:
            jar.clear(predicate)

    def clear_domain(self, domain: str) -> None:
        jar = self._jar()
        if jar is not None:
            jar.clear_domain(domain)

    def update_cookies(self, cookies: Any, response_url: URL = _NO_URL) -> None:
        if cookies:
            self._context().make_jar().update_cookies(cookies, response_url)

    def update_cookies_from_headers(self, headers: Sequence[str], response_url: URL) -> None:
        if headers:
            self._context().make_jar().update_cookies_from_headers(headers, response_url)

    def filter_cookies(self, request_url: URL) -> 'BaseCookie[str]':
        jar = self._jar()
        return jar.filter_cookies(request_url) if jar is not None else SimpleCookie()

    def __iter__(self) -> Iterator[Any]:
        jar = self._jar()
        return iter(jar) if jar is not None else iter(())

    def __len__(self) -> int:
        jar = self._jar()
        return len(jar) if jar is not None else 0


class _SharedPool:
    """The HTTP session and connection pool of one event loop, shared by its contexts: created by the first
    context that joins and closed when the last one leaves (so no "Unclosed client session" or "Unclosed connector"
    remains at the end of a loop)."""

    _by_loop: 'weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _SharedPool]' = weakref.WeakKeyDictionary()

    def __init__(self, headers: Optional[dict[str, str]]) -> None:
        self.connector = BrowserConnector()
        self.headers = dict(headers or {})
        self.session = aiohttp.ClientSession(cookie_jar=RoutingCookieJar(), connector=self.connector,
                                             connector_owner=False, headers=self.headers,
                                             ws_response_class=TrackedWebSocket)  # see .ws_attempts
        self.users = 0

    @classmethod
    def acquire(cls, headers: Optional[dict[str, str]]) -> '_SharedPool':
        """The loop's pool (made on first use), one user more. Raises ValueError for default ``headers`` other
        than the pool's (the session's default headers are the same for every context of a loop)."""
        loop = asyncio.get_running_loop()
        pool = cls._by_loop.get(loop)
        if pool is None or pool.session.closed or pool.connector.closed:
            pool = cls._by_loop[loop] = cls(headers)
        elif dict(headers or {}) != pool.headers:
            raise ValueError(f'the browser session of this loop sends the default headers {pool.headers}, '
                             f'not {headers}')
        pool.users += 1
        return pool

    async def release(self) -> None:
        """One user fewer; the last closes the session and the connector (and forgets the pool)."""
        self.users -= 1
        if self.users <= 0:
            loop = asyncio.get_running_loop()
            if self._by_loop.get(loop) is self:
                del self._by_loop[loop]
            try:
                await self.session.close()
            finally:
                await self.connector.close()


class BrowserContext:
    """One browser profile: ``BrowserContext(name=None)``; windows join it with :meth:`join` and leave with
    :meth:`leave` (``SimulatedBrowser`` does both). ``name``: the scenario's ``context:`` value, or a generated
    ``context-N`` for a window's own context. ``cookie_jar`` (aiohttp ``CookieJar``, ``unsafe=True`` so cookies of
    ``127.0.0.1`` are kept, as Chromium does) is made with the first cookie a server sets and lives as long as the
    context object; ``session`` is the loop's shared HTTP session (page GETs, downloads and websockets,
    :class:`BrowserConnector`) while at least one window of the context has joined, None after the last left. A
    request for this context must be made inside :meth:`routing`. ``tabs`` counts the joined windows."""

    __slots__ = ('name', 'cookie_jar', '_pool', 'tabs')

    def __init__(self, name: Optional[str] = None) -> None:
        self.name = name or f'context-{next(_numbers)}'
        self.cookie_jar: Optional[aiohttp.CookieJar] = None
        self._pool: Optional[_SharedPool] = None
        self.tabs = 0

    def __repr__(self) -> str:
        return f'BrowserContext({self.name!r}, tabs={self.tabs})'

    def join(self, headers: Optional[dict[str, str]] = None) -> aiohttp.ClientSession:
        """A window (tab) of this context starts loading pages: returns the loop's open shared HTTP session (made on
        first use, with ``headers`` as default headers, e.g. the browser's ``User-Agent``). Must run inside an event
        loop. Raises ValueError when the loop's session has other default headers."""
        if self._pool is None or self._pool.session.closed:
            self._pool = _SharedPool.acquire(headers)
        self.tabs += 1
        return self._pool.session

    @property
    def session(self) -> Optional[aiohttp.ClientSession]:
        """The shared HTTP session while a window of this context has joined, else None."""
        return self._pool.session if self._pool is not None else None

    async def leave(self) -> None:
        """A window of this context closed: the last one to leave gives the shared session back (the cookie jar
        stays, as a profile's cookies outlive its tabs). Calls beyond the joins are ignored."""
        if self.tabs <= 0:
            return
        self.tabs -= 1
        if self.tabs == 0:
            pool, self._pool = self._pool, None
            if pool is not None:
                await pool.release()

    def make_jar(self) -> aiohttp.CookieJar:
        """The context's cookie jar, made now if no cookie was set before (inside a running loop)."""
        if self.cookie_jar is None:
            self.cookie_jar = aiohttp.CookieJar(unsafe=True)
        return self.cookie_jar

    @contextlib.contextmanager
    def routing(self) -> Iterator['BrowserContext']:
        """Requests made in this block by the current task, and by tasks it creates meanwhile (they copy the
        ``ContextVar``), read and write this context's cookies (:class:`RoutingCookieJar`)."""
        token = _ROUTE.set(self)
        try:
            yield self
        finally:
            _ROUTE.reset(token)

    def cookies(self) -> dict[str, str]:
        """The context's cookies as ``{name: value}`` (all domains; for tests and the inspector)."""
        return {} if self.cookie_jar is None else {c.key: c.value for c in self.cookie_jar}
