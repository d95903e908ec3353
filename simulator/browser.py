"""SimulatedBrowser: one simulated browser window speaking NiceGUI 2.x's protocol (no Qt).

Each window has its own ``aiohttp.ClientSession`` (its own cookie jar) and, per page load, its own
``socketio.AsyncClient`` — a page load in a real browser opens a new socket. It behaves like NiceGUI 2.11.0
``nicegui/static/nicegui.js``:

* the page's config (client_id, next_message_id, elements) is read from the HTML (see ``protocol.md`` §1);
* on connect it emits ``handshake {client_id, document_id, tab_id, old_tab_id, next_message_id}`` with an ack;
  ``document_id`` is new per page load, ``tab_id`` lives as long as the window (sessionStorage);
  a ``false`` ack makes the page reload (once here, to avoid a reload loop);
* messages whose ``_id`` is below ``next_message_id`` are dropped, others advance it to ``_id + 1``;
* on ``download`` it GETs ``prefix + src`` after its own download latency.

Latency knobs (:class:`Latency`, all in **ms**) make races deterministic. Every step is stamped on the shared
:class:`simulator.timeline.Timeline`. Observers register ``browser.listeners.append(callback)``;
``callback(browser)`` runs after every state change (the GUI adapter turns it into a Qt signal).
"""
from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import re
import urllib.parse
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

import aiohttp
import socketio

from .timeline import Timeline, now_ns

SOCKETIO_PATH = '_nicegui_ws/socket.io'
WINDOW_QUERY = 'clientsim_window'

# connection states, in order of a page's life
CLOSED = 'closed'
LOADING = 'loading'
CONNECTING = 'connecting'
CONNECTED = 'connected'            # socket up, handshake not yet acknowledged
HANDSHAKE_DONE = 'handshake done'
DISCONNECTED = 'disconnected'
LOAD_FAILED = 'load failed'
STATES = (CLOSED, LOADING, CONNECTING, CONNECTED, HANDSHAKE_DONE, DISCONNECTED, LOAD_FAILED)

_ELEMENTS_RE = re.compile(r'parseElements\(String\.raw`(.*?)`\)', re.S)
_CLIENT_ID_RE = re.compile(r"""['"]client_id['"]\s*:\s*['"]([0-9a-fA-F-]+)['"]""")
_NEXT_ID_RE = re.compile(r"""['"]next_message_id['"]\s*:\s*(\d+)""")
_QUERY_RE = re.compile(r'^\s*query:\s*(\{.*\})\s*,?\s*$', re.M)
_TRANSPORTS_RE = re.compile(r'^\s*transports:\s*(\[.*\])\s*,?\s*$', re.M)
_PREFIX_RE = re.compile(r'''prefix:\s*"([^"]*)"''')
_VERSION_RE = re.compile(r'''version:\s*"([^"]*)"''')
# NiceGUI 2.11.0 / 3.x nicegui.js parseElements(): the order matters, `&amp;` must be undone last
# (the server escapes `&` first, so a literal "&lt;" in a label arrives as "&amp;lt;").
_UNESCAPE = (('&#36;', '$'), ('&#96;', '`'), ('&gt;', '>'), ('&lt;', '<'), ('&amp;', '&'))


class PageError(Exception):
    """A page could not be loaded or understood (HTTP error, no NiceGUI config in the HTML)."""


@dataclass
class Latency:
    """Per-window latency knobs in **milliseconds**: before the page GET, before the handshake is sent after
    the socket connected, and before a download's GET after the ``download`` event arrived."""
    page_get_ms: float = 0.0
    handshake_ms: float = 0.0
    download_ms: float = 0.0


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
        """HTTP 200 with a body."""
        return self.status == 200

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict for reports."""
        return {'filename': self.filename, 'url': self.url, 'status': self.status, 'bytes': self.bytes,
                'sha256': self.sha256, 't_ms': round(self.t_ms, 3), 'error': self.error}


@dataclass
class Frame:
    """One socket.io message as the browser saw it: ``direction`` is ``'sent'`` or ``'received'``."""
    t_ns: int
    direction: str
    event: str
    payload: Any


def parse_page(html: str) -> dict[str, Any]:
    """Read NiceGUI's page config out of page HTML.

    The HTML is NiceGUI's ``templates/index.html`` (checked against real 2.11.0 and 3.18.0 pages)::

        createApp(parseElements(String.raw`<elements JSON, HTML-escaped>`), {
          version: "2.11.0", prefix: "", query: {'client_id': '<uuid>', 'next_message_id': 0}, ...
          transports: ['websocket', 'polling'], ...

    ``query`` is a Python repr (single quotes, ``True``/``False``/``None``, which nicegui.js defines as JS
    constants); it holds ``client_id``, ``next_message_id``, any ``app.config.socket_io_js_query_params`` and,
    from NiceGUI 3.7 on, ``implicit_handshake: True``.

    Returns ``{'client_id': str, 'next_message_id': int, 'elements': {str id: element dict}, 'prefix': str,
    'version': str, 'query': dict, 'transports': list[str], 'implicit_handshake': bool}``.
    Raises :class:`PageError` when the HTML has no NiceGUI config or its elements JSON is broken.
    """
    query: dict[str, Any] = {}
    if (query_match := _QUERY_RE.search(html)) is not None:
        for parse in (ast.literal_eval, json.loads):
            try:
                parsed = parse(query_match.group(1))
            except (ValueError, SyntaxError, TypeError):
                continue
            if isinstance(parsed, dict):
                query = {str(k): v for k, v in parsed.items()}
                break
    client_id = query.get('client_id')
    if not isinstance(client_id, str):
        match = _CLIENT_ID_RE.search(html)
        if match is None:
            raise PageError('no NiceGUI client_id in the page HTML (is this a NiceGUI page?)')
        client_id = query['client_id'] = match.group(1)
    next_id = query.get('next_message_id')
    if not isinstance(next_id, int):
        match = _NEXT_ID_RE.search(html)
        next_id = query['next_message_id'] = int(match.group(1)) if match else 0
    elements_match = _ELEMENTS_RE.search(html)
    elements: dict[str, Any] = {}
    if elements_match:
        text = elements_match.group(1)
        for entity, char in _UNESCAPE:  # nicegui.js parseElements(), same order
            text = text.replace(entity, char)
        try:
            elements = json.loads(text)
        except json.JSONDecodeError as e:
            raise PageError(f'elements JSON in the page is not valid: {e}') from e
    transports: list[str] = ['websocket', 'polling']
    if (transports_match := _TRANSPORTS_RE.search(html)) is not None:
        try:
            parsed = ast.literal_eval(transports_match.group(1))
            if isinstance(parsed, list) and parsed:
                transports = [str(t) for t in parsed]
        except (ValueError, SyntaxError):
            pass
    prefix = _PREFIX_RE.search(html)
    version = _VERSION_RE.search(html)
    return {'client_id': client_id, 'next_message_id': next_id,
            'elements': {str(k): v for k, v in elements.items()},
            'prefix': prefix.group(1) if prefix else '', 'version': version.group(1) if version else '',
            'query': query, 'transports': transports, 'implicit_handshake': query.get('implicit_handshake') is True}


def js_query_value(value: Any) -> str:
    """How socket.io-client (engine.io ``encode``) writes a query value: ``encodeURIComponent(String(v))``,
    so ``True`` → ``'true'``, ``None`` → ``'null'``, numbers as JS prints them."""
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if value is None:
        return 'null'
    return str(value)


class SimulatedBrowser:
    """One simulated browser window.

    ``SimulatedBrowser(name, timeline=Timeline(), latency=Latency(...))``. Actions are coroutines:
    :meth:`open`, :meth:`click`, :meth:`reload`, :meth:`navigate`, :meth:`close`, :meth:`drop_connection`,
    :meth:`reconnect`. State: ``url``, ``elements``
    (element id → dict), ``client_id``, ``sid``, ``state`` (one of :data:`STATES`), ``downloads``
    (list of :class:`Download`), ``download_events`` (count), ``frames`` (list of :class:`Frame`),
    ``progress`` (the page's ``q-linear-progress`` value 0..1 or None) with ``progress_history``
    (``(t_ns, value)``), ``handshakes_rejected`` and ``reconnects`` (counts).
    Must be used inside a running asyncio loop; call :meth:`close` to release sockets and the HTTP session.
    """

    def __init__(self, name: str, timeline: Timeline | None = None, latency: Latency | None = None) -> None:
        self.name = name
        self.timeline = timeline or Timeline()
        self.latency = latency or Latency()
        self.tab_id = str(uuid.uuid4())
        self.url: Optional[str] = None
        self.page_status: Optional[int] = None
        self.page_error: Optional[str] = None
        self.client_id: Optional[str] = None
        self.document_id: Optional[str] = None
        self.sid: Optional[str] = None
        self.prefix = ''
        self.version = ''
        self.page_query: dict[str, Any] = {}  # the page's socket.io query (parse_page()['query'])
        self.implicit_handshake = False  # NiceGUI 3.7+: the socket connect carries the handshake
        self.state = CLOSED
        self.elements: dict[str, dict[str, Any]] = {}
        self.next_message_id = 0
        self.downloads: list[Download] = []
        self.download_events = 0
        self.clicks = 0  # click events this window sent (all pages)
        self.notifications: list[str] = []
        self.frames: list[Frame] = []
        self.listeners: list[Callable[['SimulatedBrowser'], None]] = []
        self._session: Optional[aiohttp.ClientSession] = None
        self._sio: Optional[socketio.AsyncClient] = None
        self._handshake_task: Optional[asyncio.Task] = None
        self._tasks: set[asyncio.Task] = set()
        self._changed_event = asyncio.Event()
        self._load_generation = 0
        self._reloaded_after_reject = False
        self._closing_socket = False
        self.handshakes_rejected = 0  # handshake acks that were false (the server no longer knew the client_id)
        self.reconnects = 0  # reconnect() calls: new socket, same document_id
        self.progress_history: list[tuple[int, float]] = []  # (t_ns, q-linear-progress value) on every change
        self.page_loaded_ns: Optional[int] = None  # when the current page's HTML arrived (timeline clock, ns)
        self._dropped: list[tuple[socketio.AsyncClient, Any]] = []  # (socket, its websocket) of drop_connection()

    # ---- observation ----------------------------------------------------------------------------------------
    def _record(self, kind: str, **detail: Any) -> None:
        self.timeline.record(self.name, kind, window=self.name, sid=self.sid, client_id=self.client_id, **detail)

    def _changed(self) -> None:
        self._track_progress()
        self._changed_event.set()
        self._changed_event = asyncio.Event()
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception:
                pass

    async def wait_for(self, predicate: Callable[['SimulatedBrowser'], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate(self)`` is true. ``timeout`` in **seconds**; raises asyncio.TimeoutError."""
        async def _wait() -> None:
            while not predicate(self):
                await self._changed_event.wait()
        await asyncio.wait_for(_wait(), timeout)

    @property
    def download_outcome(self) -> str:
        """``'received'`` if any download got 200, ``'failed'`` if every attempt failed, ``'none'`` if no
        download was attempted (drives the green/red/neutral window colour)."""
        if any(d.ok for d in self.downloads):
            return 'received'
        return 'failed' if self.downloads else 'none'

    # ---- actions --------------------------------------------------------------------------------------------
    async def open(self, url: str, *, handshake: bool = True, wait: bool = True) -> None:
        """Load ``url`` (any http URL of a NiceGUI 2.x page), connect its socket and send the handshake after
        ``latency.handshake_ms``. With ``handshake=False`` the socket connects but no handshake is sent.
        With ``wait`` it returns once the handshake is acknowledged (or the page failed); otherwise once the
        socket is connected. HTTP errors and non-NiceGUI pages set ``state = 'load failed'`` and
        ``page_error``; they do not raise."""
        await self._leave_page()
        self._load_generation += 1
        generation = self._load_generation
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.url = url
        self.state = LOADING
        self.elements, self.client_id, self.sid, self.page_error, self.page_status = {}, None, None, None, None
        self._changed()
        if self.latency.page_get_ms:
            await asyncio.sleep(self.latency.page_get_ms / 1000)
        self._record('page_get_sent', url=url)
        try:
            async with self._session.get(url, headers={'X-Clientsim-Window': self.name}) as response:
                self.page_status = response.status
                text = await response.text()
            self._record('page_get_answered', url=url, status=self.page_status)
            if self.page_status != 200:
                raise PageError(f'HTTP {self.page_status}: {text.strip()[:200]}')
            config = parse_page(text)
        except (aiohttp.ClientError, PageError, UnicodeDecodeError, asyncio.TimeoutError) as e:
            self.page_error = str(e) or type(e).__name__
            self.state = LOAD_FAILED
            self._record('page_load_failed', url=url, error=self.page_error)
            self._changed()
            return
        if generation != self._load_generation:
            return
        self.client_id = config['client_id']
        self.next_message_id = config['next_message_id']
        self.elements = config['elements']
        self.prefix = config['prefix']
        self.version = config['version']
        self.page_query = config.get('query') or {}
        self.implicit_handshake = bool(config.get('implicit_handshake'))
        self.document_id = str(uuid.uuid4())
        self.page_loaded_ns = now_ns()
        self.state = CONNECTING
        self._changed()
        if not await self._connect_socket(url):
            return
        if self.implicit_handshake:  # NiceGUI 3.7+: the connect was the handshake (finishHandshake(true))
            self._record('handshake_acked', ok=True, implicit=True)
            self.state = HANDSHAKE_DONE
            self._changed()
            return
        if handshake:
            self._handshake_task = asyncio.ensure_future(self._handshake(generation))
            if wait:
                await asyncio.gather(self._handshake_task, return_exceptions=True)

    @property
    def major_version(self) -> int:
        """The NiceGUI major version the page announced (``version: "2.11.0"`` → 2); 2 when unknown (the embedded
        server announces 2.11.0)."""
        head = self.version.split('.', 1)[0]
        return int(head) if head.isdigit() else 2

    def socket_query(self) -> dict[str, Any]:
        """The socket.io connect query the real page sends, as Python values.

        NiceGUI 2.11.0 nicegui.js: the page's ``query`` as is (``client_id``, ``next_message_id`` and any
        ``socket_io_js_query_params``). NiceGUI 3.x nicegui.js additionally puts ``document_id``, ``tab_id`` and
        ``old_tab_id`` into it (they are the handshake data when ``implicit_handshake`` is true).
        """
        query = dict(self.page_query) or {'client_id': self.client_id}
        query['next_message_id'] = self.next_message_id
        if self.major_version >= 3:
            query.update(document_id=self.document_id, tab_id=self.tab_id, old_tab_id=None)
        return query

    async def _connect_socket(self, url: str) -> bool:
        parts = urllib.parse.urlsplit(url)
        base = f'{parts.scheme}://{parts.netloc}'
        query = urllib.parse.urlencode({k: js_query_value(v) for k, v in self.socket_query().items()}
                                       | {WINDOW_QUERY: self.name})
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=self._session)
        self._install_handlers(sio)
        self._sio = sio
        try:
            await sio.connect(f'{base}?{query}', socketio_path=f'{self.prefix.strip("/")}/{SOCKETIO_PATH}'.lstrip('/'),
                              transports=['websocket'], wait_timeout=5)
        except (socketio.exceptions.ConnectionError, aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            self.page_error = f'socket connect failed: {e}'
            self.state = LOAD_FAILED
            self._record('socket_connect_failed', error=str(e))
            self._sio = None
            self._changed()
            if 'Implicit handshake failed' in str(e) and not self._reloaded_after_reject:
                # NiceGUI 3.7+ nicegui.js connect_error: reload once the server refused the implicit handshake
                self._reloaded_after_reject = True
                self._spawn(self.reload())
            return False
        self.sid = sio.get_sid()
        self.state = CONNECTED
        self._record('socket_connected_client')
        self._changed()
        return True

    async def _handshake(self, generation: int) -> None:
        if self.latency.handshake_ms:
            await asyncio.sleep(self.latency.handshake_ms / 1000)
        sio = self._sio
        if sio is None or generation != self._load_generation or not sio.connected:
            return
        if self.major_version >= 3:  # 3.x nicegui.js: emit("handshake", options.query, ...)
            data = self.socket_query()
        else:
            data = {'client_id': self.client_id, 'document_id': self.document_id, 'tab_id': self.tab_id,
                    'old_tab_id': None, 'next_message_id': self.next_message_id}
        self._record('handshake_sent', document_id=self.document_id)
        self._frame('sent', 'handshake', data)
        try:
            ok = await sio.call('handshake', data, timeout=5)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                socketio.exceptions.DisconnectedError) as e:
            self._record('handshake_failed', error=f'{type(e).__name__}: {e}')
            return
        self._frame('received', 'handshake ack', ok)
        self._record('handshake_acked', ok=bool(ok))
        if not ok:
            self.handshakes_rejected += 1
        if generation != self._load_generation:
            return
        if ok:
            self.state = HANDSHAKE_DONE
            self._changed()
        elif not self._reloaded_after_reject:  # nicegui.js: window.location.reload()
            self._reloaded_after_reject = True
            self._spawn(self.reload())
        else:
            self.page_error = 'handshake rejected: the server does not know this client_id'
            self._changed()

    def _spawn(self, coro: Any) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _frame(self, direction: str, event: str, payload: Any) -> None:
        self.frames.append(Frame(now_ns(), direction, event, payload))

    def _install_handlers(self, sio: socketio.AsyncClient) -> None:
        @sio.on('disconnect')
        async def _on_disconnect(reason: Any = None) -> None:
            if self._sio is sio and not self._closing_socket:  # the server closed it
                self._record('disconnect_client', by='server', reason=str(reason))
                self.state = DISCONNECTED
                self._changed()

        @sio.on('*')
        async def _on_message(event: str, payload: Any = None) -> None:
            if self._sio is not sio:
                return
            self._frame('received', event, payload)
            if isinstance(payload, dict) and isinstance(payload.get('_id'), int):
                if payload['_id'] < self.next_message_id:
                    self._record('message_dropped', event=event, message_id=payload['_id'],
                                 next_message_id=self.next_message_id)
                    self._changed()
                    return
                self.next_message_id = payload['_id'] + 1
            self._handle_message(event, payload)

    def _handle_message(self, event: str, payload: Any) -> None:
        if event == 'download' and isinstance(payload, dict):
            self.download_events += 1
            self._record('download_event', src=str(payload.get('src'))[:300], filename=payload.get('filename'))
            self._spawn(self._fetch_download(payload))
        elif event == 'update' and isinstance(payload, dict):
            for element_id, element in payload.items():
                if element_id == '_id':
                    continue
                if element is None:
                    self.elements.pop(str(element_id), None)
                elif isinstance(element, dict):
                    old = self.elements.get(str(element_id))
                    # NiceGUI 3.x nicegui.js: props named in preserved_props keep their client-side value
                    for prop in element.pop('preserved_props', None) or []:
                        if old is not None and prop in (old.get('props') or {}):
                            element.setdefault('props', {})[prop] = old['props'][prop]
                    self.elements[str(element_id)] = element
            self._record('update_received', elements=len(payload) - ('_id' in payload))
        elif event == 'notify' and isinstance(payload, dict):
            self.notifications.append(str(payload.get('message')))
            self._record('notify_received', message=str(payload.get('message'))[:200])
        else:
            self._record('message_received', event=event)
        self._changed()

    async def _fetch_download(self, payload: dict) -> None:
        src = payload.get('src')
        filename = str(payload.get('filename') or 'download')
        if isinstance(src, (bytes, bytearray)):  # raw bytes: no HTTP request
            self._add_download(Download(filename, '', 200, len(src), hashlib.sha256(src).hexdigest(),
                                        self._t_ms()))
            return
        if self.latency.download_ms:
            await asyncio.sleep(self.latency.download_ms / 1000)
        src = str(src)  # nicegui.js download(): only a path starting with "/" gets the prefix
        url = urllib.parse.urljoin(self.url or '', self.prefix + src if src.startswith('/') else src)
        self._record('download_get_sent', url=url)
        try:
            assert self._session is not None
            async with self._session.get(url) as response:
                body = await response.read()
                status = response.status
            download = Download(filename, url, status, len(body) if status == 200 else 0,
                                hashlib.sha256(body).hexdigest() if status == 200 else '', self._t_ms())
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, AssertionError) as e:
            download = Download(filename, url, 0, 0, '', self._t_ms(), error=str(e) or type(e).__name__)
        self._add_download(download)

    def _add_download(self, download: Download) -> None:
        self.downloads.append(download)
        self._record('download_get', filename=download.filename, status=download.status, bytes=download.bytes,
                     sha256=download.sha256[:16])
        self._changed()

    def _t_ms(self) -> float:
        return (now_ns() - self.timeline.t0_ns) / 1e6

    def find_clickable(self, label: str) -> tuple[str, dict]:
        """The element id and element whose label or text is ``label`` and that has a click listener.
        Raises LookupError naming the window and the labels it has."""
        for element_id, element in self.elements.items():
            props = element.get('props') or {}
            if label in (props.get('label'), element.get('text')) and _click_listener(element):
                return element_id, element
        have = sorted({str((e.get('props') or {}).get('label') or e.get('text'))
                       for e in self.elements.values() if _click_listener(e)})
        raise LookupError(f'window {self.name!r}: no clickable element labelled {label!r} '
                          f'(clickable: {", ".join(have) or "none"})')

    async def click(self, label: str) -> None:
        """Click the element labelled ``label``: emit ``event {id, client_id, listener_id, args: []}``.
        Raises LookupError if there is no such element, RuntimeError if the socket is not connected."""
        element_id, element = self.find_clickable(label)
        await self.click_element(element_id)

    async def click_element(self, element_id: str) -> None:
        """Click the element with this id (see :meth:`click`)."""
        element = self.elements[str(element_id)]
        listener = _click_listener(element)
        if self._sio is None or not self._sio.connected:
            raise RuntimeError(f'window {self.name!r}: cannot click, the socket is {self.state}')
        msg = {'id': int(element_id) if str(element_id).isdigit() else element_id, 'client_id': self.client_id,
               'listener_id': listener['listener_id'] if listener else None, 'args': []}
        self._record('event_sent', element=element_id,
                     label=(element.get('props') or {}).get('label') or element.get('text'))
        self._frame('sent', 'event', msg)
        self.clicks += 1
        await self._sio.emit('event', msg)

    # ---- value elements (inputs, checkboxes) ------------------------------------------------------------------
    def widgets(self) -> list[dict[str, Any]]:
        """The page's elements as simple widgets, in element-id order: ``{'id': str, 'kind': str, 'tag': str,
        'label': str | None, 'value': Any}`` where ``kind`` is one of :data:`WIDGET_KINDS` (``'button'``,
        ``'label'``, ``'input'``, ``'checkbox'``, ``'switch'``, ``'progress'``, ``'other'``); see
        :func:`describe_element`. Layout containers without text are left out."""
        items = sorted(self.elements.items(), key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0))
        return [w for element_id, element in items
                if (w := describe_element(element_id, element))['kind'] != 'other' or w['label'] is not None]

    def find_value_element(self, label: str) -> tuple[str, dict, dict]:
        """``(element id, element, listener)`` of the input/checkbox/switch labelled ``label`` (``props.label`` or
        ``text``) that has an ``update:value`` or ``update:modelValue`` listener. Raises LookupError naming the
        window and the labels it has."""
        for element_id, element in self.elements.items():
            listener = _value_listener(element)
            if listener is not None and label in ((element.get('props') or {}).get('label'), element.get('text')):
                return element_id, element, listener
        have = sorted({str(_label_of(e)) for e in self.elements.values()
                       if _value_listener(e) is not None and _label_of(e) is not None})
        raise LookupError(f'window {self.name!r}: no input labelled {label!r} (inputs: {", ".join(have) or "none"})')

    def value(self, label: str) -> Any:
        """The current value of the input/checkbox labelled ``label`` as this window shows it. Raises LookupError."""
        _, element, listener = self.find_value_element(label)
        return (element.get('props') or {}).get(_value_prop(listener))

    async def set_value(self, label: str, value: Any) -> None:
        """Change the value of the element labelled ``label`` the way a person does in the real page.

        The component emits its ``update:<prop>`` Vue event and NiceGUI 2.11.0 / 3.x nicegui.js turns it into
        ``event {id, client_id, listener_id, args: stringifyEventArgs([value], listener.args)}`` — each argument
        JSON-encoded as a string (``'"hello"'``, ``'true'``); the server ``json.loads`` them back. The value is also
        kept in the local element (``props.value`` for ``update:value``, ``props['model-value']`` for
        ``update:modelValue``), as the Vue component would show it before the server answers.
        Raises LookupError (no such input) or RuntimeError (socket not connected)."""
        element_id, element, listener = self.find_value_element(label)
        if self._sio is None or not self._sio.connected:
            raise RuntimeError(f'window {self.name!r}: cannot change {label!r}, the socket is {self.state}')
        element.setdefault('props', {})[_value_prop(listener)] = value
        msg = {'id': int(element_id) if str(element_id).isdigit() else element_id, 'client_id': self.client_id,
               'listener_id': listener.get('listener_id'), 'args': stringify_event_args([value], listener.get('args'))}
        self._record('event_sent', element=element_id, label=label, type=listener.get('type'), value=repr(value)[:200])
        self._frame('sent', 'event', msg)
        self._changed()
        await self._sio.emit('event', msg)

    async def type_text(self, label: str, text: str, *, per_key_ms: float | None = None) -> None:
        """Type ``text`` into the input labelled ``label``, replacing its value (like Playwright's ``fill``).

        Without ``per_key_ms`` one value change with the whole text is sent (a paste). With ``per_key_ms`` (ms)
        one change per character is sent, each with the text so far, ``per_key_ms`` apart — what NiceGUI's
        ``nicegui-input`` (q-input + ``watch: inputValue``) emits while a person types. The listener's
        ``throttle`` is not applied. Raises LookupError / RuntimeError like :meth:`set_value`."""
        if per_key_ms is None:
            await self.set_value(label, text)
            return
        for i in range(1, len(text) + 1):
            await self.set_value(label, text[:i])
            if i < len(text) and per_key_ms > 0:
                await asyncio.sleep(per_key_ms / 1000)

    async def set_checked(self, label: str, checked: bool = True) -> None:
        """Tick (or untick) the checkbox/switch labelled ``label`` (``update:modelValue`` with a bool)."""
        await self.set_value(label, bool(checked))

    async def emit_raw(self, event: str, payload: Any) -> None:
        """Send any socket.io message as is (for malformed-input tests). Raises RuntimeError when not connected."""
        if self._sio is None or not self._sio.connected:
            raise RuntimeError(f'window {self.name!r}: not connected')
        self._frame('sent', event, payload)
        await self._sio.emit(event, payload)

    # ---- connection loss and reconnect (NiceGUI Client.instances double delete, problem 2) --------------------
    async def drop_connection(self) -> None:
        """Network loss: the socket goes silent without a close frame or TCP FIN.

        The window stops reading its TCP connection (``transport.pause_reading()``), so it neither sees the
        server's pings nor answers them; the server notices only by its engine.io ping timeout, after
        ``ping_interval + ping_timeout`` seconds (``ServerPolicy.ping_interval_s`` / ``ping_timeout_s``, 25 + 20 s
        by default — set them to ~0.1 s in a scenario to keep it fast). The window shows ``disconnected`` at
        once and records ``connection_dropped``; :meth:`reconnect` opens a new socket for the same page.
        Raises RuntimeError when there is no open socket or its transport cannot be found."""
        sio = self._sio
        if sio is None or not sio.connected:
            raise RuntimeError(f'window {self.name!r}: no open socket to drop (state: {self.state})')
        transport = _socket_transport(sio)
        if transport is None:
            raise RuntimeError(f'window {self.name!r}: cannot find the socket transport to drop')
        if self._handshake_task is not None and not self._handshake_task.done():
            self._handshake_task.cancel()
            await asyncio.gather(self._handshake_task, return_exceptions=True)
        self._handshake_task = None
        transport.pause_reading()
        self._sio = None
        self._dropped.append((sio, sio.eio.ws))
        self.state = DISCONNECTED
        self._record('connection_dropped')
        self._changed()

    async def reconnect(self, *, wait: bool = True) -> None:
        """A socket.io reconnect: a new socket (new sid) for the *same* page — same client_id, document_id and
        tab_id, the current next_message_id — followed by the handshake (after ``latency.handshake_ms``).

        The server cancels the pending delayed delete of the document (NiceGUI ``handle_handshake``) if the client
        still exists; if it was deleted (reconnect_timeout passed, or prune) the handshake is rejected and the page
        reloads as nicegui.js does (``handshakes_rejected`` counts this). A still-open socket is closed first.
        With ``wait`` it returns once the handshake is acknowledged. Raises RuntimeError when no page was loaded
        or the window is closed."""
        if self.url is None or self.client_id is None or self.document_id is None:
            raise RuntimeError(f'window {self.name!r}: no page to reconnect')
        if self._session is None or self._session.closed:
            raise RuntimeError(f'window {self.name!r}: the window is closed')
        await self._leave_page()
        self._load_generation += 1
        generation = self._load_generation
        self.reconnects += 1
        self.state = CONNECTING
        self._record('reconnect_started', document_id=self.document_id)
        self._changed()
        if not await self._connect_socket(self.url):
            return
        if self.implicit_handshake:
            self._record('handshake_acked', ok=True, implicit=True)
            self.state = HANDSHAKE_DONE
            self._changed()
            return
        self._handshake_task = asyncio.ensure_future(self._handshake(generation))
        if wait:
            await asyncio.gather(self._handshake_task, return_exceptions=True)

    async def _discard_dropped(self) -> None:
        """Release sockets silenced by :meth:`drop_connection`: abort their TCP connection, close the socket.io
        client and the websocket response (engine.io does not close it when it gave up by itself)."""
        dropped, self._dropped = self._dropped, []
        for sio, ws in dropped:
            transport = _socket_transport(sio)
            if transport is not None:
                transport.abort()
            for closing in (sio.disconnect(), ws.close() if ws is not None else None):
                if closing is None:
                    continue
                try:
                    await asyncio.wait_for(closing, 1.0)
                except Exception:  # already gone
                    pass

    # ---- progress (the /convert page's q-linear-progress) ---------------------------------------------------
    @property
    def progress(self) -> Optional[float]:
        """``props.value`` (0.0 … 1.0) of the page's first ``q-linear-progress`` element, None if it has none."""
        for element in self.elements.values():
            if isinstance(element, dict) and element.get('tag') == 'q-linear-progress':
                value = (element.get('props') or {}).get('value')
                try:
                    return float(value) if value is not None else 0.0
                except (TypeError, ValueError):
                    return None
        return None

    def _track_progress(self) -> None:
        value = self.progress
        if value is None or (self.progress_history and self.progress_history[-1][1] == value):
            return
        t_ns = now_ns()
        self.progress_history.append((t_ns, value))
        self.timeline.record(self.name, 'progress_changed', window=self.name, sid=self.sid,
                             client_id=self.client_id, t_ns=t_ns, value=value)

    async def reload(self, *, wait: bool = True) -> None:
        """Reload the current page: same tab_id, new document_id, new socket."""
        if self.url is None:
            raise RuntimeError(f'window {self.name!r}: nothing to reload')
        await self.open(self.url, wait=wait)

    async def navigate(self, url: str, *, before_handshake: bool = False, wait: bool = True) -> None:
        """Close the current socket and open ``url`` (relative URLs resolve against the current one).

        With ``before_handshake`` the new page's socket connects and is closed again before its handshake
        is sent — the fast-navigation race of NiceGUI #4304. The window then shows ``disconnected``."""
        url = urllib.parse.urljoin(self.url or '', url)
        if before_handshake:
            await self.open(url, handshake=False)
            await self._leave_page()
            self.state = DISCONNECTED
            self._changed()
        else:
            await self.open(url, wait=wait)

    async def _leave_page(self) -> None:
        """Close the current socket, if any (a page unload)."""
        if self._handshake_task is not None and not self._handshake_task.done():
            self._handshake_task.cancel()
            await asyncio.gather(self._handshake_task, return_exceptions=True)
        self._handshake_task = None
        sio, self._sio = self._sio, None
        if sio is not None:
            self._closing_socket = True
            try:
                self._record('disconnect_client', by='client')
                await sio.disconnect()
            finally:
                self._closing_socket = False
            self.state = DISCONNECTED

    async def close(self) -> None:
        """Close the window: cancel pending downloads, close the socket and the HTTP session. Idempotent."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._leave_page()
        await self._discard_dropped()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.state != CLOSED:
            self.state = CLOSED
            self._record('window_closed')
            self._changed()
        self.sid = None


def _socket_transport(sio: socketio.AsyncClient) -> Any:
    """The asyncio TCP transport under a socket.io client's websocket, or None (python-engineio keeps the
    aiohttp ``ClientWebSocketResponse`` as ``eio.ws``; its writer holds the transport)."""
    ws = getattr(getattr(sio, 'eio', None), 'ws', None)
    for holder in (getattr(ws, '_writer', None), getattr(ws, '_conn', None)):
        transport = getattr(holder, 'transport', None)
        if transport is not None:
            return transport
    return None


def _click_listener(element: dict) -> Optional[dict]:
    for listener in element.get('events') or []:
        if isinstance(listener, dict) and listener.get('type') == 'click':
            return listener
    return None


#: listener types of value elements (NiceGUI ValueElement: ``self.on(f'update:{VALUE_PROP}', ...)``)
VALUE_EVENTS = ('update:value', 'update:modelValue')
#: ``kind`` values of :meth:`SimulatedBrowser.widgets`
WIDGET_KINDS = ('button', 'label', 'input', 'checkbox', 'switch', 'progress', 'other')
_TAG_KINDS = {
    'q-btn': 'button', 'nicegui-button': 'button',
    'nicegui-input': 'input', 'q-input': 'input', 'nicegui-textarea': 'input', 'nicegui-number': 'input',
    'q-checkbox': 'checkbox', 'nicegui-checkbox': 'checkbox',
    'q-toggle': 'switch', 'nicegui-switch': 'switch',
    'q-linear-progress': 'progress', 'q-circular-progress': 'progress',
    'div': 'label', 'span': 'label', 'q-label': 'label', 'nicegui-label': 'label',
}


def _value_listener(element: dict) -> Optional[dict]:
    if element.get('tag') in ('q-linear-progress', 'q-circular-progress'):
        return None  # display only, although NiceGUI gives them an update:value listener
    for listener in element.get('events') or []:
        if isinstance(listener, dict) and listener.get('type') in VALUE_EVENTS:
            return listener
    return None


def _value_prop(listener: dict) -> str:
    """``update:value`` → ``value``; ``update:modelValue`` → ``model-value`` (NiceGUI's VALUE_PROP)."""
    return 'value' if listener.get('type') == 'update:value' else 'model-value'


def _label_of(element: dict) -> Optional[str]:
    label = (element.get('props') or {}).get('label')
    if label is None:
        label = element.get('text')
    return None if label is None else str(label)


def describe_element(element_id: str, element: dict) -> dict[str, Any]:
    """One element of a NiceGUI 2.x/3.x page as ``{'id', 'kind', 'tag', 'label', 'value'}``.

    Shapes read from real NiceGUI 2.11.0 pages: a button is ``q-btn`` with ``props.label``; a label is a ``div``
    with ``text`` (a number for the text inside a progress bar); ``ui.input`` is ``nicegui-input`` with
    ``props.value`` / ``props.label`` and an ``update:value`` listener; ``ui.checkbox`` is ``q-checkbox`` (label in
    ``text``, value in ``props['model-value']``, ``update:modelValue`` listener); ``ui.switch`` is ``q-toggle``;
    ``ui.linear_progress`` is ``q-linear-progress`` with ``props.value`` 0..1. Unknown tags are ``'other'``.
    """
    tag = str(element.get('tag'))
    props = element.get('props') or {}
    kind = _TAG_KINDS.get(tag, 'other')
    if kind == 'label' and element.get('text') is None:
        kind = 'other'  # a layout div
    if kind == 'other' and _value_listener(element) is not None:
        kind = 'input'
    if kind in ('input', 'checkbox', 'switch'):
        listener = _value_listener(element)
        value = props.get(_value_prop(listener)) if listener else props.get('value', props.get('model-value'))
    elif kind == 'progress':
        value = props.get('value')
    else:
        value = None
    return {'id': str(element_id), 'kind': kind, 'tag': tag, 'label': _label_of(element), 'value': value}


def stringify_event_args(args: list[Any], event_args: Optional[list]) -> list[str]:
    """Port of nicegui.js ``stringifyEventArgs`` (2.11.0 and 3.x): keep the first ``len(event_args)`` arguments
    (all when ``event_args`` is None), filter dict arguments to the keys listed in ``event_args[i]`` (all when it
    is None) and JSON-encode each one into a string."""
    result = []
    for i, arg in enumerate(args):
        if event_args is not None and i >= len(event_args):
            continue
        if isinstance(arg, dict):
            wanted = None if event_args is None else event_args[i]
            arg = {k: v for k, v in arg.items() if wanted is None or k in wanted}
        result.append(json.dumps(arg, separators=(',', ':')))
    return result
