"""ChromiumWindow: a real headless Chromium tab in the lab, beside simulated windows, on the same timeline.

It has the face of :class:`~clientsim.simulator.browser.SimulatedBrowser` that steps, checks, reports, lanes and the
GUI use (``open``, ``click``, ``set_value``, ``type_text``, ``navigate``, ``reload``, ``close``, ``wait_for``,
``elements``, ``frames``, ``downloads``, ``state`` …), but the page runs NiceGUI's own nicegui.js in Chromium:
the window only watches (the CDP performance log, :mod:`.events`) and acts as a person does (Selenium clicks and
keys on the element NiceGUI renders as ``id="c<element id>"``). Its ``elements`` are the page's config (read from
the page HTML, :func:`~clientsim.simulator.browser.page.parse_page`) with every ``update`` message the tab
received applied, so labels find elements exactly as in a simulated window.

Selenium blocks: every driver call runs in a thread (``asyncio.to_thread``), one at a time (an ``asyncio.Lock``),
and a pump task reads the performance log every ``PUMP_S`` seconds. :meth:`close` quits Chromium and chromedriver
and removes the profile (:mod:`.driver`). Not supported (they raise RuntimeError naming the window): ``drop``,
``reconnect``, ``duplicate``, ``upload``. No Qt import here.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any, Callable, Optional

from ..browser import elements as el
from ..browser.controls import ElementControls
from ..browser.downloads import Download
from ..browser.page import PageError, parse_page
from ..browser.state import CLOSED, HANDSHAKE_DONE, LOAD_FAILED, Frame, Latency
from ..outcome import download_outcome
from ..tasks import wait_for
from ..timeline import Timeline
from .clock import CdpClock
from .driver import ChromiumDriver
from .events import CdpTranslator

PUMP_S = 0.05
"""How often the performance log is read (seconds)."""
OPEN_TIMEOUT_S = 30.0
"""How long :meth:`ChromiumWindow.open` with ``wait`` waits for the handshake (seconds)."""
BROWSER_KIND = 'chromium'


class ChromiumWindow(ElementControls):
    """A real Chromium tab: ``ChromiumWindow(name, timeline, headless=True)``. See the module docstring.

    Extra state: ``clock`` (:class:`~.clock.CdpClock`, its ``verdict`` says whether CDP's clock agreed),
    ``browser_kind`` (``'chromium'``), ``driver`` (:class:`~.driver.ChromiumDriver`, started by the first
    :meth:`open`). Must be used inside a running asyncio loop.
    """

    browser_kind = BROWSER_KIND

    def __init__(self, name: str, timeline: Timeline | None = None, *, headless: bool = True) -> None:
        self.name = name
        self.timeline = timeline or Timeline()
        self.latency = Latency()  # a real tab has no latency knobs; kept for code that copies a window's latency
        self.driver = ChromiumDriver(headless=headless)
        self.clock = CdpClock()
        self.tab_id = ''  # nicegui.js's tab_id, read from the handshake it sends (2.x)
        self.url: Optional[str] = None
        self.page_status: Optional[int] = None
        self.page_error: Optional[str] = None
        self.client_id: Optional[str] = None
        self.document_id: Optional[str] = None
        self.sid: Optional[str] = None
        self.prefix, self.version = '', ''
        self.state = CLOSED
        self.elements: dict[str, dict[str, Any]] = {}
        self.next_message_id = 0
        self.downloads: list[Download] = []
        self.download_events = 0
        self.clicks = 0
        self.notifications: list[str] = []
        self.frames: list[Frame] = []
        self.listeners: list[Callable[[Any], None]] = []
        self.handshakes_rejected = 0
        self.reconnects = 0
        self.progress_history: list[tuple[int, float]] = []
        self.page_loaded_ns: Optional[int] = None
        self.auto_reconnect = True  # nicegui.js reconnects on its own
        self.acks_sent = 0
        self.javascript_requests: list[dict[str, Any]] = []
        self.ignored: dict[str, int] = {}
        self.new_tabs: list[str] = []
        self.history: list[str] = []
        self.uploads: list[dict[str, Any]] = []
        self.socket_urls: dict[Any, str] = {}
        self.needs_page_source = False
        self._translator = CdpTranslator(self)
        self._lock = asyncio.Lock()
        self._pump: Optional[asyncio.Task] = None
        self._changed_event = asyncio.Event()
        self._closed = False

    # ---- observation (as SimulatedBrowser) --------------------------------------------------------------------
    @property
    def wall_offset_ns(self) -> int:
        """``time_ns() - perf_counter_ns()`` at launch (places ``Page.*`` events, :mod:`.events`)."""
        return self.driver.wall_offset_ns

    def record(self, kind: str, t_ns: int, **detail: Any) -> None:
        """Stamp ``kind`` at ``t_ns`` (timeline clock) for this window."""
        self.timeline.record(self.name, kind, window=self.name, sid=self.sid, client_id=self.client_id, t_ns=t_ns,
                             browser=BROWSER_KIND, **detail)

    def _record(self, kind: str, **detail: Any) -> None:
        self.record(kind, time.perf_counter_ns(), **detail)

    def _changed(self) -> None:
        value = self.progress
        if value is not None and (not self.progress_history or self.progress_history[-1][1] != value):
            self.progress_history.append((time.perf_counter_ns(), value))
        self._changed_event.set()
        self._changed_event = asyncio.Event()
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception:
                pass

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate(self)`` is true. ``timeout`` in **seconds**; raises asyncio.TimeoutError."""
        async def _wait() -> None:
            while not predicate(self):
                await self._changed_event.wait()
        await wait_for(_wait(), timeout)

    @property
    def download_outcome(self) -> str:
        """``'received'`` / ``'failed'`` / ``'none'`` as for a simulated window (the GUI's window colour;
        :func:`clientsim.simulator.outcome.download_outcome`)."""
        return download_outcome(d.status for d in self.downloads)

    @property
    def progress(self) -> Optional[float]:
        """The page's first ``q-linear-progress`` value (0..1) or None."""
        return el.progress_of(self.elements)

    def downloaded_bytes(self, filename: str) -> Optional[bytes]:
        """The content of a completed download (None when the file is not in the download folder)."""
        folder = self.driver.download_dir
        path = folder / Path(filename).name if folder is not None else None
        try:
            return path.read_bytes() if path is not None else None
        except OSError:
            return None

    # ---- the driver in a thread ---------------------------------------------------------------------------
    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        async with self._lock:
            return await asyncio.to_thread(fn, *args)

    async def _ensure_started(self) -> None:
        if self._closed:
            raise RuntimeError(f'window {self.name!r}: the window is closed')
        if self.driver.driver is None:
            await self._call(self.driver.start)  # ChromiumMissingError / WebDriverException
            self._record('window_opened', browser_version=self.driver.driver.capabilities.get('browserVersion'))
        if self._pump is None:
            self._pump = asyncio.get_running_loop().create_task(self._pump_loop(), name=f'{self.name} CDP pump')

    async def _pump_loop(self) -> None:
        while not self._closed:
            await self.pump()
            await asyncio.sleep(PUMP_S)

    async def pump(self) -> None:
        """Read the performance log once and apply its events (:mod:`.events`); read the page's config once a new
        page's HTML arrived. Errors of a dying driver end nothing (the next close() quits it)."""
        try:
            events = await self._call(self.driver.cdp_events)
        except Exception as e:  # chromedriver gone (crash, closed by the user): recorded, the pump goes on
            if not self._closed:
                self._record('chromium_log_failed', error=f'{type(e).__name__}: {str(e)[:200]}')
                await asyncio.sleep(1.0)
            return
        for method, params, wall_ns in events:
            self._translator.apply(method, params, wall_ns)
        if self.needs_page_source:
            await self._read_page()
        if events:
            self._changed()

    async def _read_page(self) -> None:
        try:
            html = await self._call(lambda: self.driver.driver.page_source)
            config = parse_page(html)
        except (PageError, AttributeError):
            return  # not loaded yet: the next pump tries again
        except Exception:  # noqa: BLE001 - a Selenium error while the page navigates; next pump
            return
        self.needs_page_source = False
        self.client_id, self.prefix, self.version = config['client_id'], config['prefix'], config['version']
        self.elements = config['elements']
        for update in self._translator.page_updates:
            el.apply_update(self.elements, update)

    # ---- page life --------------------------------------------------------------------------------------------
    async def open(self, url: str, *, wait: bool = True, **_ignored: Any) -> None:
        """Load ``url`` in the tab (``driver.get``, which returns after the load event). With ``wait`` return once
        the handshake is acknowledged or the page failed (raises asyncio.TimeoutError after
        :data:`OPEN_TIMEOUT_S`). The first call launches Chromium (raises
        :class:`~.driver.ChromiumMissingError` when it is not installed)."""
        await self._ensure_started()
        before = time.perf_counter_ns()
        self._translator.bracket = (before, before)  # widened below; the pump cannot run while get() holds the lock

        def load() -> None:
            self.driver.driver.get(url)
            self._translator.bracket = (before, time.perf_counter_ns())
        if wait:
            await self._call(load)
            await self.pump()
            await self.wait_for(lambda w: w.state in (HANDSHAKE_DONE, LOAD_FAILED, CLOSED), OPEN_TIMEOUT_S)
        else:
            asyncio.get_running_loop().create_task(self._call(load), name=f'{self.name} get')

    async def navigate(self, url: str, *, before_handshake: bool = False, wait: bool = True) -> None:
        """Navigate the tab to ``url`` (Chromium's own order: new GET, then the old socket closes).
        ``before_handshake`` is not supported (RuntimeError)."""
        if before_handshake:
            raise RuntimeError(f'window {self.name!r}: a Chromium window cannot navigate before its handshake')
        await self.open(url, wait=wait)

    async def reload(self, *, wait: bool = True) -> None:
        """Reload the tab. Raises RuntimeError without a page."""
        if self.url is None:
            raise RuntimeError(f'window {self.name!r}: nothing to reload')
        await self.open(self.url, wait=wait)

    async def close(self) -> None:
        """Quit Chromium and chromedriver (the profile folder is removed), after one last read of the log.
        Idempotent."""
        if self._closed:
            return
        if self.driver.driver is not None:
            await self.pump()
        self._closed = True
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        async with self._lock:
            await asyncio.to_thread(self.driver.quit)
        if self.state != CLOSED:
            self.state = CLOSED
            self._record('window_closed')
        self._changed()

    async def _unsupported(self, *_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(f'window {self.name!r}: not supported in a Chromium window')

    drop_connection = reconnect = open_duplicate = upload = _unsupported

    # ---- what a person does (Selenium) ------------------------------------------------------------------------
    async def _on_element(self, element_id: str, action: Callable[[Any], None]) -> None:
        from selenium.webdriver.common.by import By

        def run() -> None:
            action(self.driver.driver.find_element(By.ID, f'c{element_id}'))
        await self._ensure_started()
        try:
            await self._call(run)
        except Exception as e:
            if isinstance(e, (LookupError, RuntimeError, ValueError)):
                raise
            raise RuntimeError(f'window {self.name!r}: element {element_id}: {type(e).__name__}: '
                               f'{str(e).splitlines()[0] if str(e) else ""}') from None

    async def click(self, label: str) -> None:
        """Click the element labelled ``label`` (found as in a simulated window) in Chromium. Raises LookupError."""
        element_id, _element = self.find_clickable(label)
        await self.click_element(element_id)

    async def click_element(self, element_id: str) -> None:
        """Click the element ``id="c<element_id>"``."""
        await self._on_element(element_id, lambda node: node.click())

    async def type_text(self, label: str, text: str, *, per_key_ms: float | None = None) -> None:
        """Replace the value of the input labelled ``label`` by typing ``text`` (select all, then the keys)."""
        element_id, _element, _listener = self.find_value_element(label)
        await self._type(element_id, text)

    async def _type(self, element_id: str, text: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        def keys(node: Any) -> None:
            field = node if node.tag_name in ('input', 'textarea') else node.find_element(
                By.CSS_SELECTOR, 'input, textarea')
            field.send_keys(Keys.CONTROL, 'a')
            field.send_keys(Keys.DELETE)
            field.send_keys(text)
        await self._on_element(element_id, keys)

    async def set_value(self, label: Optional[str], value: Any, *, content: Optional[str] = None,
                        element_id: Optional[str] = None) -> None:
        """Set a value as a person does: type into an input, click a checkbox/switch whose state differs, pick
        a select's option by its label. Other kinds raise RuntimeError; LookupError when nothing matches."""
        found_id, element = self.find(label, content=content, element_id=element_id, need='value')
        kind = el.describe_element(found_id, element)['kind']
        if kind == 'input':
            await self._type(found_id, str(value))
        elif kind in ('checkbox', 'switch'):
            if bool(el.describe_element(found_id, element)['value']) != bool(value):
                await self.click_element(found_id)
        elif kind == 'select':
            await self._pick(found_id, str(value))
        else:
            raise RuntimeError(f'window {self.name!r}: setting a {kind} is not supported in a Chromium window')

    async def _pick(self, element_id: str, option: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec
        from selenium.webdriver.support.ui import WebDriverWait

        def pick(node: Any) -> None:  # the id sits on QSelect's inner q-field__native, of zero width: click its field
            fields = node.find_elements(By.XPATH, "./ancestor-or-self::*[contains(@class,'q-select')][1]")
            (fields[0] if fields else node).click()
            xpath = ("//div[contains(@class,'q-menu')]//div[contains(@class,'q-item')]"
                     f"[normalize-space(.)={_xpath_text(option)}]")
            WebDriverWait(self.driver.driver, 5).until(ec.element_to_be_clickable((By.XPATH, xpath))).click()
        await self._on_element(element_id, pick)


def _xpath_text(text: str) -> str:
    """``text`` as an XPath 1.0 string literal (``concat()`` when it holds both quote kinds)."""
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    return 'concat(' + ", \"'\", ".join(f"'{part}'" for part in text.split("'")) + ')'
