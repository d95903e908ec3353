"""The ``/counter`` private page: a per-client model with a bindable ``count`` bound to a label (problem 4).

Each page load creates a :class:`CounterModel` (the per-client model object of NiceGUI #4109) whose ``count``
is a :class:`server.binding.BindableProperty`. The label's text is bound to it; clicking ``+1`` increments
the count and sends ``update`` with the label to every socket of the client (its room). The server registers a
``weakref.finalize`` on every model (:meth:`server.app.EmbeddedServer.track_model`), so whether the model is
collected after its client was deleted depends on ``ServerPolicy.bindable_registry``.
"""
from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

from .binding import BindableProperty, BindingRegistry
from .client import Client

if TYPE_CHECKING:
    from .app import EmbeddedServer

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


def build_counter_page(server: 'EmbeddedServer', client: Client) -> None:
    """A label ``count: N`` bound to a new :class:`CounterModel` and a ``+1`` button.

    The binding callback updates the element dict and marks it dirty (NiceGUI's outbox collects updates the
    same way); it references the client, not the model, and is removed when the client is deleted
    (``BindingRegistry.remove_tag(client_id)``, as NiceGUI removes an element's bindings)."""
    layout = client.add_element('div', props={'class': 'nicegui-content'})
    client.add_element('div', text='clientsim private page with a bound model (NiceGUI #4109)', parent=layout)
    label = client.add_element('div', text=count_text(0), parent=layout)
    client.add_element('q-btn', props={'label': '+1', 'color': 'primary'}, parent=layout, on_click=on_plus_one)
    model = CounterModel(server.bindings)
    client.state['model'] = model

    def show(value: Any, client: Client = client, label: int = label) -> None:
        client.elements[label]['text'] = count_text(value)
        client.state.setdefault('dirty', set()).add(label)

    server.bindings.bind(model, 'count', show, tag=client.id)
    server.track_model(model, client)
