"""The pages of the embedded server: their routes, element trees, click handlers and HTML.

Modelled on NiceGUI 2.11.0 ``nicegui/page.py`` (a route whose builder fills a new client) and
``templates/index.html`` (the HTML a page GET returns).

* ``/`` — the shared **auto-index page**: one client for every tab (NiceGUI 2.11.0 ``auto_index_client``).
* ``/private`` — a **private page**: a new client for every page load (NiceGUI ``@ui.page``).
* ``/counter`` — a private page with a per-client model bound to a label (``clientsim.server.counter``, problem 4).
* ``/convert`` — a private page that runs a long chunked job with progress (``clientsim.server.jobs``, problem 5).

``/`` and ``/private`` show a label and a Download button. A page is a :class:`PageSpec`; more pages register
themselves on ``EmbeddedServer.pages`` (see ``clientsim.server.app``). Builders see the server as a
:class:`PageContext`.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

from clientsim.simulator.timeline import SERVER

from .client import AUTO_INDEX, PRIVATE, Client, ClientRegistry
from .context import ServerContext
from .counter import CounterModel, ModelCounter, count_text, on_plus_one
from .downloads import SingleUseRoutes, sample_file
from .jobs import CONVERT_ROUTE, JobManager, convert_files, skipped_text

NICEGUI_VERSION = '2.11.0'
# NiceGUI 2.11.0 client.py HTML_ESCAPE_TABLE, undone by parseElements() in nicegui.js
HTML_ESCAPE_TABLE = str.maketrans({'&': '&amp;', '<': '&lt;', '>': '&gt;', '`': '&#96;', '$': '&#36;'})


@runtime_checkable
class PageContext(ServerContext, Protocol):
    """The server as page builders see it: a :class:`ServerContext` plus the parts pages use — ``registry``
    (:class:`ClientRegistry`), ``downloads`` (:class:`SingleUseRoutes`), ``jobs`` (:class:`JobManager`) and
    ``models`` (:class:`ModelCounter`). Defined here, above those parts, so that none of them imports it."""
    registry: ClientRegistry
    downloads: SingleUseRoutes
    jobs: JobManager
    models: ModelCounter


@dataclass
class PageSpec:
    """A route: ``shared`` pages have one client for all tabs; ``build(server, client)`` adds the elements
    (``server`` a :class:`PageContext`)."""
    route: str
    shared: bool
    title: str
    build: Callable[[PageContext, Client], None]


async def on_download_click(server: PageContext, client: Client, sid: str, args: list) -> None:
    """Click handler of the Download button: ``ui.download(sample.txt)`` through a single-use route.

    Target by ``policy.download_target``: ``room`` sends to the client's room (2.11.0), ``sender`` only to
    the socket ``sid`` whose click triggered it. Raises FileNotFoundError if the sample file is missing.
    """
    route = server.downloads.register(sample_file(), sid=sid, client_id=client.id)  # sid: download_binding
    target = sid if server.policy.download_target == 'sender' else None
    message_id = await client.send('download', {'src': route.url, 'filename': route.path.name, 'media_type': ''},
                                   target)
    server.timeline.record(SERVER, 'download_emitted', sid=sid, client_id=client.id, url=route.url,
                           target=target or 'room', message_id=message_id)


async def _download_clicked(client: Client, sid: str, args: list) -> None:
    """The Download button's listener: :func:`on_download_click` on the client's own server (one function for every
    client, where a closure per private page cost ~0.2 KB, issue 24). Raises TypeError if that server is not a
    :class:`PageContext`."""
    server = client.server
    if not isinstance(server, PageContext):
        raise TypeError(f'the Download button needs a page server, not {type(server).__name__}')
    await on_download_click(server, client, sid, args)


def build_download_page(server: PageContext, client: Client) -> None:
    """A label naming the page kind and a Download button (its listener :func:`_download_clicked` finds ``server``
    again as ``client.server``)."""
    layout = client.add_element('div', props={'class': 'nicegui-content'})
    kind = 'auto-index page (shared by every tab)' if client.shared else 'private page (one client per load)'
    client.add_element('div', text=f'clientsim {kind}', parent=layout)
    client.add_element('q-btn', props={'label': 'Download', 'color': 'primary'}, parent=layout,
                       on_click=_download_clicked)


def build_counter_page(server: PageContext, client: Client) -> None:
    """``/counter``: a label ``count: N`` bound to a new :class:`CounterModel` and a ``+1`` button.

    The binding callback updates the element dict and marks it dirty (NiceGUI's outbox collects updates the
    same way); it references the client, not the model, and is removed when the client is deleted
    (``BindingRegistry.remove_tag(client_id)``, as NiceGUI removes an element's bindings). The model is
    counted by ``server.models`` (its finalizer records ``model_finalized``)."""
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
    server.models.track(model, client)


def build_convert_page(server: PageContext, client: Client) -> None:
    """``/convert``: one ``Convert <file>`` button per file in assets/files, a ``q-linear-progress``
    (props.value 0..1), a status label (``chunk i/N``) and a skipped label. Element ids are kept in
    ``client.state['convert']``, where :class:`JobManager` finds them to show progress."""
    layout = client.add_element('div', props={'class': 'nicegui-content'})
    client.add_element('div', text='clientsim private page: convert a file in chunks (ebook2audiobook #207)',
                       parent=layout)
    for path in convert_files():
        async def on_choose(client: Client, sid: str, args: list, name: str = path.name) -> None:
            await server.jobs.choose(client, sid, name)
        client.add_element('q-btn', props={'label': f'Convert {path.name}', 'color': 'primary'}, parent=layout,
                           on_click=on_choose)
    progress = client.add_element('q-linear-progress', props={'value': 0.0, 'size': '20px'}, parent=layout)
    status = client.add_element('div', text='no job', parent=layout)
    skipped = client.add_element('div', text=skipped_text(0), parent=layout)
    client.state['convert'] = {'progress': progress, 'status': status, 'skipped': skipped}


DEFAULT_PAGES = [
    PageSpec('/', True, 'clientsim auto-index', build_download_page),
    PageSpec('/private', False, 'clientsim private page', build_download_page),
    PageSpec('/counter', False, 'clientsim counter (bound model)', build_counter_page),
    PageSpec(CONVERT_ROUTE, False, 'clientsim convert (long job)', build_convert_page),
]


IMPLICIT_HANDSHAKE_VERSION = '3.18.0'
"""The version a page announces when the server does the implicit handshake (``policy.implicit_handshake``)."""


def render_page(client: Client, title: str, *, implicit_handshake: bool = False) -> str:
    """The page HTML, shaped like NiceGUI 2.11.0 ``templates/index.html``.

    The config is rendered into ``createApp(parseElements(String.raw`<elements JSON>`), {..., query: {...}})``
    where ``query`` is a Python repr (single quotes) holding ``client_id`` and ``next_message_id``. With
    ``implicit_handshake`` the page announces :data:`IMPLICIT_HANDSHAKE_VERSION` and ``query`` carries
    ``implicit_handshake: True``, as NiceGUI 3.7+ ``templates/index.html`` does: the window then sends its
    handshake data in the connect query and no ``handshake`` event.
    """
    elements = json.dumps({str(k): v for k, v in client.elements.items()}).translate(HTML_ESCAPE_TABLE)
    query: dict = {'client_id': client.id, 'next_message_id': client.next_message_id}
    version = NICEGUI_VERSION
    if implicit_handshake:
        query['implicit_handshake'] = True
        version = IMPLICIT_HANDSHAKE_VERSION
    return f'''<!DOCTYPE html>
<html>
  <head><meta charset="utf-8"><title>{html.escape(title)}</title></head>
  <body>
    <div id="app"></div>
    <script type="module">
      const app = createApp(parseElements(String.raw`{elements}`), {{
        version: "{version}",
        prefix: "",
        query: {query!r},
        extraHeaders: {{}},
        transports: ['websocket', 'polling'],
      }}).mount("#app");
    </script>
  </body>
</html>
'''


def page_kind(spec: PageSpec) -> str:
    """:data:`AUTO_INDEX` or :data:`PRIVATE` for a page spec."""
    return AUTO_INDEX if spec.shared else PRIVATE
