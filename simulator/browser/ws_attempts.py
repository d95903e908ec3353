"""The websocket responses one socket.io connect attempt opened, so that a failed or abandoned attempt closes them.

python-engineio 4.15.1 ``AsyncClient._connect_websocket`` keeps the ``ClientWebSocketResponse`` of
``ws_connect`` in a local variable until the engine.io OPEN packet arrived: when the attempt is cancelled while
it waits for that packet, or gives up there (``no OPEN packet``, an upgrade that failed), nobody closes the
response, and its TCP connection is reported at garbage collection as aiohttp's "Unclosed connection" (seen in
the 500-window storm on a busy machine, issue 26). A window's websocket session is created with
``ws_response_class=TrackedWebSocket``; :func:`attempt` marks the connect task's context, every response
created inside it is listed, and :func:`close_orphans` closes the ones the engine.io client did not keep.
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator, Optional

import aiohttp

from ..tasks import wait_for

_OPENED: contextvars.ContextVar[Optional[list[aiohttp.ClientWebSocketResponse]]] = contextvars.ContextVar(
    'clientsim_ws_attempt', default=None)


class TrackedWebSocket(aiohttp.ClientWebSocketResponse):
    """aiohttp's websocket response, listed in the connect attempt that created it (see :func:`attempt`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        opened = _OPENED.get()
        if opened is not None:
            opened.append(self)


@contextlib.contextmanager
def attempt() -> Iterator[list[aiohttp.ClientWebSocketResponse]]:
    """``with attempt() as opened: task = asyncio.ensure_future(sio.connect(...))`` — the task (its context is
    copied at creation) lists every :class:`TrackedWebSocket` it opens in ``opened``."""
    opened: list[aiohttp.ClientWebSocketResponse] = []
    token = _OPENED.set(opened)
    try:
        yield opened
    finally:
        _OPENED.reset(token)


async def close_orphans(opened: list[aiohttp.ClientWebSocketResponse], kept: Any = None,
                        timeout_s: float = 1.0) -> int:
    """Close every response in ``opened`` that is still open and is not ``kept`` (the engine.io client's ``ws``,
    None when the attempt failed); each close waits at most ``timeout_s`` seconds. Returns how many it closed."""
    closed = 0
    for ws in opened:
        if ws is kept or ws.closed:
            continue
        with contextlib.suppress(Exception):
            await wait_for(ws.close(), timeout_s)
        closed += 1
    return closed
