"""Real headless Chromium for the conformance suite: :class:`ChromiumSession` drives it with Selenium 4 and the
system chromedriver and reads what the tabs did out of the CDP performance log.

Launch as measured for issue #18 (Chromium 156, Debian packages ``chromium`` and ``chromium-driver``):
``--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
--disable-sync --no-first-run`` and a fresh ``--user-data-dir``; ``goog:loggingPrefs {'performance': 'ALL'}``.
CDP timestamps (``Network.*.timestamp``, seconds) and ``time.perf_counter_ns()`` are both CLOCK_MONOTONIC on Linux,
so both sides of a check share one clock; :meth:`ChromiumSession.clock_offset_ms` checks it.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ..errors import ClientsimError

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
APT_PACKAGES = 'chromium chromium-driver'
ARGUMENTS = ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
             '--disable-component-update', '--disable-sync', '--no-first-run')


class ChromiumMissing(ClientsimError):
    """Chromium, chromedriver or Selenium is not installed (the message names the apt packages)."""
    exit_code = 3


def missing_reason() -> Optional[str]:
    """Why real Chromium cannot run here (None when it can): names the apt packages or the pip extra."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f'{path} is missing: apt-get install {APT_PACKAGES}'
    try:
        import selenium  # noqa: F401
    except ImportError:
        return 'selenium is not installed: pip install clientsim[chromium]'
    return None


@dataclass
class CdpEvent:
    """One CDP event of the performance log: ``tab`` (target id = Selenium window handle), ``method``, ``params``
    and ``t_ns`` (its ``timestamp`` on the perf_counter_ns clock, or the log entry's wall time mapped onto it)."""
    tab: str
    method: str
    params: dict[str, Any]
    t_ns: int


@dataclass
class ChromiumSession:
    """One headless Chromium with its own profile; ``events`` collects every CDP event read so far."""
    download_dir: Path
    driver: Any = None
    events: list[CdpEvent] = field(default_factory=list)
    _profile: Optional[str] = None

    @classmethod
    def start(cls) -> 'ChromiumSession':
        """Launch Chromium. Raises :class:`ChromiumMissing` when it is not installed."""
        reason = missing_reason()
        if reason is not None:
            raise ChromiumMissing(reason)
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        profile = tempfile.mkdtemp(prefix='clientsim-conform-chromium-')
        downloads = Path(profile) / 'downloads'
        downloads.mkdir()
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ARGUMENTS:
            options.add_argument(argument)
        options.add_argument(f'--user-data-dir={profile}/user')
        options.set_capability('goog:loggingPrefs', {'performance': 'ALL'})
        options.add_experimental_option('prefs', {'download.default_directory': str(downloads),
                                                  'download.prompt_for_download': False})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        session = cls(downloads, driver, _profile=profile)
        driver.execute_cdp_cmd('Browser.setDownloadBehavior', {'behavior': 'allow', 'downloadPath': str(downloads)})
        return session

    def close(self) -> None:
        """Quit Chromium and remove its profile."""
        if self.driver is not None:
            try:
                self.driver.quit()
            finally:
                self.driver = None
        if self._profile:
            shutil.rmtree(self._profile, ignore_errors=True)

    def poll(self) -> list[CdpEvent]:
        """Read the performance log entries that arrived since the last call into :attr:`events`; returns them."""
        new = []
        for entry in self.driver.get_log('performance'):
            message = json.loads(entry['message'])
            inner = message.get('message', {})
            params = inner.get('params', {})
            stamp = params.get('timestamp')
            t_ns = int(stamp * 1e9) if isinstance(stamp, (int, float)) and stamp < 1e9 else time.perf_counter_ns()
            new.append(CdpEvent(message.get('webview', ''), inner.get('method', ''), params, t_ns))
        self.events.extend(new)
        return new

    def wait_for(self, predicate, timeout_s: float, what: str) -> Any:
        """Poll the log until ``predicate(events)`` returns something truthy; returns it. Raises TimeoutError
        naming ``what`` after ``timeout_s`` **seconds**."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.poll()
            found = predicate(self.events)
            if found:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError(f'Chromium: no {what} within {timeout_s:g} s')
            time.sleep(0.05)

    def clock_offset_ms(self, before_ns: int, request_t_ns: int, after_ns: int) -> Optional[float]:
        """How far a CDP timestamp lies outside the perf_counter_ns span it must fall in (0.0 inside; ms)."""
        if before_ns <= request_t_ns <= after_ns:
            return 0.0
        return round(min(abs(request_t_ns - before_ns), abs(request_t_ns - after_ns)) / 1e6, 1)

    def new_tab(self) -> str:
        """Open a new tab, switch to it and return its handle (= CDP target id)."""
        self.driver.switch_to.new_window('tab')
        return self.driver.current_window_handle
