"""Client registry: instances, the socket→document map, connection counts, delayed delete and prune.

Modelled on NiceGUI 2.11.0 ``nicegui/client.py`` (``Client.instances``, ``handle_handshake``,
``handle_disconnect``, ``delete``, ``prune_instances``) and its ``outbox.py`` (message ids and history).
Unlike NiceGUI the registry is an object, not a class variable, so several servers can live in one process.
"""
from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict, deque
from typing import TYPE_CHECKING, Any, Callable, Optional

if TYPE_CHECKING:
    from .app import EmbeddedServer

AUTO_INDEX = 'auto_index'
PRIVATE = 'private'


class Client:
    """One NiceGUI client: a page instance with its elements and message outbox.

    ``id`` is the client_id (uuid4 str). ``page`` is :data:`AUTO_INDEX` (shared by every tab) or
    :data:`PRIVATE` (one per page load). ``created`` is ``time.monotonic()`` seconds.
    ``_socket_to_document_id`` maps sid → document_id for sockets that completed their handshake;
    ``_num_connections`` counts sockets per document_id; ``_delete_tasks`` holds the pending delayed deletes.
    """

    def __init__(self, server: 'EmbeddedServer', page: str, route: str) -> None:
        self.server = server
        self.id = str(uuid.uuid4())
        self.page = page
        self.route = route
        self.shared = page == AUTO_INDEX
        self.created = time.monotonic()
        self.tab_id: Optional[str] = None
        self.environ: Optional[dict] = None
        self.elements: dict[int, dict[str, Any]] = {}
        self.handlers: dict[str, Callable[[Client, str, list], Any]] = {}  # listener_id -> handler(client, sid, args)
        self.next_message_id = 0
        self.history: deque[tuple[int, str, dict, str]] = deque(maxlen=1000)
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
            element['events'] = [{'listener_id': listener_id, 'type': 'click', 'specials': [], 'modifiers': [],
                                  'keys': [], 'args': [None], 'throttle': 0, 'leading_events': True,
                                  'trailing_events': True, 'js_handler': None}]
            self.handlers[listener_id] = on_click
        self.elements[element_id] = element
        if parent is not None:
            self.elements[parent]['children'].append(element_id)
        return element_id

    # ---- outbox ---------------------------------------------------------------------------------------------
    async def send(self, event: str, payload: dict, target: str | None = None) -> int:
        """Emit ``event`` with a fresh ``_id`` to ``target`` (a sid, or the client's room by default).

        Returns the message id. Like NiceGUI 2.11.0 ``outbox.py`` every message gets the next id and is kept in
        the history so a handshake with an older ``next_message_id`` can replay it.
        """
        message_id = self.next_message_id
        self.next_message_id += 1
        payload = {**payload, '_id': message_id}
        room = target or self.id
        self.history.append((message_id, event, payload, room))
        await self.server.sio.emit(event, payload, room=room)
        return message_id

    async def replay_from(self, next_message_id: int, sid: str) -> int:
        """Re-send the history from ``next_message_id`` on to ``sid`` (NiceGUI ``Outbox.try_rewind``)."""
        replayed = 0
        for message_id, event, payload, room in list(self.history):
            if message_id >= next_message_id and room == self.id:
                await self.server.sio.emit(event, payload, room=sid)
                replayed += 1
        return replayed

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
        self._delete_tasks[document_id] = asyncio.ensure_future(self._delete_content(document_id))

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
                self.server.registry.delete(self, reason='reconnect_timeout')
        except Exception as e:  # recorded like a handler error, the server keeps serving
            self.server.record_error(e, where='delete_content', client_id=self.id)

    def _cancel_delete_task(self, document_id: str) -> None:
        task = self._delete_tasks.pop(document_id, None)
        if task is not None:
            task.cancel()

    def cancel_all_tasks(self) -> None:
        """Cancel pending deletes (server shutdown)."""
        for task in self._delete_tasks.values():
            task.cancel()
        self._delete_tasks.clear()


class ClientRegistry:
    """``instances`` (client_id → :class:`Client`) with delete and prune, as NiceGUI 2.11.0 ``Client``.

    ``delete`` removes with ``del instances[id]`` and so raises KeyError when a client is deleted twice, unless
    the policy asks for an idempotent delete (see ``server.policy``).
    """

    def __init__(self, server: 'EmbeddedServer') -> None:
        self.server = server
        self.instances: dict[str, Client] = {}

    def create(self, page: str, route: str) -> Client:
        """Create and register a client; records ``client_created``."""
        client = Client(self.server, page, route)
        self.instances[client.id] = client
        self.server.timeline.record('server', 'client_created', client_id=client.id, page=page, route=route)
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
            self.server.timeline.record('server', 'client_delete_skipped', client_id=client.id, reason=reason)
            return
        client.deleted = True
        for hook in self.server.delete_hooks:
            hook(client)
        if self.server.policy.idempotent_delete:
            self.instances.pop(client.id, None)
        else:
            del self.instances[client.id]  # KeyError on a double delete
        self.server.timeline.record('server', 'client_deleted', client_id=client.id, reason=reason)

    async def prune_loop(self) -> None:
        """Every ``prune_interval_s``: delete private clients with no socket older than ``prune_age_s``."""
        while True:
            await asyncio.sleep(self.server.policy.prune_interval_s)
            self.prune()

    def prune(self) -> int:
        """One prune run; returns how many clients it deleted. Errors are recorded, never raised.

        Deletes private clients with no socket connection created more than ``policy.prune_age_s`` seconds
        ago (NiceGUI ``Client.prune_instances``). With ``policy.prune_skips_pending_delete`` clients whose
        delayed delete is pending (waiting for a reconnect) are skipped, the fix of NiceGUI PR #5422."""
        policy = self.server.policy
        now = time.monotonic()
        stale = [c for c in self.instances.values()
                 if not c.shared and not c.has_socket_connection and c.created < now - policy.prune_age_s
                 and not (policy.prune_skips_pending_delete and c.pending_delete)]
        for client in stale:
            try:
                self.delete(client, reason='prune')
            except Exception as e:
                self.server.record_error(e, where='prune', client_id=client.id)
        if stale:
            self.server.timeline.record('server', 'prune', deleted=len(stale))
        return len(stale)
