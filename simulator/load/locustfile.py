"""The locustfile clientsim ships: ``locust -f $(clientsim locustfile) --host URL --clientsim-scenario FILE``.

Every Locust user is one clientsim window running the load scenario's steps (:mod:`clientsim.simulator.load.user`).
"""
from clientsim.simulator.load.user import ClientsimUser


class WindowUser(ClientsimUser):
    """One simulated browser window per Locust user."""
