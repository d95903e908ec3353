"""Downloads: :class:`Download` (one attempt) and :func:`fetch_download`, which fetches what a ``download``
message points at — on the embedded server usually a single-use route, gone after its first GET.

Models ``download()`` of NiceGUI 2.11.0 ``nicegui/static/nicegui.js``: a string ``src`` is fetched (an ``<a
download>`` click in the real page; an HTTP GET with the window's cookies here), raw bytes are saved without a
request. The ``download`` message itself comes from NiceGUI's ``ui.download`` (2.11.0
``nicegui/functions/download.py``).
"""
from __future__ import annotations

import asyncio
import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any, Optional

import aiohttp

from clientsim.server.wire import WINDOW_HEADER

from ..outcome import received
from ..timeline import now_ns
from .dialect import download_url
from .latency import latency_sleep
from .state import WindowView


@dataclass
class Download:
    """One download attempt: ``status`` is the HTTP status (0 if the request failed), ``bytes`` the body
    length, ``sha256`` its hex digest, ``t_ms`` when the GET was answered (ms on the timeline clock)."""
    filename: str
    url: str
    status: int
    bytes: int
    sha256: str
    t_ms: float
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        """Whether this attempt delivered the file (:func:`clientsim.simulator.outcome.received`: HTTP 200)."""
        return received(self.status)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict for reports."""
        return {'filename': self.filename, 'url': self.url, 'status': self.status, 'bytes': self.bytes,
                'sha256': self.sha256, 't_ms': round(self.t_ms, 3), 'error': self.error}


DOWNLOAD_HEADERS = {'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'empty',
                    'Accept-Language': 'en-US,en;q=0.9'}
"""What Chromium 156 sends for nicegui.js's ``<a download>`` click (plus ``Referer``: the page URL; no ``Accept``),
read by ``clientsim conform``'s recording proxy."""
_DISPOSITION_RE = re.compile(r"""filename\*=(?:UTF-8'')?([^;]+)|filename="?([^";]+)"?""", re.I)


def saved_filename(payload_filename: object, content_disposition: str | None, url: str) -> str:
    """The name Chromium saves a download under: the ``<a download>`` attribute (the message's ``filename``), else
    the response's ``Content-Disposition`` filename, else the URL's last path segment, else ``download``."""
    if payload_filename:
        return str(payload_filename)
    for match in _DISPOSITION_RE.finditer(content_disposition or ''):
        name = urllib.parse.unquote((match.group(1) or match.group(2) or '').strip())
        if name:
            return name
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit('/', 1)[-1]) or 'download'


def _t_ms(window: WindowView) -> float:
    return (now_ns() - window.timeline.t0_ns) / 1e6


async def fetch_download(window: WindowView, payload: dict[str, Any]) -> Download:
    """Fetch what the ``download`` message ``payload`` (``{'src': str | bytes, 'filename': str, ...}``) points at.

    Waits ``window.latency.download_ms`` (ms) first, records ``download_get_sent`` and GETs the URL with the
    window's HTTP session and Chromium's headers (:data:`DOWNLOAD_HEADERS`, ``Referer``); the filename is the one
    Chromium saves (:func:`saved_filename`). Raw bytes give a 200 download without a request. A failed request
    (connection error, closed window) gives a ``Download`` with status 0 and ``error``; nothing is raised.
    """
    src = payload.get('src')
    filename = str(payload.get('filename') or 'download')
    given = payload.get('filename')
    if isinstance(src, (bytes, bytearray)):  # raw bytes: no HTTP request
        return Download(filename, '', 200, len(src), hashlib.sha256(src).hexdigest(), _t_ms(window))
    await latency_sleep(window, 'download_ms', window.latency.download_ms)
    url = download_url(window.url or '', window.prefix, str(src))
    window.ports.record('download_get_sent', url=url)
    session = window.ports.session()
    if session is None:  # the window was closed while this download waited
        return Download(filename, url, 0, 0, '', _t_ms(window), error='the window is closed')
    try:
        headers = {**DOWNLOAD_HEADERS, 'Referer': window.url or ''}
        if window.tag_requests:  # the embedded server matches download GETs to windows by it
            headers[WINDOW_HEADER] = window.name
        with window.ports.routing():
            async with session.get(url, headers=headers, skip_auto_headers=('Accept',)) as response:
                body = await response.read()
                status = response.status
                filename = saved_filename(given, response.headers.get('Content-Disposition'), url)
        return Download(filename, url, status, len(body) if status == 200 else 0,
                        hashlib.sha256(body).hexdigest() if status == 200 else '', _t_ms(window))
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
        return Download(filename, url, 0, 0, '', _t_ms(window), error=str(e) or type(e).__name__)
