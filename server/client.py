"""Client registry: instances, the socket→document map, connection counts, delayed delete and prune.

Modelled on NiceGUI 2.11.0 ``nicegui/client.py`` (``Client.instances``, ``handle_handshake``,
``handle_disconnect``, ``delete``, ``prune_instances``); message ids and history are the client's
:class:`clientsim.server.outbox.Outbox` (NiceGUI ``outbox.py``). Unlike NiceGUI the registry is an object, not a class
variable, so several servers can live in one process. The server is seen only as a
:class:`clientsim.server.context.ServerContext`; delayed deletes and the prune loop start on its ``tasks``.
"""
from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict, deque
from typing import Any, Callable, Optional

from clientsim.simulator.timeline import SERVER, now_s

from .context import ServerContext
from .outbox import Outbox

AUTO_INDEX = 'auto_index'
PRIVATE = 'private'
_NONE: tuple = ()
_ARGS: tuple = (None,)
"""A click listener's empty ``specials``/``modifiers``/``keys`` and its ``args`` ``[None]``: one immutable tuple each
for every element (JSON writes a tuple as the same list; per-element lists cost ~0.2 KB per button, issue 24)."""


class Client:
    """One NiceGUI client: a page instance with its elements and message outbox.

    ``Client(server, page, route, registry=None)``: ``server`` is the :class:`ServerContext`, ``registry`` the
    :class:`ClientRegistry` that deletes it after ``reconnect_timeout`` (the one that created it).
    ``id`` is the client_id (uuid4 str). ``page`` is :data:`AUTO_INDEX` (shared by every tab) or
    :data:`PRIVATE` (one per page load). ``created`` is
    :func:`~clientsim.simulator.timeline.now_s` seconds (virtual in virtual time).
    ``_socket_to_document_id`` maps sid → document_id for sockets that completed their handshake;
    ``_num_connections`` counts sockets per document_id; ``_delete_tasks`` holds the pending delayed deletes.
    """

    __slots__ = ('server', 'registry', 'id', 'page', 'route', 'shared', 'created', 'tab_id', 'environ', 'elements',
                 'handlers', 'outbox', '_socket_to_document_id', '_num_connections', '_delete_tasks', 'deleted',
                 'state')  # no instance dict: a private page makes one client per load (issue 24)

    def __init__(self, server: ServerContext, page: str, route: str,
                 registry: Optional['ClientRegistry'] = None) -> None:
        self.server = server
        self.registry = registry
        self.id = str(uuid.uuid4())
        self.page = page
        self.route = route
        self.shared = page == AUTO_INDEX
        self.created = now_s()
        self.tab_id: Optional[str] = None
        self.environ: Optional[dict] = None
        self.elements: dict[int, dict[str, Any]] = {}
        self.handlers: dict[str, Callable[[Client, str, list], Any]] = {}  # listener_id -> handler(client, sid, args)
        self.outbox = Outbox(self.id, server.emit, keep_history=not self.shared)  # 2.11.0: none for shared
        self._socket_to_document_id: dict[str, str] = {}
        self._num_connections: defaultdict[str, int] = defaultdict(int)
        self._delete_tasks: dict[str, asyncio.Task] = {}
        self.deleted = False
        self.state: dict[str, Any] = {}  # per-client page state (counters, models, jobs)

    # ---- elements -------------------------------------------------------------------------------------------
    def add_element(self, tag: str, *, text: str | None = None, props: dict | None = None,
                    parent: int | None = None, on_click: Callable | None = None) -> int:
        """Add an element and return its id. ``on_click(client, sid, args)`` becomes a click listener."""
        element_id = len(self.elements)
        element: dict[str, Any] = {'tag': tag, 'children': []}
        if text is not None:
            element['text'] = text
        if props:
            element['props'] = dict(props)
        if on_click is not None:
            listener_id = str(uuid.uuid4())
            element['events'] = [{'listener_id': listener_id, 'type': 'click', 'specials': _NONE, 'modifiers': _NONE,
                                  'keys': _NONE, 'args': _ARGS, 'throttle': 0, 'leading_events': True,
                                  'trailing_events': True, 'js_handler': None}]
            self.handlers[listener_id] = on_click
        self.elements[element_id] = element
        if parent is not None:
            self.elements[parent]['children'].append(element_id)
        return element_id

    # ---- outbox ---------------------------------------------------------------------------------------------
    @property
    def next_message_id(self) -> int:
        """The id the next message of this client gets (rendered into the page; see :class:`Outbox`)."""
        return self.outbox.next_message_id

    @property
    def history(self) -> deque[tuple[int, str, dict, str]]:
        """The kept messages ``(message_id, event, payload, room)`` (see :class:`Outbox`)."""
        return self.outbox.history

    async def send(self, event: str, payload: dict, target: str | None = None) -> int:
        """Emit ``event`` with a fresh ``_id`` to ``target`` (a sid, or the client's room by default); returns
        the message id. See :meth:`Outbox.send`."""
        return await self.outbox.send(event, payload, target)

    async def replay_from(self, next_message_id: int, sid: str) -> int:
        """Re-send the history from ``next_message_id`` on to ``sid``; returns the count. See
        :meth:`Outbox.replay_from`."""
        return await self.outbox.replay_from(next_message_id, sid)

    # ---- lifecycle ------------------------------------------------------------------------------------------
    @property
    def has_socket_connection(self) -> bool:
        """Whether any socket of this client has completed its handshake and not disconnected."""
        return any(n > 0 for n in self._num_connections.values())

    @property
    def pending_delete(self) -> bool:
        """Whether a delayed delete (reconnect_timeout) is waiting."""
        return bool(self._delete_tasks)

    def handle_handshake(self, sid: str, document_id: str) -> None:
        """Map sid→document_id, count the connection, cancel a pending delete (NiceGUI 2.11.0)."""
        self._socket_to_document_id[sid] = document_id
        self._cancel_delete_task(document_id)
        self._num_connections[document_id] += 1

    def handle_disconnect(self, sid: str) -> None:
        """Forget the socket and schedule the delayed delete.

        With ``policy.disconnect_guard`` false this raises ``KeyError(sid)`` for a socket that never completed a
        handshake, exactly as NiceGUI 2.11.0 (#4304); with it true it returns early (2.11.1).
        """
        if self.server.policy.disconnect_guard and sid not in self._socket_to_document_id:
            return
        document_id = self._socket_to_document_id.pop(sid)  # KeyError in 2.11.0
        self._cancel_delete_task(document_id)
        self._num_connections[document_id] -= 1
        self.tab_id = None
        if self.shared:
            return  # the auto-index client is never deleted
        self._delete_tasks[document_id] = self.server.tasks.spawn(self._delete_content(document_id),
                                                                  name=f'delete {self.id} {document_id}')

    async def _delete_content(self, document_id: str) -> None:
        """The delayed delete (NiceGUI 2.x ``Client.handle_disconnect`` → ``delete_content``): after
        ``policy.reconnect_timeout_s`` seconds without a reconnect of ``document_id``, delete the client.

        If prune deleted the client in the meantime (``policy.prune_skips_pending_delete`` false) the second
        delete raises KeyError unless ``policy.idempotent_delete``; the error is recorded as ``server_error``
        (``where='delete_content'``), as NiceGUI logs it (#1826, #2915, #5090, #5119)."""
        await asyncio.sleep(self.server.policy.reconnect_timeout_s)
        try:
            if self._num_connections[document_id] == 0:
                self._num_connections.pop(document_id, None)
                self._delete_tasks.pop(document_id, None)
                if self.registry is not None:
                    self.registry.delete(self, reason='reconnect_timeout')
        except Exception as e:  # recorded like a handler error, the server keeps serving
            self.server.record_error(e, where='delete_content', client_id=self.id)

    def _cancel_delete_task(self, document_id: str) -> None:
        task = self._delete_tasks.pop(document_id, None)
        if task is not None:
            task.cancel()

    def cancel_all_tasks(self) -> None:
        """Cancel pending deletes (server shutdown; the server's TaskGroup awaits them)."""
        for task in self._delete_tasks.values():
            task.cancel()
        self._delete_tasks.clear()


class ClientRegistry:
    """``instances`` (client_id → :class:`Client`) with delete and prune, as NiceGUI 2.11.0 ``Client``.

    ``delete`` removes with ``del instances[id]`` and so raises KeyError when a client is deleted twice, unless
    the policy asks for an idempotent delete (see ``clientsim.server.policy``).
    """

    def __init__(self, server: ServerContext) -> None:
        self.server = server
        self.instances: dict[str, Client] = {}

    def create(self, page: str, route: str) -> Client:
        """Create and register a client; records ``client_created``."""
        client = Client(self.server, page, route, registry=self)
        self.instances[client.id] = client
        self.server.timeline.record(SERVER, 'client_created', client_id=client.id, page=page, route=route)
        return client

    def get(self, client_id: Any) -> Optional[Client]:
        """The client with this id, or None (also for non-str ids from malformed messages)."""
        return self.instances.get(client_id) if isinstance(client_id, str) else None

    def delete(self, client: Client, *, reason: str) -> None:
        """Delete ``client`` and run ``server.delete_hooks``.

        ``policy.idempotent_delete`` false: ``del Client.instances[id]`` as NiceGUI 2.11.0 – 2.23.1, raises
        KeyError if the client was already deleted. True: ``instances.pop(id, None)`` (NiceGUI PR #5128); a
        second delete then only records ``client_delete_skipped``."""
        if self.server.policy.idempotent_delete and client.id not in self.instances:
            self.server.timeline.record(SERVER, 'client_delete_skipped', client_id=client.id, reason=reason)
            return
        client.deleted = True
        for hook in self.server.delete_hooks:
            hook(client)
        if self.server.policy.idempotent_delete:
            self.instances.pop(client.id, None)
        else:
            del self.instances[client.id]  # KeyError on a double delete
        self.server.timeline.record(SERVER, 'client_deleted', client_id=client.id, reason=reason)

    async def prune_loop(self) -> None:
        """Every ``policy.prune_interval_s`` seconds run :meth:`prune`, until cancelled (server stop)."""
        while True:
            await asyncio.sleep(self.server.policy.prune_interval_s)
            self.prune()

    def prune(self) -> int:
        """One prune run; returns how many clients it deleted. Errors are recorded, never raised.

        Deletes private clients with no socket connection created more than ``policy.prune_age_s`` seconds
        ago (NiceGUI ``Client.prune_instances``). With ``policy.prune_skips_pending_delete`` clients whose
        delayed delete is pending (waiting for a reconnect) are skipped, the fix of NiceGUI PR #5422."""
        policy = self.server.policy
        now = now_s()
        stale = [c for c in self.instances.values()
                 if not c.shared and not c.has_socket_connection and c.created < now - policy.prune_age_s
                 and not (policy.prune_skips_pending_delete and c.pending_delete)]
        for client in stale:
            try:
                self.delete(client, reason='prune')
            except Exception as e:
                self.server.record_error(e, where='prune', client_id=client.id)
        if stale:
            self.server.timeline.record(SERVER, 'prune', deleted=len(stale))
        return len(stale)
