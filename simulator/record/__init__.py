"""``clientsim record``: record a real browser session through a reverse proxy and turn it into a scenario.

* :mod:`.recording` — the raw recording (JSON lines: every HTTP request and socket.io frame, with its time);
* :mod:`.proxy` — the aiohttp reverse proxy that writes it (HTTP and websocket, both directions);
* :mod:`.generate` — recording → a readable scenario (steps named by label, expectations from what the server sent);
* :mod:`.replay` — one recorded window played as N windows (``clientsim play --windows N``);
* :mod:`.command` — the ``clientsim record`` subcommand.

No Qt import here.
"""
