"""``app.storage.user`` per browser, for clientsim's browser contexts: ``python storage_user_app.py PORT``.

NiceGUI keeps ``app.storage.user`` per browser: its session middleware gives every browser a ``browser_id`` in a
signed session cookie (``storage_secret`` is set), and every tab of that browser sends the cookie back. So two tabs
of one browser share one user storage, two browsers do not.

Page ``/``: counts page loads in ``app.storage.user['visits']`` and shows ``user visits: <n>`` in a label.
Markers: ``READY <port>``; ``USER <client_id> browser=<first 8 chars of the browser id> visits=<n>`` per page load.
"""
import os
import shutil
import sys
import tempfile

# NiceGUI writes app.storage.user to ./.nicegui by default: keep it out of the scenario folder (the app's cwd), in a
# temp folder removed at shutdown
if 'NICEGUI_STORAGE_PATH' not in os.environ:
    os.environ['NICEGUI_STORAGE_PATH'] = STORAGE = tempfile.mkdtemp(prefix='clientsim-storage-user-')
else:
    STORAGE = None

from nicegui import app, ui  # noqa: E402

if STORAGE is not None:
    app.on_shutdown(lambda: shutil.rmtree(STORAGE, ignore_errors=True))

PORT = int(sys.argv[1])


def say(*parts: object) -> None:
    print(*parts, flush=True)


@app.on_startup
def _ready() -> None:
    say('READY', PORT)


@ui.page('/')
def index() -> None:
    app.storage.user['visits'] = app.storage.user.get('visits', 0) + 1
    ui.label(f'user visits: {app.storage.user["visits"]}')
    browser_id = str(app.storage.browser.get('id', ''))[:8]
    say('USER', ui.context.client.id, f'browser={browser_id}', f'visits={app.storage.user["visits"]}')


ui.run(host='127.0.0.1', port=PORT, reload=False, show=False, title='clientsim storage.user app',
       storage_secret='clientsim browser contexts')
