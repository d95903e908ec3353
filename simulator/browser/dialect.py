"""The NiceGUI 2.x and 3.x dialects of the page ↔ socket protocol, as functions of one window.

Models ``nicegui/static/nicegui.js`` of NiceGUI 2.11.0 and of 3.x (read in 3.18.0). The implicit handshake is
NiceGUI PR #5499 (3.7 on); 3.18.0 ``nicegui/nicegui.py`` refuses one with
``ConnectionRefusedError('Implicit handshake failed')``.

=========================  ==========================================  =============================================
difference                 2.11.0 nicegui.js                           3.x nicegui.js
=========================  ==========================================  =============================================
socket.io connect query    the page's ``query`` as is                  plus ``document_id``, ``tab_id``, ``old_tab_id``
handshake data             its own dict (``client_id``, ``tab_id`` …)  ``options.query`` (the connect query)
reconnect attempt          websocket only                              websocket, then polling (``tryAllTransports``)
handshake                  ``emit('handshake', …)`` with an ack        3.7+: the connect itself when the page says
                                                                       ``implicit_handshake``; a refusal is a
                                                                       ``connect_error`` and the page reloads once
``update`` messages        elements replaced as sent                   props in ``preserved_props`` keep their value
=========================  ==========================================  =============================================

Shared by both: the socket.io path (``{prefix}/_nicegui_ws/socket.io``, :mod:`clientsim.server.wire`) and ``download()``
(only a ``src`` starting with ``/`` gets the path prefix; the same in 2.11.0 and 3.18.0 nicegui.js).
"""
from __future__ import annotations

import urllib.parse
import uuid
from typing import Any, Optional

from clientsim.server.wire import SOCKETIO_PATH_RELATIVE

from .state import WindowView

IMPLICIT_HANDSHAKE_REFUSED = 'Implicit handshake failed'
"""Text of the ``connect_error`` a NiceGUI 3.7+ server sends when it refuses an implicit handshake."""


def major_version(version: str) -> int:
    """The NiceGUI major version a page announced (``'2.11.0'`` → 2); 2 when unknown (the embedded server
    announces 2.11.0)."""
    head = version.split('.', 1)[0]
    return int(head) if head.isdigit() else 2


def socket_query(window: WindowView) -> dict[str, Any]:
    """The socket.io connect query the real page sends, as Python values (see :func:`js_query_value`).

    NiceGUI 2.11.0 nicegui.js: the page's ``query`` as is (``client_id``, ``next_message_id`` and any
    ``socket_io_js_query_params``). NiceGUI 3.x nicegui.js additionally puts ``document_id``, ``tab_id`` and
    ``old_tab_id`` into it (they are the handshake data when ``implicit_handshake`` is true).
    """
    query = dict(window.page_query) or {'client_id': window.client_id}
    query['next_message_id'] = window.next_message_id
    if major_version(window.version) >= 3:
        query.update(document_id=window.document_id, tab_id=window.tab_id, old_tab_id=window.old_tab_id)
    return query


def polls_after_websocket(window: WindowView) -> bool:
    """True when a failed websocket attempt is followed by a polling request in the same attempt: 3.x nicegui.js
    (read in 3.18.0) passes ``tryAllTransports: true`` to ``io()`` when the page's ``transports`` hold ``polling``;
    2.11.0 nicegui.js does not (socket.io-client then stays on the first transport)."""
    return major_version(window.version) >= 3 and 'polling' in window.page_transports


def handshake_data(window: WindowView) -> dict[str, Any]:
    """The payload of the ``handshake`` emit: ``{client_id, document_id, tab_id, old_tab_id, next_message_id}``
    in 2.11.0 nicegui.js; the whole connect query in 3.x (``emit("handshake", options.query, …)``)."""
    if major_version(window.version) >= 3:
        return socket_query(window)
    return {'client_id': window.client_id, 'document_id': window.document_id, 'tab_id': window.tab_id,
            'old_tab_id': window.old_tab_id, 'next_message_id': window.next_message_id}


def version_tuple(version: str) -> tuple[int, ...]:
    """``'2.5.0'`` → ``(2, 5, 0)``; non-numeric parts end it; ``()`` when unknown."""
    parts: list[int] = []
    for part in version.split('.'):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def duplicate_tab_ids(version: str, original_tab_id: str) -> tuple[str, Optional[str]]:
    """``(tab_id, old_tab_id)`` of a duplicated tab. nicegui.js 2.5.0+ (PR #3876, commit 526c66b79): a new
    ``tab_id`` and the original's as ``old_tab_id``. Before 2.5.0 the copied sessionStorage gave the same
    ``tab_id`` (NiceGUI issue #3872). An unknown version counts as new."""
    release = version_tuple(version)
    if release and release < (2, 5, 0):
        return original_tab_id, None
    return str(uuid.uuid4()), original_tab_id


def socketio_path(prefix: str) -> str:
    """The ``socketio_path`` argument of python-socketio's ``AsyncClient.connect`` for a page under ``prefix``
    (``''`` → ``'_nicegui_ws/socket.io'``, ``'/app'`` → ``'app/_nicegui_ws/socket.io'``)."""
    return f'{prefix.strip("/")}/{SOCKETIO_PATH_RELATIVE}'.lstrip('/')


def download_url(page_url: str, prefix: str, src: str) -> str:
    """The absolute URL nicegui.js ``download()`` fetches for a string ``src``: the prefix is put before a
    ``src`` starting with ``/`` only, then it resolves against the page URL."""
    return urllib.parse.urljoin(page_url, prefix + src if src.startswith('/') else src)


def preserve_props(old: Optional[dict[str, Any]], new: dict[str, Any]) -> None:
    """NiceGUI 3.x nicegui.js ``update``: props named in the new element's ``preserved_props`` (removed from
    ``new``) keep the value the old element had on the client. A 2.x server never sends the key."""
    for prop in new.pop('preserved_props', None) or []:
        if old is not None and prop in (old.get('props') or {}):
            new.setdefault('props', {})[prop] = old['props'][prop]
