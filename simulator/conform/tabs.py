"""One tab of each kind with the same async actions and observations: :class:`ChromiumTab` (a real Chromium tab,
Selenium calls run in a thread) and :class:`SimTab` (a clientsim window).

Observations are plain values on the perf_counter_ns clock: ``frames(since_ns)`` gives ``(t_ns, direction, event,
payload)`` of socket.io messages (``direction`` ``'sent'`` / ``'received'``; engine.io pings and the connect packets
are left out, handshake acks appear as event ``'handshake ack'``); ``handshake_done_after(t_ns)`` the time the first
handshake after ``t_ns`` was done (3.7+ implicit: the ``40{sid}`` connect answer; else the ``handshake`` ack), or
None.
"""
from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Optional

from clientsim.simulator.browser import HANDSHAKE_DONE, SimulatedBrowser

from .chromium import CdpEvent, ChromiumSession

Frame = tuple[int, str, str, Any]
_EVENT_RE = re.compile(r'^42(\d*)(\[.*)$', re.S)
_ACK_RE = re.compile(r'^43(\d*)(\[.*)$', re.S)


def decode_frame(text: str) -> Optional[tuple[str, Any]]:
    """A socket.io text frame as ``(event, payload)``: ``42["update", {...}]`` → ``('update', {...})``,
    ``430[true]`` → ``('handshake ack', True)``; None for engine.io pings and namespace packets."""
    match = _EVENT_RE.match(text)
    if match:
        try:
            data = json.loads(match.group(2))
        except json.JSONDecodeError:
            return None
        if isinstance(data, list) and data:
            return str(data[0]), data[1] if len(data) > 1 else None
        return None
    match = _ACK_RE.match(text)
    if match:
        try:
            data = json.loads(match.group(2))
        except json.JSONDecodeError:
            return None
        return 'handshake ack', data[0] if isinstance(data, list) and data else data
    return None


class ChromiumTab:
    """A tab of :class:`ChromiumSession`; ``handle`` is its Selenium window handle (= CDP target id)."""
    kind = 'chromium'

    def __init__(self, session: ChromiumSession, handle: str) -> None:
        self.session = session
        self.handle = handle

    def _events(self, since_ns: int = 0) -> list[CdpEvent]:
        self.session.poll()
        return [e for e in self.session.events if e.tab == self.handle and e.t_ns >= since_ns]

    async def _run(self, function, *args: Any) -> Any:
        def call() -> Any:
            self.session.driver.switch_to.window(self.handle)
            return function(*args)
        return await asyncio.to_thread(call)

    async def open(self, url: str) -> None:
        """``driver.get(url)`` (returns at the load event)."""
        await self._run(self.session.driver.get, url)

    async def reload(self) -> None:
        """``driver.refresh()``."""
        await self._run(self.session.driver.refresh)

    async def clear_cache(self) -> None:
        """CDP ``Network.clearBrowserCache``: the next load is a first load."""
        await self._run(self.session.driver.execute_cdp_cmd, 'Network.clearBrowserCache', {})

    async def click(self, label: str) -> None:
        """Click the button whose text contains ``label``."""
        from selenium.webdriver.common.by import By

        def click() -> None:
            self.session.driver.find_element(By.XPATH, f"//button[contains(., '{label}')]").click()
        await self._run(click)

    async def text_of(self, element_id: str) -> Optional[str]:
        """The shown text of element ``element_id`` (NiceGUI renders it as ``id="c<id>"``), None if absent."""
        from selenium.common.exceptions import NoSuchElementException
        from selenium.webdriver.common.by import By

        def text() -> Optional[str]:
            try:
                return self.session.driver.find_element(By.ID, f'c{element_id}').text
            except NoSuchElementException:
                return None
        return await self._run(text)

    async def frames(self, since_ns: int = 0) -> list[Frame]:
        """Socket.io frames of this tab since ``since_ns`` (see the module docstring)."""
        found = []
        for e in await asyncio.to_thread(self._events, since_ns):
            if e.method in ('Network.webSocketFrameSent', 'Network.webSocketFrameReceived'):
                decoded = decode_frame(str(e.params.get('response', {}).get('payloadData', '')))
                if decoded is not None:
                    found.append((e.t_ns, 'sent' if e.method.endswith('Sent') else 'received', *decoded))
        return found

    async def handshake_done_after(self, t_ns: int) -> Optional[int]:
        """When the first handshake after ``t_ns`` was done, or None."""
        implicit: dict[str, bool] = {}
        for e in await asyncio.to_thread(self._events, 0):
            if e.method == 'Network.webSocketCreated':
                implicit[e.params.get('requestId', '')] = 'implicit_handshake=true' in e.params.get('url', '')
            elif e.method == 'Network.webSocketFrameReceived' and e.t_ns >= t_ns:
                data = str(e.params.get('response', {}).get('payloadData', ''))
                if implicit.get(e.params.get('requestId', '')) and data.startswith('40{'):
                    return e.t_ns
                if re.match(r'^43\d*\[true\]', data):
                    return e.t_ns
        return None

    async def download_names(self, since_ns: int) -> list[str]:
        """``suggestedFilename`` of each download that began since ``since_ns``."""
        return [e.params.get('suggestedFilename', '') for e in await asyncio.to_thread(self._events, since_ns)
                if e.method == 'Page.downloadWillBegin']


class SimTab:
    """A clientsim window as a tab (its default load profile ``chromium`` and ``auto_reconnect`` on, as the lab
    sets them for targets)."""
    kind = 'clientsim'

    def __init__(self, window: SimulatedBrowser) -> None:
        self.window = window
        window.auto_reconnect = True

    async def open(self, url: str) -> None:
        """Load ``url`` and wait for the handshake (at most 10 s)."""
        await self.window.open(url, wait=False)
        await self._settle()

    async def _settle(self) -> None:
        try:
            await self.window.wait_for(lambda w: w.state == HANDSHAKE_DONE, 10.0)
        except asyncio.TimeoutError:
            pass

    async def reload(self) -> None:
        """Reload the page and wait for the handshake."""
        await self.window.reload(wait=False)
        await self._settle()

    async def clear_cache(self) -> None:
        """Forget the static files fetched (the next load is a first load), if this clientsim has a cache."""
        if getattr(self.window, 'static_cached', None) is not None:
            self.window.static_cached = frozenset()

    async def click(self, label: str) -> None:
        """Click the element labelled ``label``."""
        await self.window.click(label)

    async def text_of(self, element_id: str) -> Optional[str]:
        """The text of element ``element_id`` as the window holds it, None if absent."""
        element = self.window.elements.get(element_id)
        return None if element is None else str(element.get('text', ''))

    async def frames(self, since_ns: int = 0) -> list[Frame]:
        """Socket.io frames since ``since_ns``."""
        return [(f.t_ns, f.direction, f.event, f.payload) for f in self.window.frames if f.t_ns >= since_ns]

    async def handshake_done_after(self, t_ns: int) -> Optional[int]:
        """When the first handshake after ``t_ns`` was done, or None."""
        for event in self.window.timeline.events:
            if event.window == self.window.name and event.kind == 'handshake_acked' and event.t_ns >= t_ns \
                    and event.detail.get('ok'):
                return event.t_ns
        return None

    async def download_names(self, since_ns: int) -> list[str]:
        """The filename of each download answered since ``since_ns``."""
        t0 = self.window.timeline.t0_ns
        return [d.filename for d in self.window.downloads if t0 + d.t_ms * 1e6 >= since_ns]
