"""One recording session: :class:`RecordSession` starts the app (or uses a running one), the proxy and the browser,
waits for the session to end and writes the raw recording and the generated scenario.

Used by ``clientsim record`` (:mod:`.command`) and usable from a GUI or a test::

    session = RecordSession(out='checkout.yaml', target_command=['python', 'app.py', '{port}'], browser='none')
    url = await session.start()          # the proxy URL: open it in any browser
    await session.wait_until_done()      # the tab closed (or call session.stop_event.set())
    written = await session.finish()     # (scenario path, recording path)

The session ends when the Chromium tab closes (``browser='chromium'``), or — for the user's own browser — when no
socket is open and nothing was requested for ``end_after_s`` seconds after at least one page (at least
:data:`BOOT_GRACE_S` while the last page has not opened its socket yet: a tab between its last static file and its
socket is quiet while it boots Vue, over a second for NiceGUI 2.11.0 in Chromium 156 on a busy machine), or when
:attr:`RecordSession.stop_event` is set (Ctrl+C). No Qt import here.
"""
from __future__ import annotations

import asyncio
import os
import shlex
import time
import urllib.parse
from pathlib import Path
from typing import Any, Optional

from ..chromium.wire import decode
from ..errors import BadInputError
from ..target import ExternalTarget, TargetSpec
from ..tasks import wait_for
from .generate import generate, to_yaml
from .proxy import RecordingProxy
from .recording import Recording

POLL_S = 0.25
"""How often the session looks whether it ended (seconds)."""
BOOT_GRACE_S = 60.0
"""The shortest quiet time (seconds) that ends a ``--browser none`` session while the last page has not connected
its socket yet (a page that boots slowly, or one that never connects: then the session still ends on its own)."""
RECORDINGS_ENV = 'CLIENTSIM_RECORDINGS_DIR'
"""The environment variable that moves :func:`recordings_dir` (tests point it at a temporary folder)."""


def recordings_dir() -> Path:
    """Where the GUI saves recordings by default and which folder its scenario library lists besides the shipped
    scenarios: ``$CLIENTSIM_RECORDINGS_DIR``, else ``<user data dir>/recordings`` (platformdirs;
    ``~/.local/share/clientsim/recordings`` on Linux). Not created here."""
    if os.environ.get(RECORDINGS_ENV):
        return Path(os.environ[RECORDINGS_ENV])
    from platformdirs import user_data_dir
    return Path(user_data_dir('clientsim')) / 'recordings'


def recorded_scenarios() -> list[Path]:
    """The scenarios in :func:`recordings_dir`, newest first (none when it does not exist)."""
    folder = recordings_dir()
    if not folder.is_dir():
        return []
    return sorted(folder.glob('*.yaml'), key=lambda p: p.stat().st_mtime, reverse=True)


def describe_entry(entry: dict[str, Any]) -> Optional[str]:
    """One line for a page load or a person's action as it is recorded (``clientsim record`` prints it, the GUI's
    Record dialog lists it): ``'   1.2 s  page / (200)'``, ``'   3.4 s  event on element #8 [...]'``; None for
    every other entry (frames the server sent, static files)."""
    if entry['kind'] == 'http' and entry.get('body') is not None:
        return f"{entry['t_ms'] / 1000:7.1f} s  page {entry['path']} ({entry['status']})"
    if entry['kind'] == 'ws_send' and str(entry.get('data', '')).startswith('42["event"'):
        packet = decode(str(entry['data']))
        payload = packet.payload if packet is not None and isinstance(packet.payload, dict) else {}
        return f"{entry['t_ms'] / 1000:7.1f} s  event on element #{payload.get('id')} {str(payload.get('args'))[:60]}"
    return None


def output_paths(out: str | Path, force: bool = False) -> tuple[Path, Path]:
    """``(scenario.yaml, scenario.jsonl)`` for ``out``. Raises :class:`BadInputError` when ``out`` does not end in
    ``.yaml``/``.yml``, its folder is missing, or a file exists and ``force`` is false (nothing is overwritten)."""
    path = Path(out)
    if path.suffix not in ('.yaml', '.yml'):
        raise BadInputError(f'--out must end in .yaml, got {out}')
    if not path.parent.is_dir():
        raise BadInputError(f'--out: the folder {path.parent} does not exist')
    raw = path.with_suffix('.jsonl')
    for p in (path, raw):
        if p.exists() and not force:
            raise BadInputError(f'{p} exists; choose another --out or pass --force to overwrite it')
    return path, raw


class RecordSession:
    """See the module docstring. ``url``: a running app (``http://host:port/path``) or None with
    ``target_command`` (argv with ``{port}``; ``target_url`` default ``http://127.0.0.1:{port}``); ``page`` the
    path opened first (default: the URL's path or ``/``); ``browser`` ``'chromium'`` or ``'none'``; ``headed``
    shows Chromium's window when a display exists; ``compress_think_ms`` caps each recorded think time (ms).
    Raises :class:`BadInputError` for bad options (from the constructor), ``TargetStartError`` /
    ``ChromiumMissingError`` from :meth:`start`."""

    def __init__(self, out: str | Path, *, url: Optional[str] = None, target_command: Optional[list[str]] = None,
                 target_url: str = 'http://127.0.0.1:{port}', page: Optional[str] = None, browser: str = 'chromium',
                 headed: bool = False, compress_think_ms: Optional[float] = None, force: bool = False,
                 end_after_s: float = 5.0, ready_timeout_s: float = 30.0, port: int = 0) -> None:
        if (url is None) == (target_command is None):
            raise BadInputError('give the URL of a running app or --target COMMAND, not both')
        if url is not None and urllib.parse.urlsplit(url).scheme not in ('http', 'https'):
            raise BadInputError(f'the app URL must be http(s)://…, got {url!r}')
        if browser not in ('chromium', 'none'):
            raise BadInputError(f"--browser must be 'chromium' or 'none', got {browser!r}")
        self.scenario_path, self.raw_path = output_paths(out, force)
        self.url, self.target_command, self.target_url = url, target_command, target_url
        self.page = page or (urllib.parse.urlsplit(url).path if url else '') or '/'
        self.browser, self.headed, self.compress = browser, headed, compress_think_ms
        self.end_after_s, self.ready_timeout_s, self.port = end_after_s, ready_timeout_s, port
        self.recording = Recording()
        self.target: Optional[ExternalTarget] = None
        self.proxy: Optional[RecordingProxy] = None
        self.driver: Any = None
        self.proxy_url = ''
        self.stop_event = asyncio.Event()
        self.tab_closed = False

    async def start(self) -> str:
        """Start the app (with ``target_command``), the proxy and the browser; returns the URL to open (the proxy
        and ``page``). Cleans up what it started when it raises."""
        try:
            if self.target_command is not None:
                spec = TargetSpec(command=self.target_command, url=self.target_url, probe=False,
                                  ready_timeout_s=self.ready_timeout_s)
                self.target = ExternalTarget(spec, base_dir=os.getcwd())
                upstream = await self.target.start()
            else:
                parts = urllib.parse.urlsplit(self.url or '')
                upstream = f'{parts.scheme}://{parts.netloc}'
            self.proxy = RecordingProxy(upstream, self.recording, port=self.port)
            self.proxy_url = await self.proxy.start()
            start_url = self.proxy_url + self.page
            if self.browser == 'chromium':
                from ..chromium.driver import ChromiumDriver
                headless = not (self.headed and (os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY')))
                self.driver = ChromiumDriver(headless=headless)
                await asyncio.to_thread(self.driver.start)
                await asyncio.to_thread(self.driver.driver.get, start_url)
            return start_url
        except BaseException:
            await self.close()
            raise

    def _tab_open(self) -> bool:
        try:
            return bool(self.driver.driver.window_handles)
        except Exception:  # noqa: BLE001 - chromedriver lost its browser: the person closed it
            return False

    async def wait_until_done(self) -> None:
        """Return when the session ended (see the module docstring)."""
        assert self.proxy is not None
        while not self.stop_event.is_set():
            if self.driver is not None and self.driver.driver is not None:
                if not await asyncio.to_thread(self._tab_open):
                    self.tab_closed = True
                    return
            elif self.driver is None and self.proxy.pages and not self.proxy.open_sockets:
                idle_s = (time.perf_counter_ns() - self.proxy.last_activity_ns) / 1e9
                if idle_s >= (max(self.end_after_s, BOOT_GRACE_S) if self.proxy.booting else self.end_after_s):
                    self.tab_closed = True
                    return
            try:
                await wait_for(self.stop_event.wait(), POLL_S)
            except asyncio.TimeoutError:
                pass

    async def close(self) -> None:
        """Quit the browser, stop the proxy and the app. Idempotent; never raises."""
        driver, self.driver = self.driver, None
        if driver is not None:
            await asyncio.to_thread(driver.quit)
        proxy, self.proxy = self.proxy, None
        if proxy is not None:
            await proxy.stop()
        target, self.target = self.target, None
        if target is not None:
            await target.stop()

    def scenario(self) -> dict[str, Any]:
        """The generated scenario (a dict). Raises ValueError when no NiceGUI page was recorded."""
        target: Any
        if self.target_command is not None:
            target = {'command': list(self.target_command), 'url': self.target_url}
            cwd = os.path.relpath(os.getcwd(), self.scenario_path.resolve().parent)
            if cwd != '.':
                target['cwd'] = cwd
            target['ready_timeout_s'] = self.ready_timeout_s
        else:
            parts = urllib.parse.urlsplit(self.url or '')
            target = f'{parts.scheme}://{parts.netloc}'
        return generate(self.recording, name=f'recorded session {self.scenario_path.stem}', target=target,
                        compress_think_ms=self.compress, server_errors=self.target_command is not None)

    async def finish(self) -> tuple[Optional[Path], Path]:
        """Close everything, then write the raw recording and (when a page was recorded) the scenario. Returns
        ``(scenario path or None, recording path)``. Raises OSError when a file cannot be written."""
        await self.close()
        self.recording.write(self.raw_path)
        try:
            scenario = self.scenario()
        except ValueError:
            return None, self.raw_path
        source = shlex.join(self.target_command) if self.target_command else self.url
        header = (f'# Recorded by: clientsim record ({source})\n'
                  f'# Raw recording (HTTP requests and socket.io frames): {self.raw_path.name}\n'
                  '# Edit freely: steps name elements by label; check steps and expect: come from what the server '
                  'sent.\n')
        self.scenario_path.write_text(to_yaml(scenario, header), encoding='utf-8')
        return self.scenario_path, self.raw_path
