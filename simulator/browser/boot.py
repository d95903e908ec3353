"""The page load model of a window, between the page GET and the socket connect: :func:`boot`.

A real tab does not connect its socket when the page HTML arrives: it fetches the page's static files (13–14 on
NiceGUI 2.11.0 and 3.18.0) and boots Vue first. Measured in headless Chromium 156 (Selenium 4, CDP performance log,
issue #18): page GET → handshake done 436–575 ms (median 528) on NiceGUI 3.18.0 and 787–1434 ms (median 1021) on
2.11.0 for a first load; on a reload or navigation (static files in the memory cache) 120–323 ms from the GET to the
new socket. Every race inside that span (disconnect before the handshake, reload many, fast navigation) needs it.

Profiles (``Latency.load``, else the window's ``default_load``):

* ``chromium`` — fetch the page's same-origin ``<script src>`` / ``<link href>`` files (once per window: later loads
  find them cached, as Chromium's memory cache does), then wait until ``boot_ms`` has passed since the page GET was
  sent; ``boot_ms`` is ``Latency.boot_ms`` if set, else drawn from the distribution above with the window's ``rng``
  (seeded from the run's seed by the lab);
* ``instant`` — no static files, connect at once (or after ``Latency.boot_ms`` if set): the speed of load tests.
"""
from __future__ import annotations

import asyncio
import random
import re
import urllib.parse

import aiohttp

from ..timeline import now_ns
from .dialect import major_version
from .state import WindowView

FIRST_LOAD_MS = {2: (787.0, 1021.0, 1434.0), 3: (436.0, 528.0, 575.0)}
"""(low, median, high) of page GET → handshake done in Chromium 156, first load, by NiceGUI major version
(measured on 2.11.0 and 3.18.0)."""
CACHED_LOAD_MS = (120.0, 200.0, 323.0)
"""(low, median, high) of GET → new socket on a reload or navigation in Chromium 156 (range measured on 3.18.0 and
2.11.0; the median is an estimate)."""
PARALLEL_FETCHES = 6
"""Chromium opens at most 6 HTTP/1.1 connections per host."""
USER_AGENT = ('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 '
              'Safari/537.36')
"""The user agent of Chromium 156 on Linux (headless Chromium says ``HeadlessChrome``; users' browsers do not)."""

_STATIC_RE = re.compile(r'<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*"([^"]+)"'  # 2.x and 3.x tags
                        r'|@import\s+url\(\s*"([^"]+)"\s*\)', re.I)  # 3.x: CSS layers in a <style>


def draw_boot_ms(major: int, cached: bool, rng: random.Random) -> float:
    """A boot time in **ms** (page GET → socket connect) from Chromium's measured spread: half the draws uniform in
    [low, median], half in [median, high], so the median is Chromium's. ``cached``: a reload or navigation."""
    low, median, high = CACHED_LOAD_MS if cached else FIRST_LOAD_MS[3 if major >= 3 else 2]
    return rng.uniform(low, median) if rng.random() < 0.5 else rng.uniform(median, high)


def static_urls(html: str, page_url: str) -> list[str]:
    """The absolute URLs of the same-origin static files a page's HTML names in ``<script src>``, ``<link href>``
    and (3.x) ``@import url("…")`` (in page order, each once). Not fetched: what scripts import and fonts the CSS
    names (Chromium fetched 1–2 of those per first load)."""
    origin = urllib.parse.urlsplit(page_url)[:2]
    urls: list[str] = []
    for tag_ref, import_ref in _STATIC_RE.findall(html):
        url = urllib.parse.urljoin(page_url, tag_ref or import_ref)
        if urllib.parse.urlsplit(url)[:2] == origin and url not in urls:
            urls.append(url)
    return urls


def profile_of(window: WindowView) -> str:
    """The window's load profile: ``latency.load`` or, when None, ``window.default_load``."""
    return window.latency.load or window.default_load


async def boot(window: WindowView, html: str, get_sent_ns: int) -> None:
    """Boot the page whose ``html`` the window received for a GET sent at ``get_sent_ns`` (timeline clock): see the
    module docstring. Records ``page_booted`` with the fetched files and the boot time. Never raises for a failed
    static file (Chromium boots with what it got); cancellation propagates."""
    profile = profile_of(window)
    boot_ms = window.latency.boot_ms
    fetched = 0
    if profile == 'chromium':
        cached = bool(window.static_cached)
        todo = [u for u in static_urls(html, window.url or '') if u not in window.static_cached]
        fetched = await _fetch_all(window, todo)
        if boot_ms is None:
            boot_ms = draw_boot_ms(major_version(window.version), cached, window.rng)
    remaining_s = ((boot_ms or 0.0) - (now_ns() - get_sent_ns) / 1e6) / 1000
    if remaining_s > 0:
        await asyncio.sleep(remaining_s)
    window.ports.record('page_booted', profile=profile, static_files=fetched,
                   boot_ms=round((now_ns() - get_sent_ns) / 1e6, 1))


async def _fetch_all(window: WindowView, urls: list[str]) -> int:
    limit = asyncio.Semaphore(PARALLEL_FETCHES)
    results = await asyncio.gather(*(_fetch(window, url, limit) for url in urls))
    return sum(results)


async def _fetch(window: WindowView, url: str, limit: asyncio.Semaphore) -> bool:
    session = window.ports.session()
    if session is None:
        return False
    async with limit:
        try:
            with window.ports.routing():
                async with session.get(url, headers={'Referer': window.url or ''}) as response:
                    await response.read()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
            return False
    window.static_cached |= {url}  # a new frozenset: windows that fetched nothing share the empty one (issue 24)
    return True
