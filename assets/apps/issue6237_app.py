"""NiceGUI #6237 app for clientsim: ``python issue6237_app.py PORT``.

#6237 (fixed in NiceGUI 3.17.0): ``Client.handle_disconnect`` cleared ``tab_id`` unconditionally. When the browser has
already reconnected (new sid, same ``document_id``) before the server reaps the old socket (engine.io ping timeout,
``ping_interval + ping_timeout`` = 4 + 2 s at the default ``reconnect_timeout=3.0``), the late reap sets
``tab_id = None`` under the live socket: ``has_socket_connection`` turns False, ``_on_event`` drops every event and the
outbox stops flushing. The page is frozen.

Page ``/``: an ``Increment`` button and a label ``count: N`` (one ``update`` per click), a ``ui.timer`` label
``tick: N`` (one ``update`` every 0.5 s while the outbox flushes). Markers on stdout:

* ``READY <port>``; ``PAGE / <client_id>``; ``CONNECT <client_id>`` / ``DISCONNECT <client_id>``;
* ``STATE <client_id> socket=<True|False> tab_id=<tab_id|None> sockets=<n>`` whenever one of these changes
  (checked every 0.1 s); on 3.16.0 the bug shows as ``socket=False tab_id=None sockets=1``;
* ``VALUE count <n>`` for every click that reaches the app.
"""
import asyncio
import sys

from nicegui import Client, app, background_tasks, ui

PORT = int(sys.argv[1])


def say(*parts: object) -> None:
    print(*parts, flush=True)


@app.on_startup
def _ready() -> None:
    say('READY', PORT)


app.on_connect(lambda client: say('CONNECT', client.id))
_last_state: dict[str, tuple] = {}


async def _watch_clients() -> None:
    """Print STATE lines when a client's socket/tab_id/socket count changes (plain asyncio, no NiceGUI timer,
    which would itself depend on the outbox)."""
    while True:
        for client in list(Client.instances.values()):
            sockets = len(client._socket_to_document_id)  # pylint: disable=protected-access
            state = (client.has_socket_connection, client.tab_id, sockets)
            if _last_state.get(client.id) != state:
                _last_state[client.id] = state
                say('STATE', client.id, f'socket={state[0]}', f'tab_id={state[1]}', f'sockets={sockets}')
        await asyncio.sleep(0.1)


app.on_startup(lambda: background_tasks.create(_watch_clients(), name='watch clients'))
app.on_disconnect(lambda client: say('DISCONNECT', client.id))


@ui.page('/')
def index() -> None:
    client = ui.context.client
    say('PAGE', '/', client.id)
    count = {'n': 0}
    label = ui.label('count: 0')

    def increment() -> None:
        count['n'] += 1
        label.text = f'count: {count["n"]}'
        say('VALUE', 'count', count['n'])
    ui.button('Increment', on_click=increment)
    ticks = ui.label('tick: 0')
    ui.timer(0.5, lambda: ticks.set_text(f'tick: {int(ticks.text.split()[1]) + 1}'))


ui.run(host='127.0.0.1', port=PORT, reload=False, show=False, title='clientsim #6237 app')
