"""The Locust user class: every Locust user is one clientsim window (a :class:`SimulatedBrowser`) running the
steps of a load scenario (:mod:`clientsim.simulator.load.spec`) against ``--host``, again and again until the run ends.

Importing this module imports Locust (which monkey-patches with gevent): only locustfiles import it. The
windows themselves live in one asyncio child process per Locust process (:mod:`clientsim.simulator.load.bridge`).
Each step's protocol timings come back as Locust requests (``page_get``, ``handshake``, ``event``,
``download``, ``disconnect``) and correctness problems as Locust failures (see :mod:`clientsim.simulator.load.engine`).

Options: ``--clientsim-scenario FILE`` (or the ``CLIENTSIM_SCENARIO`` environment variable; a path or a name
in ``assets/scenarios/load/``). On a master, ``worker_report`` counts handshakes per worker and prints
``clientsim: worker <id>: <n> handshakes, <m> failures`` when it quits.
"""
from __future__ import annotations

import itertools
import os
import time
from collections import defaultdict
from typing import Any, Optional

import gevent
from gevent.lock import Semaphore
from locust import User, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner
from locust.stats import CSV_STATS_INTERVAL_SEC

from .bridge import EngineError, EngineProcess
from .spec import load_load_scenario, resolve_path

DEFAULT_SCENARIO = 'download_race_at_scale'

_engine: Optional[EngineProcess] = None
_engine_lock = Semaphore()  # users start together; starting the engine yields, so only one may start it
_numbers = itertools.count()
_per_worker: dict[str, dict[str, int]] = defaultdict(lambda: {'handshakes': 0, 'failures': 0})
FINAL_MESSAGE = 'clientsim_final'  # a worker's custom message: its final reports were sent
FINISH_MESSAGE = 'clientsim_finish'  # the master's custom message: stop the users and send the final reports
FINAL_WAIT_S = 60.0  # the engine's shutdown (30 s at most) plus the server's settling
_finals: set[str] = set()  # workers whose final reports the master has


@events.init_command_line_parser.add_listener
def _add_options(parser: Any) -> None:
    parser.add_argument('--clientsim-scenario', default=os.environ.get('CLIENTSIM_SCENARIO', DEFAULT_SCENARIO),
                        help='clientsim load scenario: a YAML path or a name in assets/scenarios/load/')


def scenario_file(environment: Environment) -> str:
    """The load scenario path this process runs (validated; raises LoadScenarioError)."""
    options = environment.parsed_options
    name = getattr(options, 'clientsim_scenario', None) or os.environ.get('CLIENTSIM_SCENARIO', DEFAULT_SCENARIO)
    load_load_scenario(name)
    return str(resolve_path(name).resolve())


def fire_reports(environment: Environment, reports: list[dict[str, Any]]) -> None:
    """One Locust request event per engine report (``ms`` → response_time)."""
    for r in reports:
        environment.events.request.fire(
            request_type=r['type'], name=r['name'], response_time=r['ms'], response_length=r.get('length', 0),
            exception=EngineError(r['error']) if r.get('error') else None, context={})


def engine_for(environment: Environment) -> EngineProcess:
    """This process's engine, started on first use against ``environment.host``."""
    global _engine
    with _engine_lock:
        if _engine is None or _engine.closed:
            if not environment.host:
                raise EngineError('no host: pass --host http://127.0.0.1:PORT (the URL `clientsim serve` prints)')
            _engine = EngineProcess(environment.host, scenario_file(environment),
                                    lambda reports: fire_reports(environment, reports))
        return _engine


@events.test_stop.add_listener
def _stop_engine(environment: Environment, **_: Any) -> None:
    """Close the windows and take the final reports (the last server errors among them). On a worker, send them to
    the master at once: Locust 2.47's worker reports stats every 3 s and on ``quit``, but the master forgets a worker
    once it said ``client_stopped`` (sent right after this), so it never gets ``quit`` and the reports of its last
    seconds were lost: 2,391 server errors counted against serve's 2,585 with 2 workers, measured here. The master
    asks for and waits for that (:func:`_wait_for_finals`)."""
    global _engine
    if _engine is not None:
        engine, _engine = _engine, None
        engine.shutdown()
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            if hasattr(runner, '_send_stats'):
                runner._send_stats()  # Locust's own final report (WorkerRunner, on quit)
            runner.send_message(FINAL_MESSAGE)  # after the stats on the same socket: the master can stop waiting


@events.init.add_listener
def _listen_for_finals(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        runner.register_message(FINAL_MESSAGE, lambda msg, **_kw: _finals.add(msg.node_id))
    elif isinstance(runner, WorkerRunner):  # the master asks before it quits: stop the users, send the last reports
        runner.register_message(FINISH_MESSAGE, lambda **_kw: runner.stop(), concurrent=True)


@events.test_stop.add_listener
def _wait_for_finals(environment: Environment, **_: Any) -> None:
    """On the master: ask every worker to finish (:data:`FINISH_MESSAGE`: stop its users and send its final
    reports) and wait, at most :data:`FINAL_WAIT_S` s, until every worker that reported and is still connected
    said it did (:data:`FINAL_MESSAGE`). At the end of ``--run-time`` Locust 2.47's master quits without stopping
    the workers first: it sends ``quit`` and waits 0.5 s for their last stats, while a worker's engine needs
    seconds to close its windows and claim the last server errors."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    runner.send_message(FINISH_MESSAGE)
    deadline = time.monotonic() + FINAL_WAIT_S
    while time.monotonic() < deadline:
        connected = {client.id for client in runner.clients.all}
        if not (set(_per_worker) & connected) - _finals:
            return
        gevent.sleep(0.1)


@events.quitting.add_listener
def _quit(environment: Environment, **_: Any) -> None:
    _stop_engine(environment)
    if getattr(environment.parsed_options, 'csv_prefix', None) and not isinstance(environment.runner, WorkerRunner):
        # Locust rewrites --csv files every CSV_STATS_INTERVAL_SEC and not again at exit: give it one more pass,
        # or the reports of the last second (the engine's last server errors) are missing from the CSV.
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.2)
    if isinstance(environment.runner, MasterRunner):
        for worker, counts in sorted(_per_worker.items()):
            print(f"clientsim: worker {worker}: {counts['handshakes']} handshakes, {counts['failures']} failures",
                  flush=True)


@events.worker_report.add_listener
def _count_worker(client_id: str, data: dict[str, Any]) -> None:
    for entry in data.get('stats') or []:
        if entry.get('name') == 'handshake':
            _per_worker[client_id]['handshakes'] += entry.get('num_requests', 0)
        _per_worker[client_id]['failures'] += entry.get('num_failures', 0)
    _per_worker[client_id]  # a worker that reported nothing yet is still listed


class ClientsimUser(User):
    """A Locust user that is one clientsim window. Subclass it in a locustfile (or use the shipped one,
    ``simulator/load/locustfile.py``); ``abstract = True`` keeps Locust from running this base class."""
    abstract = True

    def wait_time(self) -> float:
        """No pause between iterations: a scenario's ``wait`` steps are its think time (s)."""
        return 0.0

    def on_start(self) -> None:
        self.engine = engine_for(self.environment)
        self.window = self.engine.call('open_window', number=next(_numbers))['window']

    @task
    def run_steps(self) -> None:
        """One iteration: every step of the scenario in one engine call (one message each way); each protocol
        step still becomes its own Locust request, timed from the window's timeline."""
        try:
            answer = self.engine.call('iteration', window=self.window)
        except EngineError:
            if self.engine.closing:  # Ctrl+C: Locust stops the engine (quitting) before it stops the users
                raise StopUser() from None
            raise
        self._fire(answer.get('reports') or [])

    def on_stop(self) -> None:
        if getattr(self, 'window', None) and not self.engine.closed:
            try:
                self._fire(self.engine.call('close_window', window=self.window).get('reports') or [])
            except EngineError:
                pass

    def _fire(self, reports: list[dict[str, Any]]) -> None:
        fire_reports(self.environment, reports)
