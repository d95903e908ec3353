"""The recording reverse proxy: :class:`RecordingProxy`, an aiohttp server on 127.0.0.1 in front of a NiceGUI app.

Every HTTP request is forwarded as it came (method, path, query, headers except hop-by-hop ones and
``Accept-Encoding``, body; redirects are passed back, not followed) and every websocket is bridged frame by frame in
both directions; each request and each text frame is added to the :class:`~.recording.Recording` with its
``perf_counter_ns`` time (see that module for the entry kinds). The browser (Chromium through Selenium, or the
user's own) talks only to the proxy, so page URLs, the socket.io URL and the single-use download routes all pass it.
The proxy changes nothing in what it forwards, except ``Location`` headers that name the app (rewritten to the
proxy) and ``Origin`` (set to the app's, so a socket.io server with CORS checks accepts the bridged socket).
No Qt import here.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import time
from typing import Any, Optional

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from .recording import Recording

HOP_BY_HOP = {'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailers',
              'transfer-encoding', 'upgrade', 'host', 'content-length', 'accept-encoding', 'content-encoding'}
MAX_TEXT_BYTES = 2_000_000
"""Largest HTML page / uploaded text file kept in the recording (bytes); bigger ones are recorded by size only."""


def form_parts(content_type: str, body: bytes) -> list[dict[str, Any]]:
    """The parts of a ``multipart/form-data`` body as ``[{name, filename, bytes, text}]`` (``text``: the content
    decoded as UTF-8 when it is text and at most :data:`MAX_TEXT_BYTES`, else None). Empty for anything else;
    never raises."""
    if not content_type.startswith('multipart/form-data'):
        return []
    try:
        message = email.message_from_bytes(b'Content-Type: ' + content_type.encode() + b'\r\n\r\n' + body,
                                           policy=email.policy.HTTP)
        parts = []
        for part in message.iter_parts():
            data = part.get_payload(decode=True) or b''
            try:
                text: Optional[str] = data.decode('utf-8') if len(data) <= MAX_TEXT_BYTES else None
            except UnicodeDecodeError:
                text = None
            parts.append({'name': part.get_param('name', header='content-disposition'),
                          'filename': part.get_filename(), 'bytes': len(data), 'text': text})
        return parts
    except Exception:  # noqa: BLE001 - a malformed body is recorded without its parts
        return []


class RecordingProxy:
    """``RecordingProxy(upstream, recording, port=0)``: ``upstream`` is the app's base URL
    (``http://127.0.0.1:8080``). :meth:`start` listens on 127.0.0.1 (``port`` 0: a free one) and returns the
    proxy's base URL; :meth:`stop` closes every bridged socket and the server (idempotent).

    State for the caller deciding when a session ended: :attr:`pages` (HTML pages served), :attr:`open_sockets`
    (bridged websockets now open), :attr:`booting` (the last page served has opened no websocket yet: its tab
    still fetches static files and boots Vue), :attr:`last_activity_ns` (``perf_counter_ns`` of the last request,
    frame or close)."""

    def __init__(self, upstream: str, recording: Recording, *, port: int = 0) -> None:
        self.upstream = upstream.rstrip('/')
        self.recording = recording
        self.port = port
        self.url = ''
        self.pages = 0
        self.open_sockets = 0
        self.booting = False
        self.last_activity_ns = time.perf_counter_ns()
        self._runner: Optional[web.AppRunner] = None
        self._session: Optional[aiohttp.ClientSession] = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._next_conn = 0

    async def start(self) -> str:
        """Listen on 127.0.0.1; returns the proxy URL (``http://127.0.0.1:PORT``). Raises OSError when the port is
        taken."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route('*', '/{tail:.*}', self._handle)
        self._session = aiohttp.ClientSession(auto_decompress=True, timeout=aiohttp.ClientTimeout(total=None))
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, '127.0.0.1', self.port)
        try:
            await site.start()
        except OSError:
            await self.stop()
            raise
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f'http://127.0.0.1:{port}'
        self.recording.proxy, self.recording.upstream = self.url, self.upstream
        return self.url

    async def stop(self) -> None:
        """Close the bridged sockets, the server and the client session. Idempotent; never raises."""
        for ws in list(self._sockets):
            try:
                await ws.close(code=1001)
            except Exception:  # noqa: BLE001 - already gone
                pass
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _touch(self) -> None:
        self.last_activity_ns = time.perf_counter_ns()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self._touch()
        if request.headers.get('Upgrade', '').lower() == 'websocket':
            return await self._websocket(request)
        return await self._http(request)

    def _headers(self, request: web.Request) -> CIMultiDict:
        headers = CIMultiDict((k, v) for k, v in request.headers.items()
                              if k.lower() not in HOP_BY_HOP and not k.lower().startswith('sec-websocket'))
        if 'Origin' in headers:
            headers['Origin'] = self.upstream
        return headers

    async def _http(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        try:
            async with self._session.request(request.method, self.upstream + request.rel_url.raw_path_qs,
                                             headers=self._headers(request), data=body or None,
                                             allow_redirects=False) as upstream:
                data = await upstream.read()
                status, upstream_headers = upstream.status, upstream.headers
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            self.recording.add('http', method=request.method, path=request.rel_url.raw_path_qs, status=502,
                               error=str(e) or type(e).__name__)
            return web.Response(status=502, text=f'clientsim record: the app did not answer: {e}')
        headers = CIMultiDict((k, v) for k, v in upstream_headers.items() if k.lower() not in HOP_BY_HOP)
        if headers.get('Location', '').startswith(self.upstream):
            headers['Location'] = self.url + headers['Location'][len(self.upstream):]
        content_type = upstream_headers.get('Content-Type', '')
        entry: dict[str, Any] = {'method': request.method, 'path': request.rel_url.raw_path_qs, 'status': status,
                                 'content_type': content_type, 'bytes': len(data)}
        if 'Content-Disposition' in upstream_headers:
            entry['disposition'] = upstream_headers['Content-Disposition']
        if request.method == 'GET' and content_type.startswith('text/html') and len(data) <= MAX_TEXT_BYTES:
            entry['body'] = data.decode('utf-8', errors='replace')
            self.pages += 1
            self.booting = True
        if request.method == 'POST':
            parts = form_parts(request.headers.get('Content-Type', ''), body)
            if parts:
                entry['form'] = parts
        self.recording.add('http', **entry)
        self._touch()
        return web.Response(status=status, headers=headers, body=data)

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        conn, self._next_conn = self._next_conn, self._next_conn + 1
        path = request.rel_url.raw_path_qs
        url = self.upstream.replace('http', 'ws', 1) + path
        try:
            upstream = await self._session.ws_connect(url, headers=self._headers(request), autoping=True,
                                                      max_msg_size=0)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            self.recording.add('http', method='GET', path=path, status=502, error=f'websocket: {e}')
            return web.Response(status=502, text=f'clientsim record: the app refused the websocket: {e}')
        browser = web.WebSocketResponse(max_msg_size=0)
        await browser.prepare(request)
        self._sockets.add(browser)
        self.open_sockets += 1
        self.booting = False
        self.recording.add('ws_open', conn=conn, path=path)
        closed_by = ['']

        async def pump(source: Any, sink: Any, kind: str, side: str) -> None:
            async for message in source:
                self._touch()
                if message.type == aiohttp.WSMsgType.TEXT:
                    self.recording.add(kind, conn=conn, data=message.data)
                    await sink.send_str(message.data)
                elif message.type == aiohttp.WSMsgType.BINARY:
                    self.recording.add(kind, conn=conn, binary=len(message.data))
                    await sink.send_bytes(message.data)
                else:
                    break
            closed_by[0] = closed_by[0] or side
        tasks = [asyncio.ensure_future(pump(browser, upstream, 'ws_send', 'browser')),
                 asyncio.ensure_future(pump(upstream, browser, 'ws_recv', 'server'))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await upstream.close()
            await browser.close()
            self._sockets.discard(browser)
            self.open_sockets -= 1
            self.recording.add('ws_close', conn=conn, by=closed_by[0] or 'proxy')
            self._touch()
        return browser
