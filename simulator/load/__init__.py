"""Load testing with Locust: clientsim windows as Locust users, on one machine or many.

* :mod:`clientsim.simulator.load.spec` — load scenario files (``assets/scenarios/load/``);
* :mod:`clientsim.simulator.load.engine` — the asyncio side: windows, their timelines turned into request reports;
* :mod:`clientsim.simulator.load.bridge` — the gevent side: one engine child process per Locust process;
* :mod:`clientsim.simulator.load.user` — the Locust user class (imports Locust; only locustfiles import it);
* :mod:`clientsim.simulator.load.locustfile` — the locustfile clientsim ships (:data:`LOCUSTFILE`);
* :mod:`clientsim.simulator.load.runner` — ``clientsim load``: a master and local workers (and ``clientsim serve``).

Importing this package does not import Locust or gevent.
"""
from pathlib import Path

#: Path of the shipped locustfile (``clientsim locustfile`` prints it).
LOCUSTFILE = str(Path(__file__).resolve().parent / 'locustfile.py')
