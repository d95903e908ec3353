"""pytest fixtures for testing your own NiceGUI app (or the embedded server) with simulated browser windows.

Registered as the ``clientsim`` pytest plugin (``[project.entry-points.pytest11]`` in pyproject.toml), so the
fixtures are there once clientsim is installed. Without installing, import them in a conftest.py:
``from simulator.pytest_plugin import *  # noqa``.

The project does not use pytest-asyncio: every fixture here runs on **its own plain asyncio loop**
(:class:`ClientsimLoop`), and tests stay synchronous — ``clientsim.run(coro)`` drives a coroutine to completion::

    def test_download_goes_to_the_clicker(clientsim, clientsim_app, clientsim_windows):
        app = clientsim_app(['/venv/bin/python', 'app.py', '{port}'], 'http://127.0.0.1:{port}')
        alice, bob = clientsim_windows(2, app.url + '/', download_ms=[0, 50])
        clientsim.run(bob.click('Download'))
        clientsim.sleep(300)
        assert [d.status for d in bob.downloads] == [200]

Fixtures: ``clientsim`` (the loop and a shared :class:`~simulator.timeline.Timeline`), ``clientsim_lab`` (a
started :class:`~simulator.lab.Lab`: the embedded server plus named windows; policy from
``@pytest.mark.clientsim_policy(**fields)``), ``clientsim_lab_factory`` (``make(policy=None, target=None,
**fields)``), ``clientsim_server`` / ``clientsim_server_factory`` (the lab's
:class:`clientsim.server.app.EmbeddedServer`),
``clientsim_windows`` (opens N windows on a URL), ``clientsim_app`` (starts a real app and stops it after the
test; ``.output`` holds its log). Every setup is a :class:`~simulator.lab.Lab`, as in the scenario player.
For tests of the Qt GUI (qasync loop with pytest-qt's qtbot), do not use these fixtures: use a
:class:`~simulator.lab.Lab` on your qasync loop directly — the core is the same.
No Qt import here.
"""
from __future__ import annotations

import asyncio
import importlib.util
from typing import Any, Awaitable, Callable, Iterator, Optional, Sequence, TypeVar, Union

import pytest

from clientsim.server.app import EmbeddedServer
from clientsim.server.policy import ServerPolicy
from clientsim.simulator.browser import Latency, SimulatedBrowser

from .lab import Lab
from .target import ExternalTarget, Target, TargetSpec
from .tasks import wait_for
from .timeline import Timeline

T = TypeVar('T')


class ClientsimLoop:
    """A private asyncio loop for synchronous tests, plus one :class:`Timeline` for everything a test creates.

    ``run(awaitable, timeout_s=30)`` runs it to completion and returns its result (raises what it raises, and
    ``asyncio.TimeoutError`` after ``timeout_s`` **seconds**); ``sleep(ms)`` lets the loop work for ``ms``
    **milliseconds** (socket messages arrive, downloads finish). Cleanup callbacks registered with
    :meth:`on_close` run in reverse order in :meth:`close`.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)  # so futures made outside run() (asyncio.gather(...)) belong to it
        self.timeline = Timeline()
        self._cleanups: list[Callable[[], Awaitable[Any]]] = []

    def run(self, awaitable: Awaitable[T], timeout_s: float = 30.0) -> T:
        """Run ``awaitable`` on the loop and return its result."""
        return self.loop.run_until_complete(wait_for(_as_coroutine(awaitable), timeout_s))

    def sleep(self, ms: float) -> None:
        """Let the loop run for ``ms`` milliseconds."""
        self.loop.run_until_complete(asyncio.sleep(ms / 1000))

    def on_close(self, cleanup: Callable[[], Awaitable[Any]]) -> None:
        """Register ``await cleanup()`` for :meth:`close`."""
        self._cleanups.append(cleanup)

    def close(self) -> None:
        """Run the cleanups (errors are collected and re-raised as one RuntimeError after all ran), cancel left-over
        tasks and close the loop."""
        errors = []
        for cleanup in reversed(self._cleanups):
            try:
                self.loop.run_until_complete(wait_for(_as_coroutine(cleanup()), 15))
            except Exception as e:  # keep cleaning up
                errors.append(e)
        self._cleanups.clear()
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()
        asyncio.set_event_loop(None)
        if errors:
            raise RuntimeError(f'clientsim cleanup failed: {errors!r}')


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``clientsim_policy`` marker, and the GUI fixture ``clientsim_gui`` (the plugin module
    ``clientsim.simulator.gui.pytest_fixtures``) when pytest-qt and the ``gui`` extra (PySide6) are installed. The GUI
    module is loaded by name, so this module imports no Qt."""
    config.addinivalue_line('markers', 'clientsim_policy(**fields): ServerPolicy fields for the clientsim_server '
                                       'fixture, e.g. @pytest.mark.clientsim_policy(download_target="sender")')
    gui_plugin = 'clientsim.simulator.gui.pytest_fixtures'
    if (importlib.util.find_spec('pytestqt') is not None and importlib.util.find_spec('PySide6') is not None
            and not config.pluginmanager.has_plugin(gui_plugin)):
        config.pluginmanager.import_plugin(gui_plugin)


@pytest.fixture
def clientsim() -> Iterator[ClientsimLoop]:
    """A :class:`ClientsimLoop` for this test; closes windows, servers and apps the other fixtures made."""
    sim = ClientsimLoop()
    yield sim
    sim.close()


@pytest.fixture
def clientsim_lab_factory(clientsim: ClientsimLoop) -> Callable[..., Lab]:
    """``make(policy=None, *, target=None, **policy_fields) -> Lab``: a started :class:`~simulator.lab.Lab` on
    ``clientsim.timeline`` — the embedded server with ``policy`` (a :class:`ServerPolicy`) or these policy fields,
    or with ``target`` (a URL, :class:`TargetSpec` or :class:`ExternalTarget`) a real app; its windows are closed
    and its server/app stopped after the test. Raises pydantic.ValidationError for bad policy fields, TypeError
    for ``policy`` together with fields or a ``target`` with a policy. ``javascript``: JavaScript rules every
    window answers ``run_javascript`` with, as NiceGUI's ``User`` fixture has them (``{regex: result}``, a result
    may be a callable ``f(match)``; see :mod:`clientsim.simulator.browser.scripts`); ValueError for a bad regex."""
    def make(policy: Optional[ServerPolicy] = None, *, target: Union[Target, ExternalTarget, None] = None,
             javascript: Optional[dict[str, Any]] = None, **fields: Any) -> Lab:
        if policy is not None and fields:
            raise TypeError('pass a ServerPolicy or its fields, not both')
        if target is not None and (policy is not None or fields):
            raise TypeError('a target (a real app) has no ServerPolicy')
        if target is None and policy is None:
            policy = ServerPolicy(**fields)
        lab = Lab(policy, target=target, timeline=clientsim.timeline, javascript=javascript)
        clientsim.on_close(lab.stop)
        spec = lab.target.spec if lab.target is not None else None
        clientsim.run(lab.start(), timeout_s=spec.ready_timeout_s + 10 if spec is not None else 30.0)
        return lab
    return make


@pytest.fixture
def clientsim_lab(request: pytest.FixtureRequest, clientsim_lab_factory: Callable[..., Lab]) -> Lab:
    """A started :class:`~simulator.lab.Lab` on the embedded server: ``lab.server``, ``lab.url``, ``lab.timeline``,
    ``await lab.open(name, page)``; policy from ``@pytest.mark.clientsim_policy(**fields)`` (default: the shipped
    NiceGUI 2.11.0 behaviour). Windows are closed and the server stopped after the test."""
    marker = request.node.get_closest_marker('clientsim_policy')
    return clientsim_lab_factory(**(marker.kwargs if marker else {}))


@pytest.fixture
def clientsim_server_factory(clientsim_lab_factory: Callable[..., Lab]) -> Callable[..., EmbeddedServer]:
    """``make(**policy_fields) -> EmbeddedServer``: start an embedded server (``server.url`` is its base URL) with
    these :class:`ServerPolicy` fields; stopped after the test. Raises pydantic.ValidationError for bad fields."""
    def make(**policy: Any) -> EmbeddedServer:
        server = clientsim_lab_factory(**policy).server
        assert server is not None
        return server
    return make


@pytest.fixture
def clientsim_server(request: pytest.FixtureRequest,
                     clientsim_server_factory: Callable[..., EmbeddedServer]) -> EmbeddedServer:
    """A started embedded server; its policy comes from ``@pytest.mark.clientsim_policy(**fields)`` (default: the
    shipped NiceGUI 2.11.0 behaviour)."""
    marker = request.node.get_closest_marker('clientsim_policy')
    return clientsim_server_factory(**(marker.kwargs if marker else {}))


@pytest.fixture
def clientsim_windows(clientsim: ClientsimLoop,
                      clientsim_lab_factory: Callable[..., Lab]) -> Callable[..., list[SimulatedBrowser]]:
    """``open(n, url, *, names=None, download_ms=0, handshake_ms=0, page_get_ms=0, wait=True, javascript=None)`` →
    ``n`` opened :class:`SimulatedBrowser` windows (named ``w0, w1, ...`` unless ``names``), opened concurrently;
    ``javascript``: JavaScript rules (see ``clientsim_lab_factory``). The windows auto-reconnect (a real app).

    Latencies are in **ms**, one number for all windows or a sequence with one per window. With ``wait`` it
    returns once every handshake is acknowledged. Windows are closed after the test. Page load problems do not
    raise: check ``window.state`` / ``window.page_error``. Raises ValueError when ``names`` has not ``n`` names.
    """
    def open_windows(n: int, url: str, *, names: Optional[Sequence[str]] = None,
                     download_ms: Union[float, Sequence[float]] = 0, handshake_ms: Union[float, Sequence[float]] = 0,
                     page_get_ms: Union[float, Sequence[float]] = 0, wait: bool = True,
                     javascript: Optional[dict[str, Any]] = None) -> list[SimulatedBrowser]:
        names = list(names) if names is not None else [f'w{i}' for i in range(n)]
        if len(names) != n:
            raise ValueError(f'{n} windows but {len(names)} names')

        def pick(value: Union[float, Sequence[float]], i: int) -> float:
            return float(value[i]) if isinstance(value, Sequence) else float(value)
        lab = clientsim_lab_factory(target=url, javascript=javascript)  # the app at ``url`` (clientsim only connects)
        windows = [lab.add(names[i], Latency(page_get_ms=pick(page_get_ms, i), handshake_ms=pick(handshake_ms, i),
                                             download_ms=pick(download_ms, i))) for i in range(n)]

        async def open_all() -> None:
            await asyncio.gather(*(w.open(url, wait=wait) for w in windows))
        clientsim.run(open_all())
        return windows
    return open_windows


@pytest.fixture
def clientsim_app(clientsim_lab_factory: Callable[..., Lab]) -> Callable[..., ExternalTarget]:
    """``start(command, url, *, ready_timeout_s=20, cwd=None, env=None) -> ExternalTarget``: start a real app
    (``{port}`` in ``command``/``url`` = a free port, ``{python}`` = this interpreter), wait until ``url`` answers,
    stop it (SIGTERM, then SIGKILL) after the test. ``target.url`` is the base URL, ``target.output`` the app's
    stdout+stderr so far, ``target.error_counts()`` its tracebacks by type. Raises RuntimeError if it does not
    come up (the message carries its output)."""
    def start(command: Sequence[str], url: str, *, ready_timeout_s: float = 20.0, cwd: Optional[str] = None,
              env: Optional[dict[str, str]] = None) -> ExternalTarget:
        target = ExternalTarget(TargetSpec(command=list(command), url=url, ready_timeout_s=ready_timeout_s,
                                           env=env or {}), base_dir=cwd)
        lab = clientsim_lab_factory(target=target)
        assert lab.target is target
        return target
    return start
