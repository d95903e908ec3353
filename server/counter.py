"""The per-client model of the ``/counter`` page and the count of such models alive (problem 4).

Each ``/counter`` page load creates a :class:`CounterModel` (the per-client model object of NiceGUI #4109)
whose ``count`` is a :class:`clientsim.server.binding.BindableProperty` (NiceGUI 2.11.0 ``nicegui/binding.py``). The
page (built in :mod:`clientsim.server.pages`) binds a label's text to it; clicking ``+1`` (:func:`on_plus_one`)
increments the count and sends ``update`` with the label to every socket of the client (its room).

:class:`ModelCounter` registers a ``weakref.finalize`` on every model, so whether a model is collected after
its client was deleted (``ServerPolicy.bindable_registry``) shows as ``models`` / ``model_finalized`` events.
"""
from __future__ import annotations

import asyncio
import itertools
import weakref
from typing import Any, Optional

from clientsim.simulator.timeline import SERVER, now_ns

from .binding import BindableProperty, BindingRegistry
from .client import Client
from .context import ServerContext

_model_ids = itertools.count(1)


class CounterModel:
    """A per-client model (as in NiceGUI #4109): ``count`` (int) is bindable; ``model_id`` numbers models in
    creation order. Holds no reference to its client or server, only to the :class:`BindingRegistry`."""
    count = BindableProperty()

    def __init__(self, registry: BindingRegistry) -> None:
        self._binding_registry = registry
        self.model_id = next(_model_ids)
        self.count = 0


def count_text(value: Any) -> str:
    """The label text for a count."""
    return f'count: {value}'


async def on_plus_one(client: Client, sid: str, args: list) -> None:
    """Click handler of ``+1``: increment the model; the binding marks the label dirty; flush it as
    ``update {label id: element}`` to the client's room (every window of that client)."""
    model: CounterModel = client.state['model']
    model.count += 1
    dirty = client.state.pop('dirty', set())
    if dirty:
        await client.send('update', {str(i): client.elements[i] for i in sorted(dirty)})


class ModelCounter:
    """How many per-client models were created and finalized, for one server.

    ``ModelCounter(server)`` (a :class:`ServerContext`; only its ``timeline`` is used). ``created`` and
    ``finalized`` are ints, :meth:`alive` their difference; every change records a ``models`` event
    (``alive``, ``finalized``, ``created``). ``loop`` is the server's event loop (set at start), on which a
    finalizer running inside the garbage collector records its events.
    """

    def __init__(self, server: ServerContext) -> None:
        self.server = server
        self.created = 0
        self.finalized = 0
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._finalizers: list[weakref.finalize] = []

    def alive(self) -> int:
        """Models created and not yet garbage-collected."""
        return self.created - self.finalized

    def track(self, model: Any, client: Client) -> None:
        """Count ``model`` and register a ``weakref.finalize`` that records ``model_finalized`` (the evidence of
        NiceGUI #4109's fix: the finalizer fires once the client is gone). Records ``models``."""
        self.created += 1
        finalizer = weakref.finalize(model, self._on_finalized, getattr(model, 'model_id', None), client.id)
        finalizer.atexit = False
        self._finalizers.append(finalizer)
        self.record()

    def _on_finalized(self, model_id: Any, client_id: str) -> None:
        # runs inside the garbage collector: count now, record on the loop (never re-enter the timeline here)
        self.finalized += 1
        t_ns = now_ns()
        alive, finalized, created = self.alive(), self.finalized, self.created

        def record() -> None:
            self.server.timeline.record(SERVER, 'model_finalized', client_id=client_id, t_ns=t_ns,
                                        model_id=model_id)
            self.server.timeline.record(SERVER, 'models', t_ns=t_ns, alive=alive, finalized=finalized,
                                        created=created)
        try:
            (self.loop or asyncio.get_running_loop()).call_soon_threadsafe(record)
        except RuntimeError:  # no loop any more (after stop): the counts are still right
            pass

    def reset(self) -> None:
        """A (re)started server counts its own models only: detach the finalizers of an earlier run (their
        models may still be held by a strong registry of that run) and zero the counts."""
        for finalizer in self._finalizers:
            finalizer.detach()
        self._finalizers.clear()
        self.created = self.finalized = 0

    def record(self) -> None:
        """Record a ``models`` event with the current counts."""
        self.server.timeline.record(SERVER, 'models', alive=self.alive(), finalized=self.finalized,
                                    created=self.created)
