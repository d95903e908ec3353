"""Wire constants shared by the embedded server and the simulated browser (a leaf: stdlib only).

One module for both sides of the socket, as python-socketio keeps ``packet.py`` for its client and server.
Paths and names are NiceGUI's (2.11.0 ``nicegui/nicegui.py``: ``core.sio`` is attached at
``/_nicegui_ws/socket.io``); the ``clientsim_*`` names are clientsim's own tags, which a real NiceGUI server
ignores.
"""
from __future__ import annotations

SOCKETIO_PATH = '/_nicegui_ws/socket.io'
"""The socket.io path of a NiceGUI app, with its leading slash (server side: ``sio.attach(socketio_path=)``)."""

SOCKETIO_PATH_RELATIVE = SOCKETIO_PATH.lstrip('/')
"""The same path without the leading slash, as a client joins it to an app's path prefix."""

WINDOW_QUERY = 'clientsim_window'
"""Query parameter of the socket.io connect URL that names the simulated window (for lanes on the server)."""

WINDOW_HEADER = 'X-Clientsim-Window'
"""HTTP header a simulated window sends with page and download GETs, so the server can name the window."""
