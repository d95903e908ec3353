"""What every part of a simulated window shares: its connection states, :class:`Latency`, :class:`Frame` and
:class:`WindowView`, the view of the window that the parts (connection, dialect, downloads) work on.

A leaf of the package (it imports no sibling module), so that the parts can be typed against the window
without importing :mod:`clientsim.simulator.browser.window` — the facade imports the parts, never the other way round.
The states follow one page's life in NiceGUI 2.11.0 ``nicegui/static/nicegui.js`` ``createApp()``: the page
HTML is fetched, the socket connects (``connect``), the handshake is acknowledged, the socket goes away
(``disconnect``).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ContextManager, Literal, Optional, Protocol

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:  # leaves outside the package; no sibling module is imported here
    import aiohttp

    from ..tasks import TaskGroup
    from ..timeline import Timeline

# connection states, in order of a page's life
CLOSED = 'closed'
LOADING = 'loading'
CONNECTING = 'connecting'
CONNECTED = 'connected'            # socket up, handshake not yet acknowledged
HANDSHAKE_DONE = 'handshake done'
DISCONNECTED = 'disconnected'
LOAD_FAILED = 'load failed'
STATES = (CLOSED, LOADING, CONNECTING, CONNECTED, HANDSHAKE_DONE, DISCONNECTED, LOAD_FAILED)
"""Every value of ``SimulatedBrowser.state``, in order of a page's life."""


LOAD_PROFILES = ('chromium', 'instant')
"""How a window boots a page between the page GET's response and the socket connect (:mod:`.boot`)."""


MAX_LATENCY_MS = 3_600_000
"""The largest latency knob (ms): an hour."""


class Latency(BaseModel):
    """Per-window latency knobs in **milliseconds** (0 … 3,600,000: up to an hour, so a window can "never" fetch
    within a run): before the page GET, before the handshake is sent
    after the socket connected, and before a download's GET after the ``download`` event arrived; and the page
    load model: ``load`` is ``'chromium'`` (fetch the page's static files, then page GET → socket connect follows
    Chromium's measured boot time, :mod:`.boot`), ``'instant'`` (connect at once: the speed of load tests) or
    None (the window's ``default_load``: ``'chromium'``, the lab sets ``'instant'`` on the embedded server).
    ``boot_ms``, if set, replaces the drawn boot time (ms from the page GET to the socket connect).

    The one latency model (issue 17): a scenario's ``windows[].latency`` is validated as this model, the window
    holds it, the GUI edits it (assignments are validated). Raises pydantic.ValidationError (a ValueError) for
    an unknown knob or a value out of range."""
    model_config = ConfigDict(extra='forbid', validate_assignment=True)
    page_get_ms: float = Field(0.0, ge=0, le=MAX_LATENCY_MS)
    handshake_ms: float = Field(0.0, ge=0, le=MAX_LATENCY_MS)
    download_ms: float = Field(0.0, ge=0, le=MAX_LATENCY_MS)
    load: Optional[Literal['chromium', 'instant']] = None
    boot_ms: Optional[float] = Field(None, ge=0, le=MAX_LATENCY_MS)


LATENCY_KNOBS = tuple(name for name in Latency.model_fields if name.endswith('_ms'))
"""The latency knobs in ms, from the model: ``page_get_ms``, ``handshake_ms``, ``download_ms``, ``boot_ms``."""


@dataclass(slots=True)
class Frame:
    """One socket.io message as the browser saw it: ``t_ns`` on the timeline clock (ns), ``direction``
    ``'sent'`` or ``'received'``, the socket.io ``event`` name and its ``payload`` as decoded JSON."""
    t_ns: int
    direction: str
    event: str
    payload: Any
    note: str = ''  # e.g. 'ignored: ...' for a message the window does not follow (simulator.browser.messages)


FRAME_HISTORY = 256
"""Frames a window keeps by default (:class:`FrameRing`); older ones are dropped unless an inspector asked for all."""


class FrameRing(list):
    """A window's frame history: a list that keeps the last ``limit`` frames (None: all). ``appended`` counts every
    frame ever appended (a position that survives trimming: :meth:`since`). :meth:`keep_all` makes it keep every
    frame from then on (the GUI's frame inspector calls it when it opens). Trimming drops the oldest frame per
    append beyond the limit (a ``memmove`` of at most ``limit`` pointers)."""

    __slots__ = ('limit', 'appended')

    def __init__(self, limit: Optional[int] = FRAME_HISTORY) -> None:
        super().__init__()
        self.limit, self.appended = limit, 0

    def append(self, frame: 'Frame') -> None:  # type: ignore[override]
        """Add ``frame``; beyond ``limit`` the oldest one goes."""
        super().append(frame)
        self.appended += 1
        if self.limit is not None and len(self) > self.limit:
            del self[0]

    def keep_all(self) -> None:
        """Keep every frame from now on (frames already dropped stay dropped)."""
        self.limit = None

    def since(self, appended: int) -> list['Frame']:
        """The frames appended after the ``appended`` count was read (those still kept)."""
        return list(self[max(0, len(self) - (self.appended - appended)):]) if self.appended > appended else []

    def clear(self) -> None:
        """Drop every frame (``appended`` keeps counting)."""
        del self[:]


class JavaScriptAnswers(Protocol):
    """What a window's ``javascript_rules`` offer (``scripts.JavaScriptRules`` satisfies it)."""

    def answer(self, code: str) -> tuple[bool, Any]:
        """``(True, result)`` from the first matching rule, else ``(False, None)``."""
        ...


class WindowPorts(Protocol):
    """What a part (connection, acks, boot, downloads, latency, messages) may do to its window besides reading
    and writing the fields of :class:`WindowView`: the window's ``ports`` (issue 17: the parts get these, not the
    facade's private members).

    ``record(kind, **detail)`` stamps a timeline event for this window; ``changed()`` notifies listeners and
    waiters; ``frame(direction, event, payload)`` keeps a :class:`Frame`; ``tasks`` is the window's
    :class:`~simulator.tasks.TaskGroup` (cancelled on close); ``generation()`` counts page loads and reconnects (a
    handshake of an older one is ignored); ``session()`` is the window's HTTP session, None once closed, and a
    request through it is made inside ``routing()`` (the window's browser context: its cookies, :mod:`.context`);
    ``closing()`` is true while the window closes (a download message then starts no fetch);
    ``fetch_download(payload)`` GETs a download; ``auto_reconnect()`` reconnects as nicegui.js does."""
    tasks: TaskGroup

    def record(self, kind: str, **detail: Any) -> None: ...

    def changed(self) -> None: ...

    def frame(self, direction: str, event: str, payload: Any) -> None: ...

    def generation(self) -> int: ...

    def session(self) -> Optional[aiohttp.ClientSession]: ...

    def routing(self) -> ContextManager[Any]: ...

    def closing(self) -> bool: ...

    async def fetch_download(self, payload: dict) -> None: ...

    async def auto_reconnect(self) -> None: ...


class WindowView(Protocol):
    """The part of a ``SimulatedBrowser`` its connection, dialect and downloads read and write.

    ``SimulatedBrowser`` satisfies it structurally; the parts never import the facade and never touch its private
    members: what they may do besides reading and writing these fields is ``ports`` (:class:`WindowPorts`).
    ``sid``, ``state`` and ``next_message_id`` are owned by the window's connection (the facade's properties
    read and write the connection's).
    """
    name: str
    timeline: Timeline
    latency: Latency
    tab_id: str
    url: Optional[str]
    state: str
    sid: Optional[str]
    client_id: Optional[str]
    document_id: Optional[str]
    prefix: str
    version: str
    page_query: dict[str, Any]
    page_transports: list[str]
    implicit_handshake: bool
    page_error: Optional[str]
    next_message_id: int
    handshakes_rejected: int
    old_tab_id: Optional[str]
    auto_reconnect: bool
    acks_sent: int
    elements: dict[str, dict[str, Any]]
    frames: list[Frame]
    download_events: int
    notifications: list[str]
    ignored: dict[str, int]
    new_tabs: list[str]
    on_new_tab: Optional[Callable[[str], Any]]
    javascript_rules: JavaScriptAnswers
    javascript_requests: list[dict[str, Any]]
    reconnects: int
    rng: random.Random
    default_load: str
    tag_requests: bool
    page_loaded_ns: Optional[int]
    static_cached: frozenset[str]
    ports: 'WindowPorts'

    async def reload(self, *, wait: bool = True) -> None: ...

    async def navigate(self, url: str, *, before_handshake: bool = False, wait: bool = True) -> None: ...

    async def go_history(self, delta: int) -> None: ...

    def set_history_url(self, url: str, *, replace: bool = False) -> None: ...

    async def emit_raw(self, event: str, payload: Any) -> None: ...


    async def _auto_reconnect(self) -> None: ...


WINDOW_SLOTS = (
    'name', 'context', 'timeline', 'latency', 'tab_id', 'old_tab_id', 'url', 'page_status', 'page_error',
    'client_id', 'document_id', 'prefix', 'version', 'page_query', 'page_transports', 'implicit_handshake',
    '_elements', '_elements_json', 'downloads', 'download_events', 'clicks', 'notifications', 'frames',
    'listeners', 'handshakes_rejected', 'reconnects', 'progress_history', 'page_loaded_ns',
    'auto_reconnect', 'acks_sent', '_rng', 'default_load', 'tag_requests', 'static_cached',
    'javascript_rules', 'javascript_requests', 'ignored', 'new_tabs', 'on_new_tab', 'history',
    'history_index', '_next_old_tab_id', 'uploads', '_session', '_tasks', '_closing_window', 'ports',
    '_connection', '_changed_event', '_load_generation',
)
"""The attributes ``SimulatedBrowser.__init__`` sets, kept in slots instead of a per-instance dict: from 30
attributes on, CPython 3.11 stops sharing an instance dict's keys, and each window's dict took 1.5 KB (issue 24).
Any other attribute still goes to a ``__dict__`` (the mixin base has one), made only when first set."""
