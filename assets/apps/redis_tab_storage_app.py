"""A real NiceGUI 3.x app with Redis tab storage, for problem 6: ``python redis_tab_storage_app.py PORT [options]``.

Needs ``NICEGUI_REDIS_URL`` in the environment (read when NiceGUI is imported; ``target: {redis: true}`` gives it
``{redis_url}``, a throwaway redis-server behind clientsim's stall proxy) and ``nicegui[redis]`` installed.

* ``/private`` — a private page that counts its visits in ``app.storage.tab`` (so the tab storage is used).

In 3.x ``_on_connect`` runs the implicit handshake; ``Client.handle_handshake`` counts the connection and then awaits
``app.storage._create_tab_storage``, a Redis call. Options: ``--reconnect-timeout S``; ``--ping S`` (engine.io ping
interval and timeout, set at startup; NiceGUI's own are max(0.8 × reconnect_timeout, 4) s and max(0.4 ×
reconnect_timeout, 2) s); ``--prune-every S --prune-age S`` (``Client.prune_instances(client_age_threshold=...)``).
Runs on 127.0.0.1 with ``reload=False, show=False``.
"""
import argparse
import asyncio
import os
import sys

if not os.environ.get('NICEGUI_REDIS_URL'):
    sys.exit('redis_tab_storage_app.py needs NICEGUI_REDIS_URL (e.g. redis://127.0.0.1:6379)')

from nicegui import __version__, app, core, ui  # noqa: E402  (after the check: NiceGUI reads the URL at import)
from nicegui.client import Client  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument('port', type=int)
parser.add_argument('--reconnect-timeout', type=float, default=3.0)
parser.add_argument('--ping', type=float, default=None)
parser.add_argument('--prune-every', type=float, default=None)
parser.add_argument('--prune-age', type=float, default=60.0)
args = parser.parse_args()


@ui.page('/private')
def private_page() -> None:
    ui.label(f'clientsim redis tab storage app (nicegui {__version__})')
    label = ui.label()

    async def count_visit() -> None:
        await ui.context.client.connected()
        app.storage.tab['visits'] = app.storage.tab.get('visits', 0) + 1
        label.set_text(f"visits in this tab: {app.storage.tab['visits']}")
    ui.timer(0, count_visit, once=True)


async def prune_loop() -> None:
    while True:
        await asyncio.sleep(args.prune_every)
        Client.prune_instances(client_age_threshold=args.prune_age)


def on_startup() -> None:
    if args.ping is not None:
        core.sio.eio.ping_interval = args.ping
        core.sio.eio.ping_timeout = args.ping
    if args.prune_every is not None:
        app.state.clientsim_prune = asyncio.get_running_loop().create_task(prune_loop())


app.on_startup(on_startup)
ui.run(host='127.0.0.1', port=args.port, reload=False, show=False, reconnect_timeout=args.reconnect_timeout,
       title='clientsim redis tab storage app')
