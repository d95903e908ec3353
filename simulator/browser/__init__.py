"""The simulated browser: :class:`SimulatedBrowser`, one browser window speaking NiceGUI's protocol (no Qt).

Split the way playwright-python splits ``Page`` / ``Frame`` / ``Download`` / ``Locator`` and NiceGUI's testing
``User`` (``nicegui/testing/user.py``) is composed of ``user_download.py`` and ``user_interaction.py``; each
module names the NiceGUI file and version it models:

========================  ===========================================================================
``state``                 connection states, :class:`Latency`, :class:`Frame`, ``WindowView`` (a leaf)
``page``                  :func:`parse_page`, :func:`js_query_value`, :class:`PageError`
``dialect``               NiceGUI 2.x vs 3.x: socket query, handshake data, socket.io path, download URL
``elements``              find and describe elements, widgets, listeners, ``event`` / ``update`` messages
``downloads``             :class:`Download` and fetching a download (a single-use route)
``connection``            one socket.io connection: connect, handlers, handshake, leave, drop, reconnect
``window``                the :class:`SimulatedBrowser` facade: state, listeners, page life, delegation
========================  ===========================================================================

Imports inside the package go one way, down this list (``window`` imports the parts; no part imports
``window``). Every name that was importable from the former ``simulator/browser.py`` is re-exported here.
"""
from __future__ import annotations

from .connection import Connection
from .dialect import major_version, socket_query
from .downloads import Download, fetch_download
from .elements import (VALUE_EVENTS, WIDGET_KINDS, describe_element, event_message, find_clickable,
                       find_value_element, stringify_event_args, widgets)
from .page import PageError, js_query_value, parse_page
from .state import (CLOSED, CONNECTED, CONNECTING, DISCONNECTED, HANDSHAKE_DONE, LOAD_FAILED, LOADING, STATES,
                    Frame, Latency, WindowView)
from .window import SimulatedBrowser

__all__ = [
    'SimulatedBrowser', 'Latency', 'Download', 'Frame', 'PageError', 'WindowView', 'Connection',
    'CLOSED', 'LOADING', 'CONNECTING', 'CONNECTED', 'HANDSHAKE_DONE', 'DISCONNECTED', 'LOAD_FAILED', 'STATES',
    'parse_page', 'js_query_value', 'major_version', 'socket_query',
    'VALUE_EVENTS', 'WIDGET_KINDS', 'describe_element', 'stringify_event_args', 'event_message',
    'find_clickable', 'find_value_element', 'widgets', 'fetch_download',
]
