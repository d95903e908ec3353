"""SimulatedBrowser: one simulated browser window speaking NiceGUI 2.x's (and 3.x's) protocol (no Qt).

The facade of the package, modelled on one tab running NiceGUI 2.11.0 ``nicegui/static/nicegui.js``: it holds
the window's state and listeners, loads pages (:mod:`.page`), and delegates the socket to :mod:`.connection`,
the 2.x/3.x differences to :mod:`.dialect`, element lookup and ``event`` messages to :mod:`.elements` and
downloads to :mod:`.downloads`.

Each window belongs to a :class:`~.context.BrowserContext` (cookie jar and HTTP connection pool; by default a
context of its own, like a separate browser) and has, per page load, its own ``socketio.AsyncClient`` — a page
load in a real browser opens a new socket. As nicegui.js does:

* the page's config (client_id, next_message_id, elements) is read from the HTML (see ``protocol.md`` §1);
* on connect it emits ``handshake {client_id, document_id, tab_id, old_tab_id, next_message_id}`` with an ack;
  ``document_id`` is new per page load, ``tab_id`` lives as long as the window (sessionStorage);
  a ``false`` ack makes the page reload (once here, to avoid a reload loop);
* messages whose ``_id`` is below ``next_message_id`` are dropped, others advance it to ``_id + 1``;
* on ``download`` it GETs ``prefix + src`` after its own download latency.

Latency knobs (:class:`Latency`, all in **ms**) make races deterministic. Every step is stamped on the shared
:class:`clientsim.simulator.timeline.Timeline`. Observers register ``browser.listeners.append(callback)``;
``callback(browser)`` runs after every state change (the GUI adapter turns it into a Qt signal). Background
work (handshakes, downloads, reloads) runs in one :class:`~simulator.tasks.TaskGroup` per window, cancelled
by :meth:`SimulatedBrowser.close`.
"""
from __future__ import annotations

import asyncio
import random
import urllib.parse
import uuid
from typing import Any, Callable, Optional

import aiohttp

from clientsim.server.wire import WINDOW_HEADER

from ..outcome import download_outcome
from ..tasks import TaskGroup, complete, wait_for
from ..timeline import Timeline, now_ns
from . import dialect
from . import elements as el
from .boot import USER_AGENT, boot
from .connection import Connection
from .context import BrowserContext
from .controls import ElementControls
from .downloads import Download, fetch_download
from .latency import latency_sleep
from .messages import dispatch
from .page import PageError, parse_elements_json, parse_page, shared_text
from .ports import Ports, owned_by_connection
from .scripts import JavaScriptRules
from .state import CLOSED, CONNECTING, DISCONNECTED, LOAD_FAILED, LOADING, WINDOW_SLOTS, Frame, FrameRing, Latency

_NOTHING_CACHED: frozenset[str] = frozenset()
"""The ``static_cached`` of every window that fetched no static file yet (CPython makes a new 216 B object per
``frozenset()``; issue 24)."""


class SimulatedBrowser(ElementControls):
    """One simulated browser window.

    ``SimulatedBrowser(name, timeline=Timeline(), latency=Latency(...))``. Actions are coroutines:
    :meth:`open`, :meth:`click`, :meth:`reload`, :meth:`navigate`, :meth:`close`, :meth:`drop_connection`,
    :meth:`reconnect`. State: ``url``, ``elements``
    (element id → dict), ``client_id``, ``sid``, ``state`` (one of :data:`STATES`), ``downloads``
    (list of :class:`Download`), ``download_events`` (count), ``frames`` (the last
    :data:`~.state.FRAME_HISTORY` :class:`Frame` s, a :class:`~.state.FrameRing`; ``frames.keep_all()`` keeps all),
    ``progress`` (the page's ``q-linear-progress`` value 0..1 or None) with ``progress_history``
    (``(t_ns, value)``), ``handshakes_rejected`` and ``reconnects`` (counts); NiceGUI 3.x behaviour:
    ``auto_reconnect`` (socket.io reconnection, off by default, on for windows of a target), ``acks_sent``,
    ``javascript_rules`` (:class:`~.scripts.JavaScriptRules`) with ``javascript_requests`` (every non-navigation
    ``run_javascript``: ``{code, request_id, answered, result}``), ``ignored`` (event name → count of messages the
    window does not follow, :mod:`.messages`), ``new_tabs`` (URLs ``open`` asked for in a new tab; ``on_new_tab(url)``
    opens them), ``history`` (the URLs of this tab) and ``uploads`` (``{element, files, status, sha256}``).
    ``context``: the :class:`~.context.BrowserContext` (browser profile) the window is a tab of; None: its own.
    Must be used inside a running asyncio loop; call :meth:`close` to release sockets and the HTTP session.
    """

    __slots__ = WINDOW_SLOTS  # no per-window instance dict (issue 24): see .state.WINDOW_SLOTS

    def __init__(self, name: str, timeline: Timeline | None = None, latency: Latency | None = None,
                 context: BrowserContext | None = None) -> None:
        self.name = name
        self.context = context or BrowserContext()  # the browser profile: cookie jar and HTTP pool (context.py)
        self.timeline = timeline or Timeline()
        self.latency = latency or Latency()
        self.tab_id = str(uuid.uuid4())
        self.old_tab_id: Optional[str] = None  # NiceGUI 2.5+ nicegui.js OLD_TAB_ID (set in a duplicated tab)
        self.url: Optional[str] = None
        self.page_status: Optional[int] = None
        self.page_error: Optional[str] = None
        self.client_id: Optional[str] = None
        self.document_id: Optional[str] = None
        self.prefix = ''
        self.version = ''
        self.page_query: dict[str, Any] = {}  # the page's socket.io query (parse_page()['query'])
        self.page_transports: list[str] = ['websocket', 'polling']  # the page's socket.io transports
        self.implicit_handshake = False  # NiceGUI 3.7+: the socket connect carries the handshake
        self._elements: dict[str, dict[str, Any]] = {}
        self._elements_json: Optional[str] = None  # the page's element tree as text until someone reads elements
        self.downloads: list[Download] = []
        self.download_events = 0
        self.clicks = 0  # click events this window sent (all pages)
        self.notifications: list[str] = []
        self.frames = FrameRing()  # the last FRAME_HISTORY frames; frames.keep_all() keeps every one
        self.listeners: list[Callable[['SimulatedBrowser'], None]] = []
        self.handshakes_rejected = 0  # handshake acks that were false (the server no longer knew the client_id)
        self.reconnects = 0  # reconnect() calls: new socket, same document_id
        self.progress_history: list[tuple[int, float]] = []  # (t_ns, q-linear-progress value) on every change
        self.page_loaded_ns: Optional[int] = None  # when the current page's HTML arrived (timeline clock, ns)
        self.auto_reconnect = False
        self.acks_sent = 0
        self._rng: Optional[random.Random] = None  # see rng: made on first use (a Random is ~2.5 KB, issue 24)
        #: the load profile when ``latency.load`` is None (:mod:`.boot`): browser-like; the lab sets ``'instant'``
        #: for windows on the embedded server
        self.default_load = 'chromium'
        #: send clientsim's window name (``X-Clientsim-Window`` header) so the server or probe can name sockets
        self.tag_requests = True
        self.static_cached = _NOTHING_CACHED  # static files already fetched (Chromium's memory cache; boot.py)
        self.javascript_rules = JavaScriptRules()
        self.javascript_requests: list[dict[str, Any]] = []
        self.ignored: dict[str, int] = {}
        self.new_tabs: list[str] = []
        self.on_new_tab: Optional[Callable[[str], Any]] = None
        self.history: list[str] = []
        self.history_index = -1
        self._next_old_tab_id: Optional[str] = None
        self.uploads: list[dict[str, Any]] = []
        self._session: Optional[aiohttp.ClientSession] = None
        self._tasks = TaskGroup(f'window {name}')
        self._closing_window = False
        self.ports = Ports(self)  # what the parts may do to this window (WindowPorts)
        self._connection = Connection(self, self._handle_message)
        self._changed_event: Optional[asyncio.Event] = None  # made by wait_for only (an Event is ~0.7 KB)
        self._load_generation = 0

    # ---- what the connection owns (Connection.sid, .state, .next_message_id) ----------------------------
    sid = owned_by_connection('sid', "The current socket's sid (None without one).")
    state = owned_by_connection('state', 'One of :data:`~.state.STATES` (the page load sets it too).')
    next_message_id = owned_by_connection('next_message_id', "nicegui.js's ``next_message_id``: the lowest server "
                                          "message ``_id`` still to accept (a page load sets it from the page).")

    # ---- observation ----------------------------------------------------------------------------------------
    def _record(self, kind: str, **detail: Any) -> None:
        self.timeline.record(self.name, kind, window=self.name, sid=self.sid, client_id=self.client_id, **detail)

    def _frame(self, direction: str, event: str, payload: Any) -> None:
        self.frames.append(Frame(now_ns(), direction, event, payload))

    def _changed(self) -> None:
        self._track_progress()
        if self._changed_event is not None:  # someone waits (wait_for): wake them, the next wait makes a new one
            self._changed_event.set()
            self._changed_event = None
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception:
                pass

    async def wait_for(self, predicate: Callable[['SimulatedBrowser'], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate(self)`` is true. ``timeout`` in **seconds**; raises asyncio.TimeoutError."""
        async def _wait() -> None:
            while not predicate(self):
                if self._changed_event is None:
                    self._changed_event = asyncio.Event()
                await self._changed_event.wait()
        await wait_for(_wait(), timeout)

    @property
    def elements(self) -> dict[str, dict[str, Any]]:
        """The page's element tree: element id (str) → element dict (``tag``, ``text``, ``props``, ``children``
        …), as nicegui.js ``parseElements()`` builds it and ``update`` messages change it."""
        if self._elements_json is not None:
            text, self._elements_json = self._elements_json, None
            self._elements = parse_elements_json(text)
        return self._elements

    @elements.setter
    def elements(self, value: dict[str, dict[str, Any]]) -> None:
        self._elements, self._elements_json = value, None

    @property
    def rng(self) -> random.Random:
        """Random source of the window's draws (reconnect jitter, boot time); the lab seeds it from the run's seed.
        Made on first use."""
        if self._rng is None:
            self._rng = random.Random()
        return self._rng

    @rng.setter
    def rng(self, value: random.Random) -> None:
        self._rng = value

    @property
    def download_outcome(self) -> str:
        """``'received'`` if any download got 200, ``'failed'`` if every attempt failed, ``'none'`` if no
        download was attempted (:func:`clientsim.simulator.outcome.download_outcome`; drives the
        green/red/neutral window colour)."""
        return download_outcome(d.status for d in self.downloads)

    @property
    def progress(self) -> Optional[float]:
        """``props.value`` (0.0 … 1.0) of the page's first ``q-linear-progress`` element, None if it has none."""
        if self._elements_json is not None and el.PROGRESS_TAG not in self._elements_json:
            return None  # no progress bar on the page: the element tree can stay text
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

    async def open(self, url: str, *, handshake: bool = True, wait: bool = True, history: str = 'push') -> None:
        """Load ``url`` (any http URL of a NiceGUI 2.x/3.x page), boot it (:mod:`.boot`), connect its socket and
        send the handshake after ``latency.handshake_ms``. With ``handshake=False`` the socket connects but no
        handshake is sent. With ``wait`` it returns once the handshake is acknowledged (or the page failed);
        otherwise once the socket is connected. In Chromium's order (headless Chromium 156, issue #18): the new
        page is fetched first and the old page's socket is closed (code 1001) only after its response.
        HTTP errors and non-NiceGUI pages set ``state = 'load failed'`` and ``page_error``; they do not raise.
        ``history``: ``'push'`` adds ``url`` to the tab's history (dropping the forward entries), ``'keep'``
        (reload, back, forward) leaves it."""
        self._load_generation += 1
        generation = self._load_generation
        await self._connection.stop_tasks()  # the old page's pending handshake and reconnect loop end here
        if self._session is None or self._session.closed:
            if self._session is not None:  # closed under us: give the context its join back before a new one
                await self.context.leave()
            self._session = self.context.join(headers={'User-Agent': USER_AGENT})
        self.url = url
        if history == 'push':
            self.set_history_url(url)
        # nicegui.js 2.5+: OLD_TAB_ID is set only in the first page of a duplicated tab (onbeforeunload clears it)
        self.old_tab_id, self._next_old_tab_id = self._next_old_tab_id, None
        self.state = LOADING
        self.page_error, self.page_status = None, None
        self._changed()
        await latency_sleep(self, 'page_get_ms', self.latency.page_get_ms)
        get_sent_ns = now_ns()
        self._record('page_get_sent', url=url)
        try:
            headers = {WINDOW_HEADER: self.name} if self.tag_requests else {}
            with self.context.routing():  # the request carries this browser's cookies (.context)
                async with self._session.get(url, headers=headers) as response:
                    self.page_status = response.status
                    text = await response.text()
            self._record('page_get_answered', url=url, status=self.page_status)
            if self.page_status != 200:
                raise PageError(f'HTTP {self.page_status}: {text.strip()[:200]}')
            config = parse_page(text)
        except (aiohttp.ClientError, PageError, UnicodeDecodeError, asyncio.TimeoutError) as e:
            if generation == self._load_generation:
                await self._leave_page()  # Chromium shows its error page: the old page unloads
            self.page_error = str(e) or type(e).__name__
            self.elements, self.client_id, self.sid = {}, None, None
            self.state = LOAD_FAILED
            self._record('page_load_failed', url=url, error=self.page_error)
            self._changed()
            return
        if generation != self._load_generation:
            return
        await self._leave_page()  # the old page unloads once the new page's response is there
        if generation != self._load_generation:
            return
        self.client_id = config['client_id']
        self.sid = None
        self.next_message_id = config['next_message_id']
        # parsed once at load (a broken tree fails the load, as parseElements() throws in nicegui.js), then kept as
        # its JSON text (~0.5 KB instead of ~3.5 KB of dicts) until someone reads elements (issue 24)
        self._elements, self._elements_json = {}, shared_text(config['elements_json'])
        self.prefix = config['prefix']
        self.version = config['version']
        self.page_query = config.get('query') or {}
        self.page_transports = config.get('transports') or ['websocket']
        self.implicit_handshake = bool(config.get('implicit_handshake'))
        self.document_id = str(uuid.uuid4())
        self.page_loaded_ns = now_ns()
        self.state = CONNECTING
        self._changed()
        await boot(self, text, get_sent_ns)
        if generation != self._load_generation:
            return
        self._connection.acks.start_page()
        await self._connection.open(url, generation, handshake=handshake, wait=wait)

    async def reload(self, *, wait: bool = True) -> None:
        """Reload the current page: same tab_id, new document_id, new socket. Raises RuntimeError without a page."""
        if self.url is None:
            raise RuntimeError(f'window {self.name!r}: nothing to reload')
        await self.open(self.url, wait=wait, history='keep')

    def set_history_url(self, url: str, *, replace: bool = False) -> None:
        """Put ``url`` into the tab's history (``history.pushState`` / ``replaceState``; also every page load) and
        make it the window's URL without loading it."""
        if replace and self.history:
            self.history[self.history_index] = url
        else:
            del self.history[self.history_index + 1:]
            self.history.append(url)
            self.history_index = len(self.history) - 1
        self.url = url

    async def go_history(self, delta: int) -> None:
        """``history.back()`` (-1) / ``history.forward()`` (+1): load that entry of the tab's history; at either
        end nothing happens (``history_end`` is recorded), as in a browser."""
        index = self.history_index + delta
        if not 0 <= index < len(self.history):
            self._record('history_end', delta=delta)
            return
        self.history_index = index
        await self.open(self.history[index], wait=False, history='keep')

    async def open_duplicate(self, original: 'SimulatedBrowser', *, wait: bool = True) -> None:
        """The browser's "Duplicate tab" of ``original``: sessionStorage is copied, so nicegui.js 2.5.0+ (NiceGUI
        PR #3876) sees ``__nicegui_tab_closed == "false"``, makes a new ``tab_id`` and sends the original's as
        ``old_tab_id`` (the server copies its tab storage); before 2.5.0 the copy kept the same ``tab_id``. The
        page's NiceGUI version decides (:func:`.dialect.duplicate_tab_ids`). Then loads ``original.url`` with the
        same history. Raises RuntimeError when ``original`` has no page."""
        if original.url is None:
            raise RuntimeError(f'window {original.name!r}: no page to duplicate')
        self.tab_id, self._next_old_tab_id = dialect.duplicate_tab_ids(original.version, original.tab_id)
        self._record('tab_duplicated', original=original.name, tab_id=self.tab_id, old_tab_id=self._next_old_tab_id)
        self.history, self.history_index = list(original.history), original.history_index
        await self.open(original.url, wait=wait, history='keep')

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
        HTTP session, to the end even when the caller is cancelled meanwhile. Idempotent. A ``download`` message
        that arrives while it closes starts no fetch (the ``_closing`` flag; recorded as ``download_ignored``)."""
        self._closing_window = True
        try:
            await complete(self._close())  # cancelled or not, the sockets and the HTTP session get closed
        finally:
            self._closing_window = False

    async def _close(self) -> None:
        self._connection.acks.stop()
        await self._tasks.cancel_all()
        await self._leave_page()
        await self._connection.discard_dropped()
        await self._connection.close_session()
        if self._session is not None:
            self._session = None
            await self.context.leave()  # the context's last window closes its HTTP session
        if self.state != CLOSED:
            self.state = CLOSED
            self._record('window_closed')
            self._changed()
        self.sid = None

    # ---- connection loss and reconnect (NiceGUI Client.instances double delete, problem 2) --------------------
    async def drop_connection(self, notice_ms: Optional[float] = None, *,
                              auto_reconnect: Optional[bool] = None) -> None:
        """Network loss: the socket goes silent without a close frame or TCP FIN.

        The window stops reading its TCP connection (``transport.pause_reading()``), so it neither sees the
        server's pings nor answers them; the server notices only by its engine.io ping timeout, after
        ``ping_interval + ping_timeout`` seconds (``ServerPolicy.ping_interval_s`` / ``ping_timeout_s``, 25 + 20 s
        by default — set them to ~0.1 s in a scenario to keep it fast). The window shows ``disconnected`` at
        once and records ``connection_dropped``; :meth:`reconnect` opens a new socket for the same page. With
        ``auto_reconnect`` the page notices the loss after ``notice_ms`` (ms; default the engine.io ping timeout)
        and reconnects with socket.io's backoff (:mod:`.connection`); ``auto_reconnect`` overrides the setting
        for this loss (False: the network stays down).
        Raises RuntimeError when there is no open socket or its transport cannot be found."""
        await self._connection.drop(notice_ms, auto_reconnect)

    async def _auto_reconnect(self) -> None:
        """One attempt of the auto-reconnect loop: :meth:`reconnect`, recorded as ``auto_reconnect``."""
        self._record('auto_reconnect')
        try:
            await self.reconnect(wait=True)
        except RuntimeError as e:  # closed meanwhile
            self._record('auto_reconnect_failed', error=str(e))

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
        """Route a server message that passed the connection's ``_id`` check (:func:`.messages.dispatch`)."""
        dispatch(self, event, payload)

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
