"""NiceGUI #3876 app for clientsim: ``python issue3876_app.py PORT``.

#3876 (PR "Improve generation of unique tab IDs", first in NiceGUI 2.5.0): a browser's "Duplicate tab" copies
sessionStorage, so before 2.5.0 the copy sent the same ``tab_id`` and shared ``app.storage.tab`` with the original.
Since 2.5.0 nicegui.js detects the copy (``__nicegui_tab_closed == "false"`` in the copied sessionStorage), makes a
new ``tab_id`` and sends the original as ``old_tab_id``; the server copies the original's tab storage.

Page ``/`` (async, awaits ``client.connected()``): stores a per-tab id in ``app.storage.tab`` if missing and shows
``storage_id: <id> visits: <n>`` in a label.
Markers: ``READY <port>``; ``PAGE / <client_id>``;
``TAB <client_id> tab_id=<tab_id> storage_id=<id> new=<True|False> visits=<n>`` once per connected page
(``new=True`` when this tab storage had no id yet; ``visits`` counts page loads seen by this tab storage).
A duplicated tab on a fixed release shows a different ``tab_id`` with the original's ``storage_id`` copied and
independent from then on; on the bug both windows print the same ``tab_id``.
"""
import sys
import uuid

from nicegui import app, ui

PORT = int(sys.argv[1])


def say(*parts: object) -> None:
    print(*parts, flush=True)


@app.on_startup
def _ready() -> None:
    say('READY', PORT)


@ui.page('/')
async def index() -> None:
    client = ui.context.client
    say('PAGE', '/', client.id)
    label = ui.label('waiting for the socket')
    await client.connected()
    new = 'storage_id' not in app.storage.tab
    if new:
        app.storage.tab['storage_id'] = str(uuid.uuid4())[:8]
    app.storage.tab['visits'] = app.storage.tab.get('visits', 0) + 1
    label.text = f'storage_id: {app.storage.tab["storage_id"]} visits: {app.storage.tab["visits"]}'
    say('TAB', client.id, f'tab_id={client.tab_id}', f'storage_id={app.storage.tab["storage_id"]}', f'new={new}',
        f'visits={app.storage.tab["visits"]}')


ui.run(host='127.0.0.1', port=PORT, reload=False, show=False, title='clientsim #3876 app')
