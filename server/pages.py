"""The pages of the embedded server and their element trees.

* ``/`` — the shared **auto-index page**: one client for every tab (NiceGUI 2.11.0 ``auto_index_client``).
* ``/private`` — a **private page**: a new client for every page load (NiceGUI ``@ui.page``).
* ``/counter`` — a private page with a per-client model bound to a label (``server.counter``, problem 4).
* ``/convert`` — a private page that runs a long chunked job with progress (``server.jobs``, problem 5).

Both show a label and a Download button. A page is a :class:`PageSpec`; more pages register themselves on
``EmbeddedServer.pages`` (see ``server.app``).
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .client import AUTO_INDEX, PRIVATE, Client
from .counter import build_counter_page
from .downloads import sample_file
from .jobs import CONVERT_ROUTE, build_convert_page

if TYPE_CHECKING:
    from .app import EmbeddedServer

NICEGUI_VERSION = '2.11.0'
# NiceGUI 2.11.0 client.py HTML_ESCAPE_TABLE, undone by parseElements() in nicegui.js
HTML_ESCAPE_TABLE = str.maketrans({'&': '&amp;', '<': '&lt;', '>': '&gt;', '`': '&#96;', '$': '&#36;'})


@dataclass
class PageSpec:
    """A route: ``shared`` pages have one client for all tabs; ``build(server, client)`` adds the elements."""
    route: str
    shared: bool
    title: str
    build: Callable[['EmbeddedServer', Client], None]


async def on_download_click(client: Client, sid: str, args: list) -> None:
    """Click handler of the Download button: ``ui.download(sample.txt)`` through a single-use route.

    Target by ``policy.download_target``: ``room`` sends to the client's room (2.11.0), ``sender`` only to
    the socket ``sid`` whose click triggered it.
    """
    server = client.server
    route = server.downloads.register(sample_file())
    target = sid if server.policy.download_target == 'sender' else None
    message_id = await client.send('download', {'src': route.url, 'filename': route.path.name, 'media_type': ''},
                                   target)
    server.timeline.record('server', 'download_emitted', sid=sid, client_id=client.id, url=route.url,
                           target=target or 'room', message_id=message_id)


def build_download_page(server: 'EmbeddedServer', client: Client) -> None:
    """A label naming the page kind and a Download button."""
    layout = client.add_element('div', props={'class': 'nicegui-content'})
    kind = 'auto-index page (shared by every tab)' if client.shared else 'private page (one client per load)'
    client.add_element('div', text=f'clientsim {kind}', parent=layout)
    client.add_element('q-btn', props={'label': 'Download', 'color': 'primary'}, parent=layout,
                       on_click=on_download_click)


DEFAULT_PAGES = [
    PageSpec('/', True, 'clientsim auto-index', build_download_page),
    PageSpec('/private', False, 'clientsim private page', build_download_page),
    PageSpec('/counter', False, 'clientsim counter (bound model)', build_counter_page),
    PageSpec(CONVERT_ROUTE, False, 'clientsim convert (long job)', build_convert_page),
]


def render_page(client: Client, title: str) -> str:
    """The page HTML, shaped like NiceGUI 2.11.0 ``templates/index.html``.

    The config is rendered into ``createApp(parseElements(String.raw`<elements JSON>`), {..., query: {...}})``
    where ``query`` is a Python repr (single quotes) holding ``client_id`` and ``next_message_id``.
    """
    elements = json.dumps({str(k): v for k, v in client.elements.items()}).translate(HTML_ESCAPE_TABLE)
    query = {'client_id': client.id, 'next_message_id': client.next_message_id}
    return f'''<!DOCTYPE html>
<html>
  <head><meta charset="utf-8"><title>{html.escape(title)}</title></head>
  <body>
    <div id="app"></div>
    <script type="module">
      const app = createApp(parseElements(String.raw`{elements}`), {{
        version: "{NICEGUI_VERSION}",
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
