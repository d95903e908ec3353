"""The load engine's side of ``clientsim serve``'s error feed (:class:`clientsim.simulator.serve.ErrorFeed`): join
``/clientsim`` with the run's token, claim the server errors of this process's windows, acknowledge them, and
ask whether the server is still busy with the windows just closed. No Locust import (it runs in the engine's
asyncio process)."""
from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Optional

import socketio

from clientsim.server.wire import SOCKETIO_PATH_RELATIVE as SOCKETIO_PATH

from ..serve import ERROR_FEED_NAMESPACE, FEED_TOKEN_ENV

_CALL_ERRORS = (socketio.exceptions.TimeoutError, socketio.exceptions.SocketIOError)


class ErrorFeedClient:
    """``ErrorFeedClient(base_url, prefix)``: the error feed for windows named ``prefix…``. :meth:`connect` first;
    every other method is harmless without a connection. Calls time out after 5 s."""

    def __init__(self, base_url: str, prefix: str) -> None:
        self.base_url, self.prefix = base_url, prefix
        self._sio: Optional[socketio.AsyncClient] = None
        self._reported: set[int] = set()  # error ids already taken (a re-offered lease is not new)
        self._unsent: list[dict[str, Any]] = []  # taken from the feed, not yet returned by claim() (a cancel)
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """Whether the feed is joined."""
        return self._sio is not None and self._sio.connected

    async def connect(self) -> bool:
        """Join with the token in ``$CLIENTSIM_FEED_TOKEN``; False when the server has no feed (a real NiceGUI
        app) or refused the token."""
        sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        try:
            await sio.connect(self.base_url, namespaces=[ERROR_FEED_NAMESPACE], socketio_path=SOCKETIO_PATH,
                              transports=['websocket'], wait_timeout=5,
                              auth={'token': os.environ.get(FEED_TOKEN_ENV, '')})
        except (socketio.exceptions.ConnectionError, OSError, asyncio.TimeoutError):
            await sio.disconnect()
            return False
        self._sio = sio
        return True

    async def _call(self, event: str, data: dict[str, Any]) -> Any:
        """``event`` on the feed (5 s timeout); None when it fails or no feed is joined."""
        if not self.connected:
            return None
        assert self._sio is not None
        try:
            return await self._sio.call(event, data, namespace=ERROR_FEED_NAMESPACE, timeout=5)
        except _CALL_ERRORS:
            return None

    async def claim(self) -> list[dict[str, Any]]:
        """The new server errors (``{id, type, message, where, window}``) of this process's windows and the
        unattributed ones. Each is acknowledged (``ack_errors``) before this returns; one whose id came before
        (the feed re-offers a lease whose acknowledgement it did not get) is acknowledged, not returned. A claim
        that fails returns only what a cancelled claim had taken (usually []), and the feed keeps the errors for a
        later one.

        Safe to cancel (the engine cancels its polling claim when it stops, then makes a last one): errors taken
        from the feed wait in ``_unsent`` until a claim returns them, and the feed re-offers a socket its own
        lease, so an answer lost to a cancel or a timeout comes back with the next claim. Claims do not overlap
        (a lock)."""
        async with self._lock:
            await self._take()
            new, self._unsent = self._unsent, []
            return new

    async def _take(self) -> None:
        """Claim from the feed into ``_unsent`` (ids not taken before) and acknowledge every id it answered."""
        errors = await self._call('claim_errors', {'prefix': self.prefix})
        ids = []
        for error in errors if isinstance(errors, list) else []:
            error_id = error.get('id')
            if isinstance(error_id, int):
                ids.append(error_id)
                if error_id in self._reported:
                    continue
                self._reported.add(error_id)
            self._unsent.append(error)
        if ids:  # a failed acknowledgement: the lease is re-offered, and the ids above keep it from counting twice
            await self._call('ack_errors', {'ids': ids})

    async def wait_settled(self, settle_s: float, poll_s: float = 0.05) -> None:
        """Wait until the server is done with the windows just closed: ``pending_work`` says no socket of this
        process's windows is still connected and no delayed delete is pending (two answers in a row, ``poll_s``
        apart), at most ``settle_s + 5`` s. A feed without ``pending_work`` (an older ``clientsim serve``):
        ``settle_s``, a fixed wait, which a loaded machine can outrun."""
        if not self.connected:
            return
        deadline = time.monotonic() + settle_s + 5.0
        quiet = 0
        while quiet < 2 and time.monotonic() < deadline:
            work = await self._call('pending_work', {'prefix': self.prefix})
            if not isinstance(work, dict):
                await asyncio.sleep(settle_s)
                return
            quiet = quiet + 1 if not any(work.values()) else 0
            await asyncio.sleep(poll_s)

    async def close(self) -> None:
        """Leave the feed (what was claimed and not acknowledged goes back to it)."""
        if self._sio is not None:
            await self._sio.disconnect()
