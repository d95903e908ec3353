"""The facade's side of :class:`~.state.WindowPorts`: :class:`Ports` hands a window's private members to its parts
in this one place, and :func:`owned_by_connection` makes a window attribute a view of its connection's (``sid``,
``state``, ``next_message_id`` are owned by :class:`~.connection.Connection`; issue 17 item 8). Only
:mod:`.window` uses this module.
"""
from __future__ import annotations

from typing import Any, ContextManager, Optional

import aiohttp

from ..tasks import TaskGroup


def owned_by_connection(name: str, doc: str) -> property:
    """A property of the window that reads and writes ``window._connection.<name>`` (the connection owns it)."""
    return property(lambda window: getattr(window._connection, name),
                    lambda window, value: setattr(window._connection, name, value),
                    doc=doc + ' Owned by the window\'s connection.')


class Ports:
    """The window's :class:`~.state.WindowPorts`: the one place its private members are handed to the parts."""
    __slots__ = ('_window',)

    def __init__(self, window: Any) -> None:
        self._window = window

    @property
    def tasks(self) -> TaskGroup:
        return self._window._tasks

    def record(self, kind: str, **detail: Any) -> None:
        self._window._record(kind, **detail)

    def changed(self) -> None:
        self._window._changed()

    def frame(self, direction: str, event: str, payload: Any) -> None:
        self._window._frame(direction, event, payload)

    def generation(self) -> int:
        return self._window._load_generation

    def session(self) -> Optional[aiohttp.ClientSession]:
        return self._window._session

    def routing(self) -> ContextManager[Any]:
        return self._window.context.routing()

    def closing(self) -> bool:
        return self._window._closing_window

    async def fetch_download(self, payload: dict) -> None:
        await self._window._fetch_download(payload)

    async def auto_reconnect(self) -> None:
        await self._window._auto_reconnect()
