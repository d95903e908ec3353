"""NiceGUI #1822 app for clientsim: ``python issue1822_app.py PORT [build_ms]``.

#1822 (PR "Add websocket connection timeout handling", closed without merge): reloading many tabs at once, on a
busy machine, leaves some tabs stuck in the reload. The PR proposed socket.io client options (timeout 20000,
reconnectionDelay 5000, reconnectionDelayMax 20000, reconnectionAttempts 5); no NiceGUI release carries them.

Page ``/`` blocks the event loop for ``build_ms`` (default 300 ms, argv[2]) while it is built, so that many
simultaneous reloads queue up behind each other and the engine.io ping deadline (4 s + 2 s at the default
``reconnect_timeout=3.0``) gets tight. Markers: ``READY <port>``; ``PAGE / <client_id> <n>`` (n-th page build);
``CONNECT <client_id>`` / ``DISCONNECT <client_id>``; ``DELETE <client_id>`` when a client is deleted;
``STUCK <client_id>`` when a page was built but no socket connected within 5 s.
A tab is "stuck" when its PAGE line has no CONNECT.
"""
import asyncio
import sys
import time

from nicegui import app, ui

PORT = int(sys.argv[1])
BUILD_MS = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
builds = {'n': 0}


def say(*parts: object) -> None:
    print(*parts, flush=True)


@app.on_startup
def _ready() -> None:
    say('READY', PORT)


app.on_connect(lambda client: say('CONNECT', client.id))
app.on_disconnect(lambda client: say('DISCONNECT', client.id))
app.on_delete(lambda client: say('DELETE', client.id))


@ui.page('/')
def index() -> None:
    client = ui.context.client
    builds['n'] += 1
    say('PAGE', '/', client.id, builds['n'])
    time.sleep(BUILD_MS / 1000)  # a slow page build that blocks the loop, as a busy app does
    ui.label(f'page {builds["n"]}')

    async def watch() -> None:
        await asyncio.sleep(5.0)
        if not client.has_socket_connection and not client.is_deleted:
            say('STUCK', client.id)
    asyncio.get_running_loop().create_task(watch())


ui.run(host='127.0.0.1', port=PORT, reload=False, show=False, title='clientsim #1822 app')
