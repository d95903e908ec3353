"""The simulated browser: :class:`SimulatedBrowser`, one browser window speaking NiceGUI's protocol (no Qt).

Split the way playwright-python splits ``Page`` / ``Frame`` / ``Download`` / ``Locator`` and NiceGUI's testing
``User`` (``nicegui/testing/user.py``) is composed of ``user_download.py`` and ``user_interaction.py``; each
module names the NiceGUI file and version it models:

========================  ===========================================================================
``state``                 connection states, :class:`Latency`, :class:`Frame`, ``WindowView`` (a leaf)
``scripts``               JavaScript rules (regex → result) and the navigation codes of ``run_javascript``
``page``                  :func:`parse_page`, :func:`js_query_value`, :class:`PageError`
``dialect``               NiceGUI 2.x vs 3.x: socket query, handshake data, socket.io path, download URL,
                          the tab ids of a duplicated tab
``elements``              describe elements, widgets, listeners, ``event`` / ``update`` messages
``finding``               find elements by label / content / id (candidates named), values in wire format
``downloads``             :class:`Download` and fetching a download (a single-use route)
``acks``                  nicegui.js's ``ack`` every 3 s, buffered while the socket is down
``boot``                  the page load model (``chromium``: static files + Chromium's boot time; ``instant``)
``messages``              the server messages a window follows (``open``, ``run_javascript`` …) or ignores
``connection``            one socket.io connection: connect, handlers, handshake, acks, auto-reconnect, drop
``controls``              what a person does: click, set values, type, upload (a mixin of the window)
``window``                the :class:`SimulatedBrowser` facade: state, listeners, page life, delegation
========================  ===========================================================================

Imports inside the package go one way: a module imports only modules above it in this list (``window``
imports the parts; no part imports ``window``, not even for typing: they are typed against
``state.WindowView``). Every public name of the former ``simulator/browser.py`` is re-exported here, except the
wire constants ``SOCKETIO_PATH`` / ``WINDOW_QUERY``, whose home is :mod:`clientsim.server.wire`; the parts' own helpers
are imported from their modules.
"""
from __future__ import annotations

from .context import BrowserContext
from .downloads import Download
from .elements import VALUE_EVENTS, WIDGET_KINDS, describe_element, stringify_event_args
from .page import PageError, js_query_value, parse_page
from .state import (
                    CLOSED,
                    CONNECTED,
                    CONNECTING,
                    DISCONNECTED,
                    HANDSHAKE_DONE,
                    LOAD_FAILED,
                    LOADING,
                    STATES,
                    Frame,
                    Latency,
)
from .window import SimulatedBrowser

__all__ = [
    'SimulatedBrowser', 'BrowserContext', 'Latency', 'Download', 'Frame', 'PageError',
    'CLOSED', 'LOADING', 'CONNECTING', 'CONNECTED', 'HANDSHAKE_DONE', 'DISCONNECTED', 'LOAD_FAILED', 'STATES',
    'parse_page', 'js_query_value', 'VALUE_EVENTS', 'WIDGET_KINDS', 'describe_element', 'stringify_event_args',
]
