"""The lab: one :class:`~simulator.timeline.Timeline`, the embedded server (or an external target) and named
simulated browser windows — the setup the scenario player, the pytest plugin and the GUI share.

::

    async with Lab(ServerPolicy(download_target='sender')) as lab:     # starts the embedded server
        alice = await lab.open('alice', '/')                           # a path on the server
        bob = await lab.open('bob', '/', latency={'download_ms': 50})  # latency knobs in ms
        await bob.click('Download')
    # leaving the block closes every window and stops the server

No Qt import here.
"""
from __future__ import annotations

import asyncio
import functools
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Union

from clientsim.server.app import EmbeddedServer
from clientsim.server.policy import ServerPolicy
from clientsim.simulator.browser import BrowserContext, Latency, SimulatedBrowser
from clientsim.simulator.browser.scripts import JavaScriptRules

from . import gcbatches
from .chromium.window import ChromiumWindow
from .gcbatches import BatchFreezer
from .target import ExternalTarget, Target
from .timeline import Timeline

LatencyLike = Union[Latency, Mapping[str, float], None]
"""A window's latency: a :class:`Latency`, a mapping of its fields in **ms** (``{'download_ms': 50}``) or None
(no added latency)."""


def _latency(value: LatencyLike) -> Latency:
    if value is None:
        return Latency()
    if isinstance(value, Latency):
        return value
    return Latency(**value)  # TypeError for an unknown knob


class Lab:
    """One timeline + the embedded server or an external target + named :class:`SimulatedBrowser` windows.

    ``Lab(policy=None, *, server=None, target=None, target_dir=None, timeline=None, on_window=None)``:

    * neither ``server`` nor ``target``: the lab owns an :class:`EmbeddedServer` with ``policy`` (default
      :class:`ServerPolicy`), started by :meth:`start` and stopped by :meth:`stop`;
    * ``server``: use this embedded server (the GUI's); ``policy``, if given, is set on it by :meth:`start`. It is
      started only if it is not running — and then stopped by :meth:`stop`; a running one is left running;
    * ``target``: a real app instead of the embedded server (:mod:`clientsim.simulator.target`): a base URL, a
      :class:`~simulator.target.TargetSpec` (started and stopped by the lab; a relative ``cwd`` resolves against
      ``target_dir``) or an :class:`ExternalTarget`. Then :attr:`server` is None.

    ``timeline`` defaults to the server's (or a new one); every window records into it, so server and windows share
    one clock. ``on_window(browser)`` is called for each window the lab creates (the GUI adds a Qt window).
    ``seed`` seeds the embedded server's random draws (``EmbeddedServer.rng``) and each window's ``rng``
    (reconnect jitter, boot time); None leaves them unseeded. Windows boot pages as Chromium does
    (``default_load = 'chromium'``, :mod:`clientsim.simulator.browser.boot`) against a target and at once on the
    embedded server (``'instant'``), unless their latency's ``load`` says otherwise.
    ``gc_batches``: keep the garbage collector out of the way while windows open (:mod:`.gcbatches`: freeze after
    every batch of events, a higher young-generation threshold, undone by :meth:`stop`); default on unless
    ``server`` is given (the GUI, which has its own ``GcFreezer``).
    Raises ValueError when both ``server`` and ``target`` are given.
    """

    def __init__(self, policy: Optional[ServerPolicy] = None, *, server: Optional[EmbeddedServer] = None,
                 target: Union[Target, ExternalTarget, None] = None, target_dir: Union[str, Path, None] = None,
                 timeline: Optional[Timeline] = None,
                 on_window: Optional[Callable[[SimulatedBrowser], None]] = None, seed: Any = None,
                 javascript: Optional[Mapping[str, Any]] = None, gc_batches: Optional[bool] = None) -> None:
        if server is not None and target is not None:
            raise ValueError('a lab has the embedded server or a target, not both')
        self.timeline: Timeline = timeline or (server.timeline if server is not None else Timeline())
        self.policy = policy
        self.target: Optional[ExternalTarget] = (
            target if isinstance(target, ExternalTarget) or target is None
            else ExternalTarget(target, target_dir, self.timeline))
        self.server: Optional[EmbeddedServer] = None if self.target is not None else (
            server or EmbeddedServer(policy or ServerPolicy(), self.timeline, seed=seed))
        if server is not None and seed is not None:
            server.rng.seed(seed)  # the run's server draws come from its seed on the GUI's server too
        self.on_window = on_window
        self.seed = seed  # also seeds each window's rng (reconnect jitter, boot time) as f'{seed}:{name}'
        #: base URL of the server or target (``http://127.0.0.1:<port>``) once started, else None
        self.url: Optional[str] = None
        self._windows: dict[str, SimulatedBrowser] = {}
        #: named browser contexts (``context:`` of a scenario's windows, :meth:`add`); unnamed ones are per window
        self.contexts: dict[str, BrowserContext] = {}
        #: JavaScript rules (regex → result) every window answers ``run_javascript`` with (simulator.browser.scripts)
        self.javascript: dict[str, Any] = dict(javascript or {})
        self._given_server = server is not None
        self._started_server = False
        # the GC out of the way while windows open (simulator.gcbatches); default on unless a host (the GUI) hands
        # in its server, as the GUI keeps the collector short with its own GcFreezer
        self._gc_batches = (server is None) if gc_batches is None else gc_batches
        self._gc_freezer: Optional[BatchFreezer] = None
        self._gc_unsubscribe: Optional[Callable[[], None]] = None

    # ---- lifecycle ----------------------------------------------------------------------------------------------
    @property
    def owns_backend(self) -> bool:
        """Whether :meth:`stop` stops the server or target (False for a running server handed in)."""
        return self.target is not None or not self._given_server or self._started_server

    async def start(self) -> str:
        """Start the server (or target) and return its base URL (``http://127.0.0.1:<port>``, no trailing ``/``).

        Raises OSError when the port cannot be bound, RuntimeError when a target app does not come up (the
        message carries its output)."""
        if self._gc_batches and self._gc_unsubscribe is None:
            gcbatches.activate()
            timeline = self.timeline
            self._gc_freezer = BatchFreezer(lambda: len(timeline.events))
            self._gc_unsubscribe = timeline.subscribe(self._gc_freezer.note)
        if self.target is not None:
            self.url = await self.target.start()
        else:
            assert self.server is not None
            if self._given_server and self.policy is not None:
                self.server.policy = self.policy.model_copy()
            if self.server.running:
                self.url = self.server.url
            else:
                self.url = await self.server.start()
                self._started_server = True
        return self.url

    async def stop(self) -> None:
        """Close every window (errors ignored), then stop the target or the server if the lab owns it.
        Safe to call twice. The windows stay in :attr:`windows` (closed) for reports."""
        await asyncio.gather(*(w.close() for w in self._windows.values()), return_exceptions=True)
        if self._gc_unsubscribe is not None:
            self._gc_unsubscribe()
            self._gc_unsubscribe, self._gc_freezer = None, None
            gcbatches.deactivate()
        if self.target is not None:
            await self.target.stop()
        elif self.server is not None and self.owns_backend:
            await self.server.stop()

    async def __aenter__(self) -> Lab:
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    # ---- windows ------------------------------------------------------------------------------------------------
    @property
    def windows(self) -> dict[str, SimulatedBrowser]:
        """Window name → :class:`SimulatedBrowser`, in the order they were added (the lab's own dict: read it,
        add windows with :meth:`add` / :meth:`open`)."""
        return self._windows

    def window(self, name: str) -> SimulatedBrowser:
        """The window called ``name``. Raises KeyError naming the windows there are."""
        try:
            return self._windows[name]
        except KeyError:
            raise KeyError(f'no window {name!r} (windows are: {", ".join(self._windows) or "none"})') from None

    def add(self, name: str, latency: LatencyLike = None, *, browser: str = 'simulated',
            context: Union[str, BrowserContext, None] = None) -> SimulatedBrowser:
        """Create the window ``name`` without opening a page (calls ``on_window``). ``latency``: see
        :data:`LatencyLike` (ms). ``browser``: ``'simulated'`` or ``'chromium'`` (a real headless Chromium tab,
        :class:`~clientsim.simulator.chromium.ChromiumWindow`, launched by its first ``open``; no latency).
        ``context``: the browser context a simulated window is a tab of — a name (windows added with the same name
        share one :class:`BrowserContext`, kept in :attr:`contexts`), a context, or None for a browser of its own.
        Raises ValueError if the name is taken or ``browser`` is unknown, TypeError for an unknown latency knob."""
        if name in self._windows:
            raise ValueError(f'window {name!r} exists already')
        if browser == 'chromium':
            return self._adopt(name, ChromiumWindow(name, self.timeline))  # type: ignore[arg-type]
        if browser != 'simulated':
            raise ValueError(f"browser must be 'simulated' or 'chromium', got {browser!r}")
        if isinstance(context, str):
            context = self.contexts.setdefault(context, BrowserContext(context))
        browser = SimulatedBrowser(name, self.timeline, _latency(latency), context=context)
        browser.javascript_rules = JavaScriptRules(self.javascript)  # ValueError for a bad regex
        # a real app's windows reconnect on their own, as nicegui.js does (socket.io reconnection)
        browser.auto_reconnect = self.target is not None
        # windows boot pages as Chromium does against a real app; the embedded server's scenarios set their
        # timing with latency knobs, so there a window connects at once unless its latency says `load: chromium`
        browser.default_load = 'chromium' if self.target is not None else 'instant'
        if self.seed is not None:  # the run's seed decides the window's draws; unseeded runs differ
            browser.rng.seed(f'{self.seed}:window:{name}')
        browser.on_new_tab = functools.partial(self._spawn_new_tab, browser)  # a partial: ~0.2 KB under a lambda
        return self._adopt(name, browser)

    def _adopt(self, name: str, browser: SimulatedBrowser) -> SimulatedBrowser:
        self._windows[name] = browser
        if self.on_window is not None:
            self.on_window(browser)
        return browser

    def forget(self, name: str) -> None:
        """Drop the window ``name`` from :attr:`windows` (the GUI, once a person closed it, so that the name can be
        used again). It does not close the window. Unknown names are ignored."""
        self._windows.pop(name, None)

    async def open(self, name: str, page: str = '/', *, latency: LatencyLike = None,
                   wait: bool = True) -> SimulatedBrowser:
        """Open ``page`` (a path on the server/target, or an http URL) in the window ``name``, creating the window
        first if there is none (an existing one gets ``latency`` if given). With ``wait`` return once the
        handshake is acknowledged. Page load problems do not raise: check ``window.state`` / ``window.page_error``.
        """
        browser = self._windows.get(name)
        if browser is None:
            browser = self.add(name, latency)
        elif latency is not None:
            browser.latency = _latency(latency)
        await browser.open(self.url_for(page), wait=wait)
        return browser

    def _spawn_new_tab(self, opener: SimulatedBrowser, url: str) -> None:
        """``opener``'s ``on_new_tab(url)``: :meth:`_open_new_tab` in a task of the opener's."""
        opener._tasks.spawn(self._open_new_tab(opener, url), name=f'{opener.name} new tab')

    async def _open_new_tab(self, opener: SimulatedBrowser, url: str) -> None:
        """``ui.navigate.to(..., new_tab=True)``: a new window ``<opener>+1`` (``+2`` …) opens ``url``."""
        n = 1
        while f'{opener.name}+{n}' in self._windows:
            n += 1
        browser = self.add(f'{opener.name}+{n}', opener.latency, context=opener.context)  # same browser
        await browser.open(url, wait=False)

    async def duplicate(self, original: str, name: str) -> SimulatedBrowser:
        """"Duplicate tab" of the window ``original`` as a new window ``name`` (see
        ``SimulatedBrowser.open_duplicate``). Raises KeyError / ValueError (name taken) / RuntimeError (no page)."""
        source = self.window(original)
        browser = self.add(name, source.latency, context=getattr(source, 'context', None))  # same browser
        await browser.open_duplicate(source)
        return browser

    def url_for(self, page: str) -> str:
        """Absolute URL of ``page``: a path is joined to the base URL (before :meth:`start`: returned as is), an
        ``http(s)://`` URL is returned unchanged."""
        return page if page.startswith(('http://', 'https://')) else urllib.parse.urljoin(self.url or '', page)
