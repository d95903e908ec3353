"""What the parts of the server need from it, as a ``typing.Protocol`` (they never import ``clientsim.server.app``).

Modelled on magicgui's ``widgets/protocols.py`` (backends implement protocols, the widgets depend only on
them) and on NiceGUI 2.11.0, whose ``client.py`` and ``outbox.py`` reach the app through the module-level
``nicegui.core`` (``core.sio``, ``core.app``). Here the parts (client registry, single-use routes, jobs) get a
:class:`ServerContext` instead: :class:`clientsim.server.app.EmbeddedServer` satisfies it, so the parts depend on this
leaf and never on ``app.py``, and there is no import cycle.

The protocol names only leaf types (``ServerPolicy``, ``Timeline``, ``TaskGroup``, ``BindingRegistry``): a
protocol that named a part's own class (``ClientRegistry``, ``JobManager``) would import that part while the
part imports the protocol. Parts that need a sibling part get it through their constructor (``JobManager``
gets the ``ClientRegistry``); the page builders use :class:`clientsim.server.pages.PageContext`, which adds the parts.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, runtime_checkable

from clientsim.simulator.tasks import TaskGroup
from clientsim.simulator.timeline import Timeline

from .binding import BindingRegistry
from .policy import ServerPolicy


@runtime_checkable
class ServerContext(Protocol):
    """The server as its parts see it.

    * ``policy`` — the live :class:`ServerPolicy`; read it at call time, it may be replaced while running.
    * ``timeline`` — where server events are recorded (source ``server``).
    * ``tasks`` — the server's :class:`TaskGroup`: every background task starts here, so ``stop()`` cancels and
      awaits it.
    * ``bindings`` — the :class:`BindingRegistry` of bindable properties.
    * ``tab_storage`` — tab_id → dict (NiceGUI ``app.storage.tab``).
    * ``delete_hooks`` — ``hook(client)`` called by the client registry on every delete.
    * ``record_error(exc, where=..., sid=None, client_id=None)`` — log and record ``server_error``; never raises.
    * ``await emit(event, payload, room)`` — socket.io emit to a room (a sid or a client_id).
    """
    timeline: Timeline
    tasks: TaskGroup
    bindings: BindingRegistry
    tab_storage: dict[str, dict[str, Any]]
    delete_hooks: list[Callable[[Any], None]]

    @property
    def policy(self) -> ServerPolicy: ...

    def record_error(self, exc: BaseException, *, where: str, sid: Optional[str] = None,
                     client_id: Optional[str] = None) -> None: ...

    async def emit(self, event: str, payload: dict, room: str) -> None: ...
