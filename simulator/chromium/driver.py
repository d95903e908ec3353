"""Headless Chromium through Selenium 4: :class:`ChromiumDriver` launches it with a fresh profile, reads the CDP
performance log and quits it, leaving no process and no temp folder behind.

Blocking (Selenium is): :class:`~clientsim.simulator.chromium.window.ChromiumWindow` calls it through
``asyncio.to_thread``. The flags are the ones measured for issue #18 (Chromium 156,
``Service('/usr/bin/chromedriver')``):
``--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update
--disable-sync --no-first-run`` and a ``--user-data-dir`` in a new temp folder. ``goog:loggingPrefs``
``{'performance': 'ALL', 'browser': 'ALL'}`` makes chromedriver log every CDP ``Network.*`` and ``Page.*`` event
(websocket frames, page GETs, ``Page.downloadWillBegin`` / ``downloadProgress``). Downloads go to ``<temp>/downloads``
(``Browser.setDownloadBehavior``), and keep the console (for failure messages).

Every driver that is not quit by its owner is quit at interpreter exit (:mod:`atexit`), so a Ctrl+C or a crashed
scenario leaves no ``chromium`` / ``chromedriver`` process. No Qt import here.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Optional

from ..errors import ClientsimError

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'
FLAGS = ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', '--no-first-run')
"""Chromium's command-line flags (issue #18's measurements); ``--headless=new`` is left out for a headed window."""
APT_PACKAGES = 'chromium chromium-driver'


class ChromiumMissingError(ClientsimError):
    """Chromium or chromedriver is not installed (or Selenium is missing); the message names the apt packages
    and the pip extra."""


def missing_reason() -> Optional[str]:
    """Why a Chromium window cannot start here (a sentence naming what to install), or None when it can."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        return f'{" and ".join(missing)} missing: install the apt packages `{APT_PACKAGES}`'
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "Selenium is missing: pip install 'clientsim[chromium]'"
    return None


class ChromiumDriver:
    """One headless (or headed) Chromium with one tab, driven by Selenium.

    ``ChromiumDriver(headless=True)``; :meth:`start` launches it (raises :class:`ChromiumMissingError`, or
    ``selenium.common.WebDriverException`` when it does not come up), :meth:`quit` ends chromedriver and every
    Chromium process and removes the temp folder (idempotent). :attr:`driver` is the Selenium ``WebDriver``;
    :attr:`download_dir` where downloads are saved; :attr:`profile_dir` the ``--user-data-dir``.
    All methods block; call them from one thread at a time.
    """

    def __init__(self, headless: bool = True) -> None:
        self.headless = headless
        self.driver: Any = None
        self.temp_dir: Optional[Path] = None
        self.profile_dir: Optional[Path] = None
        self.download_dir: Optional[Path] = None
        #: ``time.time_ns() - time.perf_counter_ns()`` when started: maps chromedriver's wall-clock log stamps (ms)
        #: onto the timeline clock (for ``Page.*`` events, which carry no CDP timestamp)
        self.wall_offset_ns = 0
        self.service_pid: Optional[int] = None

    def start(self) -> None:
        """Launch chromedriver and Chromium with :data:`FLAGS`, a fresh profile and the performance log; set the
        download folder. Raises :class:`ChromiumMissingError` or a Selenium ``WebDriverException``; nothing is
        left running when it raises."""
        reason = missing_reason()
        if reason is not None:
            raise ChromiumMissingError(f'cannot open a Chromium window: {reason}')
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        self.temp_dir = Path(tempfile.mkdtemp(prefix='clientsim-chromium-'))
        self.profile_dir, self.download_dir = self.temp_dir / 'profile', self.temp_dir / 'downloads'
        self.download_dir.mkdir()
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            if flag != '--headless=new' or self.headless:
                options.add_argument(flag)
        options.add_argument(f'--user-data-dir={self.profile_dir}')
        options.set_capability('goog:loggingPrefs', {'performance': 'ALL', 'browser': 'ALL'})
        service = Service(CHROMEDRIVER)
        _LIVE.add(self)
        try:
            self.driver = webdriver.Chrome(service=service, options=options)
            self.service_pid = service.process.pid if service.process is not None else None
            self.driver.execute_cdp_cmd('Browser.setDownloadBehavior', {
                'behavior': 'allow', 'downloadPath': str(self.download_dir), 'eventsEnabled': True})
        except BaseException:
            try:
                service.stop()
            finally:
                self.quit()
            raise
        self.wall_offset_ns = time.time_ns() - time.perf_counter_ns()

    def cdp_events(self) -> list[tuple[str, dict[str, Any], int]]:
        """The CDP events logged since the last call, as ``(method, params, wall_ns)`` (``wall_ns``: chromedriver's
        log stamp, ns since the epoch). Empty once quit."""
        if self.driver is None:
            return []
        out = []
        for entry in self.driver.get_log('performance'):
            try:
                message = json.loads(entry['message'])['message']
            except (KeyError, ValueError, TypeError):
                continue
            out.append((message.get('method', ''), message.get('params') or {}, int(entry.get('timestamp', 0) * 1e6)))
        return out

    def quit(self) -> None:
        """Quit Chromium and chromedriver and remove the temp folder (profile and downloads). Idempotent; never
        raises (a driver that is already gone is fine)."""
        driver, self.driver = self.driver, None
        if driver is not None:
            try:
                driver.quit()
            except Exception:  # chromedriver already dead: its service is stopped by quit() anyway
                pass
        _LIVE.discard(self)
        if self.temp_dir is not None:
            shutil.rmtree(self.temp_dir, ignore_errors=True)


class _LiveDrivers:
    """Drivers started and not yet quit; :func:`atexit` quits the rest."""

    def __init__(self) -> None:
        self._drivers: set[ChromiumDriver] = set()
        self._lock = threading.Lock()

    def add(self, driver: ChromiumDriver) -> None:
        with self._lock:
            self._drivers.add(driver)

    def discard(self, driver: ChromiumDriver) -> None:
        with self._lock:
            self._drivers.discard(driver)

    def quit_all(self) -> None:
        with self._lock:
            drivers = list(self._drivers)
        for driver in drivers:
            driver.quit()


_LIVE = _LiveDrivers()
atexit.register(_LIVE.quit_all)


def processes_using(path: str | Path) -> list[int]:
    """PIDs of the processes whose command line mentions ``path`` (Linux ``/proc``; empty elsewhere): how tests
    prove that no Chromium of a profile folder outlived its window."""
    found = []
    needle = str(path).encode()
    for entry in Path('/proc').glob('[0-9]*'):
        try:
            if needle in (entry / 'cmdline').read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found
