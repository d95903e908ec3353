"""SimulatedBrowser: one simulated browser window speaking NiceGUI 2.x's (and 3.x's) protocol (no Qt).

The facade of the package, modelled on one tab running NiceGUI 2.11.0 ``nicegui/static/nicegui.js``: it holds
the window's state and listeners, loads pages (:mod:`.page`), and delegates the socket to :mod:`.connection`,
the 2.x/3.x differences to :mod:`.dialect`, element lookup and ``event`` messages to :mod:`.elements` and
downloads to :mod:`.downloads`.

Each window has its own ``aiohttp.ClientSession`` (its own cookie jar) and, per page load, its own
``socketio.AsyncClient`` — a page load in a real browser opens a new socket. As nicegui.js does:

* the page's config (client_id, next_message_id, elements) is read from the HTML (see ``protocol.md`` §1);
* on connect it emits ``handshake {client_id, document_id, tab_id, old_tab_id, next_message_id}`` with an ack;
  ``document_id`` is new per page load, ``tab_id`` lives as long as the window (sessionStorage);
  a ``false`` ack makes the page reload (once here, to avoid a reload loop);
* messages whose ``_id`` is below ``next_message_id`` are dropped, others advance it to ``_id + 1``;
* on ``download`` it GETs ``prefix + src`` after its own download latency.

Latency knobs (:class:`Latency`, all in **ms**) make races deterministic. Every step is stamped on the shared
:class:`simulator.timeline.Timeline`. Observers register ``browser.listeners.append(callback)``;
``callback(browser)`` runs after every state change (the GUI adapter turns it into a Qt signal). Background
work (handshakes, downloads, reloads) runs in one :class:`~simulator.tasks.TaskGroup` per window, cancelled
by :meth:`SimulatedBrowser.close`.
"""
from __future__ import annotations

import asyncio
import urllib.parse
import uuid
from typing import Any, Callable, Optional

import aiohttp

from server.wire import WINDOW_HEADER

from ..tasks import TaskGroup
from ..timeline import Timeline, now_ns
from . import dialect
from . import elements as el
from .connection import Connection
from .downloads import Download, fetch_download
from .page import PageError, parse_page
from .state import CLOSED, CONNECTING, DISCONNECTED, LOAD_FAILED, LOADING, Frame, Latency


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
        self.handshakes_rejected = 0  # handshake acks that were false (the server no longer knew the client_id)
        self.reconnects = 0  # reconnect() calls: new socket, same document_id
        self.progress_history: list[tuple[int, float]] = []  # (t_ns, q-linear-progress value) on every change
        self.page_loaded_ns: Optional[int] = None  # when the current page's HTML arrived (timeline clock, ns)
        self._session: Optional[aiohttp.ClientSession] = None
        self._tasks = TaskGroup(f'window {name}')
        self._connection = Connection(self, self._handle_message)
        self._changed_event = asyncio.Event()
        self._load_generation = 0

    # ---- observation ----------------------------------------------------------------------------------------
    def _record(self, kind: str, **detail: Any) -> None:
        self.timeline.record(self.name, kind, window=self.name, sid=self.sid, client_id=self.client_id, **detail)

    def _frame(self, direction: str, event: str, payload: Any) -> None:
        self.frames.append(Frame(now_ns(), direction, event, payload))

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

    @property
    def progress(self) -> Optional[float]:
        """``props.value`` (0.0 … 1.0) of the page's first ``q-linear-progress`` element, None if it has none."""
        return el.progress_of(self.elements)

    def _track_progress(self) -> None:
        value = self.progress
        if value is None or (self.progress_history and self.progress_history[-1][1] == value):
            return
        t_ns = now_ns()
        self.progress_history.append((t_ns, value))
        self.timeline.record(self.name, 'progress_changed', window=self.name, sid=self.sid,
                             client_id=self.client_id, t_ns=t_ns, value=value)

    # ---- the NiceGUI dialect of the current page (dialect.py) ------------------------------------------------
    @property
    def major_version(self) -> int:
        """The NiceGUI major version the page announced (``version: "2.11.0"`` → 2); 2 when unknown (the embedded
        server announces 2.11.0)."""
        return dialect.major_version(self.version)

    def socket_query(self) -> dict[str, Any]:
        """The socket.io connect query the real page sends, as Python values (see :func:`dialect.socket_query`:
        the page's ``query``; NiceGUI 3.x adds ``document_id``, ``tab_id`` and ``old_tab_id``)."""
        return dialect.socket_query(self)

    # ---- page life ------------------------------------------------------------------------------------------
    async def _begin_load(self) -> int:
        """Leave the current page and start a new page load or reconnect; returns its generation."""
        await self._leave_page()
        self._load_generation += 1
        return self._load_generation

    async def open(self, url: str, *, handshake: bool = True, wait: bool = True) -> None:
        """Load ``url`` (any http URL of a NiceGUI 2.x page), connect its socket and send the handshake after
        ``latency.handshake_ms``. With ``handshake=False`` the socket connects but no handshake is sent.
        With ``wait`` it returns once the handshake is acknowledged (or the page failed); otherwise once the
        socket is connected. HTTP errors and non-NiceGUI pages set ``state = 'load failed'`` and
        ``page_error``; they do not raise."""
        generation = await self._begin_load()
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
            async with self._session.get(url, headers={WINDOW_HEADER: self.name}) as response:
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
        await self._connection.open(url, generation, handshake=handshake, wait=wait)

    async def reload(self, *, wait: bool = True) -> None:
        """Reload the current page: same tab_id, new document_id, new socket. Raises RuntimeError without a page."""
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
        await self._connection.leave()

    async def close(self) -> None:
        """Close the window: cancel its background tasks (handshake, downloads, reloads), close the socket and the
        HTTP session. Idempotent. A ``download`` message that arrives while it closes starts no fetch (the
        ``_closing`` flag; recorded as ``download_ignored``)."""
        self._closing_window = True
        try:
            await self._close()
        finally:
            self._closing_window = False

    async def _close(self) -> None:
        await self._tasks.cancel_all()
        await self._leave_page()
        await self._connection.discard_dropped()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.state != CLOSED:
            self.state = CLOSED
            self._record('window_closed')
            self._changed()
        self.sid = None

    # ---- connection loss and reconnect (NiceGUI Client.instances double delete, problem 2) --------------------
    async def drop_connection(self) -> None:
        """Network loss: the socket goes silent without a close frame or TCP FIN.

        The window stops reading its TCP connection (``transport.pause_reading()``), so it neither sees the
        server's pings nor answers them; the server notices only by its engine.io ping timeout, after
        ``ping_interval + ping_timeout`` seconds (``ServerPolicy.ping_interval_s`` / ``ping_timeout_s``, 25 + 20 s
        by default — set them to ~0.1 s in a scenario to keep it fast). The window shows ``disconnected`` at
        once and records ``connection_dropped``; :meth:`reconnect` opens a new socket for the same page.
        Raises RuntimeError when there is no open socket or its transport cannot be found."""
        await self._connection.drop()

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
        generation = await self._begin_load()
        self.reconnects += 1
        self.state = CONNECTING
        self._record('reconnect_started', document_id=self.document_id)
        self._changed()
        await self._connection.open(self.url, generation, wait=wait)

    # ---- server messages ------------------------------------------------------------------------------------
    def _handle_message(self, event: str, payload: Any) -> None:
        """Route a server message that passed the connection's ``_id`` check."""
        if event == 'download' and isinstance(payload, dict) and getattr(self, '_closing_window', False):
            self._record('download_ignored', reason='the window is closing')
        elif event == 'download' and isinstance(payload, dict):
            self.download_events += 1
            self._record('download_event', src=str(payload.get('src'))[:300], filename=payload.get('filename'))
            self._tasks.spawn(self._fetch_download(payload), name=f'{self.name} download')
        elif event == 'update' and isinstance(payload, dict):
            count = el.apply_update(self.elements, payload)
            self._record('update_received', elements=count)
        elif event == 'notify' and isinstance(payload, dict):
            self.notifications.append(str(payload.get('message')))
            self._record('notify_received', message=str(payload.get('message'))[:200])
        else:
            self._record('message_received', event=event)
        self._changed()

    async def _fetch_download(self, payload: dict) -> None:
        try:
            download = await fetch_download(self, payload)
        except RuntimeError as e:  # aiohttp 'Session is closed': the window closed while the fetch started
            self._record('download_get', filename=str(payload.get('filename')), status=0, error=str(e))
            return
        self.downloads.append(download)
        self._record('download_get', filename=download.filename, status=download.status, bytes=download.bytes,
                     sha256=download.sha256[:16])
        self._changed()

    # ---- elements (elements.py) -----------------------------------------------------------------------------
    def widgets(self) -> list[dict[str, Any]]:
        """The page's elements as simple widgets, in element-id order: ``{'id': str, 'kind': str, 'tag': str,
        'label': str | None, 'value': Any}`` where ``kind`` is one of :data:`WIDGET_KINDS` (``'button'``,
        ``'label'``, ``'input'``, ``'checkbox'``, ``'switch'``, ``'progress'``, ``'other'``); see
        :func:`describe_element`. Layout containers without text are left out."""
        return el.widgets(self.elements)

    def find_clickable(self, label: str) -> tuple[str, dict]:
        """The element id and element whose label or text is ``label`` and that has a click listener.
        Raises LookupError naming the window and the labels it has."""
        return el.find_clickable(self.elements, label, self.name)

    def find_value_element(self, label: str) -> tuple[str, dict, dict]:
        """``(element id, element, listener)`` of the input/checkbox/switch labelled ``label`` (``props.label`` or
        ``text``) that has an ``update:value`` or ``update:modelValue`` listener. Raises LookupError naming the
        window and the labels it has."""
        return el.find_value_element(self.elements, label, self.name)

    def value(self, label: str) -> Any:
        """The current value of the input/checkbox labelled ``label`` as this window shows it. Raises LookupError."""
        _, element, listener = self.find_value_element(label)
        return (element.get('props') or {}).get(el.value_prop(listener))

    # ---- interaction: what a person does in the page ---------------------------------------------------------
    async def click(self, label: str) -> None:
        """Click the element labelled ``label``: emit ``event {id, client_id, listener_id, args: []}``.
        Raises LookupError if there is no such element, RuntimeError if the socket is not connected."""
        element_id, _ = self.find_clickable(label)
        await self.click_element(element_id)

    async def click_element(self, element_id: str) -> None:
        """Click the element with this id (see :meth:`click`). Raises KeyError for an unknown id."""
        element = self.elements[str(element_id)]
        listener = el.click_listener(element)
        if not self._connection.connected:
            raise RuntimeError(f'window {self.name!r}: cannot click, the socket is {self.state}')
        msg = el.event_message(element_id, self.client_id, listener['listener_id'] if listener else None, [])
        self._record('event_sent', element=element_id,
                     label=(element.get('props') or {}).get('label') or element.get('text'))
        self._frame('sent', 'event', msg)
        self.clicks += 1
        await self._connection.emit('event', msg)

    async def set_value(self, label: str, value: Any) -> None:
        """Change the value of the element labelled ``label`` the way a person does in the real page.

        The component emits its ``update:<prop>`` Vue event and NiceGUI 2.11.0 / 3.x nicegui.js turns it into
        ``event {id, client_id, listener_id, args: stringifyEventArgs([value], listener.args)}`` — each argument
        JSON-encoded as a string (``'"hello"'``, ``'true'``); the server ``json.loads`` them back. The value is also
        kept in the local element (``props.value`` for ``update:value``, ``props['model-value']`` for
        ``update:modelValue``), as the Vue component would show it before the server answers.
        Raises LookupError (no such input) or RuntimeError (socket not connected)."""
        element_id, element, listener = self.find_value_element(label)
        if not self._connection.connected:
            raise RuntimeError(f'window {self.name!r}: cannot change {label!r}, the socket is {self.state}')
        element.setdefault('props', {})[el.value_prop(listener)] = value
        msg = el.event_message(element_id, self.client_id, listener.get('listener_id'),
                               el.stringify_event_args([value], listener.get('args')))
        self._record('event_sent', element=element_id, label=label, type=listener.get('type'), value=repr(value)[:200])
        self._frame('sent', 'event', msg)
        self._changed()
        await self._connection.emit('event', msg)

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
        if not self._connection.connected:
            raise RuntimeError(f'window {self.name!r}: not connected')
        self._frame('sent', event, payload)
        await self._connection.emit(event, payload)
