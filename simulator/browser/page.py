"""Reading a NiceGUI page: :func:`parse_page` (its config out of the HTML), :func:`js_query_value` and
:class:`PageError`.

Models NiceGUI 2.11.0 ``nicegui/templates/index.html`` (the ``createApp(parseElements(String.raw`…`), {…})``
call) and ``parseElements()`` of ``nicegui/static/nicegui.js`` 2.11.0; checked against real 2.11.0 and 3.18.0
pages. No network here: the page GET is the window's (:mod:`clientsim.simulator.browser.window`).
"""
from __future__ import annotations

import ast
import functools
import json
import re
from typing import Any

from ..errors import ClientsimError

_ELEMENTS_RE = re.compile(r'parseElements\(String\.raw`(.*?)`\)', re.S)
_CLIENT_ID_RE = re.compile(r"""['"]client_id['"]\s*:\s*['"]([0-9a-fA-F-]+)['"]""")
_NEXT_ID_RE = re.compile(r"""['"]next_message_id['"]\s*:\s*(\d+)""")
_QUERY_RE = re.compile(r'^\s*query:\s*(\{.*\})\s*,?\s*$', re.M)
_TRANSPORTS_RE = re.compile(r'^\s*transports:\s*(\[.*\])\s*,?\s*$', re.M)
_PREFIX_RE = re.compile(r'''prefix:\s*"([^"]*)"''')
_VERSION_RE = re.compile(r'''version:\s*"([^"]*)"''')
# NiceGUI 2.11.0 / 3.x nicegui.js parseElements(): the order matters, `&amp;` must be undone last
# (the server escapes `&` first, so a literal "&lt;" in a label arrives as "&amp;lt;").
_UNESCAPE = (('&#36;', '$'), ('&#96;', '`'), ('&gt;', '>'), ('&lt;', '<'), ('&amp;', '&'))


class PageError(ClientsimError):
    """A page could not be loaded or understood (HTTP error, no NiceGUI config in the HTML)."""


def parse_page(html: str) -> dict[str, Any]:
    """Read NiceGUI's page config out of page HTML.

    The HTML is NiceGUI's ``templates/index.html`` (checked against real 2.11.0 and 3.18.0 pages)::

        createApp(parseElements(String.raw`<elements JSON, HTML-escaped>`), {
          version: "2.11.0", prefix: "", query: {'client_id': '<uuid>', 'next_message_id': 0}, ...
          transports: ['websocket', 'polling'], ...

    ``query`` is a Python repr (single quotes, ``True``/``False``/``None``, which nicegui.js defines as JS
    constants); it holds ``client_id``, ``next_message_id``, any ``app.config.socket_io_js_query_params`` and,
    from NiceGUI 3.7 on, ``implicit_handshake: True``.

    Returns ``{'client_id': str, 'next_message_id': int, 'elements': {str id: element dict}, 'elements_json': str
    (the elements' JSON text, unescaped: :func:`parse_elements_json` gives ``elements`` again), 'prefix': str,
    'version': str, 'query': dict, 'transports': list[str], 'implicit_handshake': bool}``.
    Raises :class:`PageError` when the HTML has no NiceGUI config or its elements JSON is broken.
    """
    query: dict[str, Any] = {}
    if (query_match := _QUERY_RE.search(html)) is not None:
        parsed = _flat_literal(query_match.group(1))
        for parse in (() if parsed is not None else (ast.literal_eval, json.loads)):
            try:
                parsed = parse(query_match.group(1))
            except (ValueError, SyntaxError, TypeError):
                continue
            if isinstance(parsed, dict):
                break
        if isinstance(parsed, dict):
            query = {str(k): v for k, v in parsed.items()}
    client_id = query.get('client_id')
    if not isinstance(client_id, str):
        match = _CLIENT_ID_RE.search(html)
        if match is None:
            raise PageError('no NiceGUI client_id in the page HTML (is this a NiceGUI page?)')
        client_id = query['client_id'] = match.group(1)
    next_id = query.get('next_message_id')
    if not isinstance(next_id, int):
        match = _NEXT_ID_RE.search(html)
        next_id = query['next_message_id'] = int(match.group(1)) if match else 0
    elements_match = _ELEMENTS_RE.search(html)
    text = '{}'
    if elements_match:
        text = elements_match.group(1)
        for entity, char in _UNESCAPE:  # nicegui.js parseElements(), same order
            text = text.replace(entity, char)
    elements = parse_elements_json(text)
    transports: list[str] = ['websocket', 'polling']
    if (transports_match := _TRANSPORTS_RE.search(html)) is not None:
        transports = list(_transports(transports_match.group(1)) or transports)
    prefix = _PREFIX_RE.search(html)
    version = _VERSION_RE.search(html)
    return {'client_id': client_id, 'next_message_id': next_id,
            'elements': elements, 'elements_json': text,
            'prefix': prefix.group(1) if prefix else '', 'version': version.group(1) if version else '',
            'query': query, 'transports': transports, 'implicit_handshake': query.get('implicit_handshake') is True}


_FLAT_DICT_RE = re.compile(r"""\{\s*(?:'\w+'\s*:\s*(?:'[^'\\\n]*'|-?\d+|True|False|None)\s*(?:,\s*|(?=\})))*\}""")
_FLAT_ITEM_RE = re.compile(r"""'(\w+)'\s*:\s*('[^'\\\n]*'|-?\d+|True|False|None)""")
_CONSTANTS = {'True': True, 'False': False, 'None': None}


def _flat_literal(text: str) -> dict[str, Any] | None:
    """The page's ``query`` repr when it is a flat dict of plain strings, ints, booleans and None (NiceGUI's usual
    ``{'client_id': '<uuid>', 'next_message_id': 0}``) read without ``ast`` (a regex pass, ~10x faster than
    ``ast.literal_eval``, once per page load); None for anything else (the caller falls back to ``ast``)."""
    if _FLAT_DICT_RE.fullmatch(text) is None:
        return None
    out: dict[str, Any] = {}
    for key, raw in _FLAT_ITEM_RE.findall(text):
        out[key] = raw[1:-1] if raw[0] == "'" else _CONSTANTS[raw] if raw in _CONSTANTS else int(raw)
    return out


@functools.lru_cache(maxsize=64)
def _transports(text: str) -> tuple[str, ...]:
    """The page's ``transports`` list repr (the same text on every page of an app: parsed once); () when broken."""
    try:
        parsed = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return ()
    return tuple(str(t) for t in parsed) if isinstance(parsed, list) else ()


def parse_elements_json(text: str) -> dict[str, Any]:
    """The element tree (element id as str → element dict) of the page's unescaped elements JSON ``text``.
    Raises :class:`PageError` when it is not valid JSON."""
    try:
        elements = json.loads(text)
    except json.JSONDecodeError as e:
        raise PageError(f'elements JSON in the page is not valid: {e}') from e
    return {str(k): v for k, v in elements.items()}


_SHARED_TEXTS: dict[str, str] = {}
SHARED_TEXTS_MAX = 256
"""How many distinct element-tree texts :func:`shared_text` keeps (then it starts afresh)."""


def shared_text(text: str) -> str:
    """One object for equal texts: the element-tree JSON of the auto-index page is the same for every window that
    loads it, and a window keeps it until someone reads its elements (~0.5 KB per window, issue 24). Returns the
    first equal text seen among the last :data:`SHARED_TEXTS_MAX` distinct ones, else ``text`` (remembered)."""
    kept = _SHARED_TEXTS.get(text)
    if kept is not None:
        return kept
    if len(_SHARED_TEXTS) >= SHARED_TEXTS_MAX:
        _SHARED_TEXTS.clear()
    _SHARED_TEXTS[text] = text
    return text


def js_query_value(value: Any) -> str:
    """How socket.io-client (engine.io ``encode``) writes a query value: ``encodeURIComponent(String(v))``,
    so ``True`` → ``'true'``, ``None`` → ``'null'``, numbers as JS prints them."""
    if value is True:
        return 'true'
    if value is False:
        return 'false'
    if value is None:
        return 'null'
    return str(value)
