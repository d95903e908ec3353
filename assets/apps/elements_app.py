"""NiceGUI 3.x elements app for clientsim: ``python elements_app.py PORT``.

One private page ``/`` with every element clientsim's windows must drive, and ``/other`` as a navigation target.
Markers printed on stdout (flushed), one a line:

* ``READY <port>`` once the server is up;
* ``PAGE <path> <client_id>`` each time a page is built, ``CONNECT <client_id>`` / ``DISCONNECT <client_id>``;
* ``VALUE <name> <value>`` for every value change (one-line strings raw, everything else JSON: ``VALUE colors ["red",
"blue"]``);
  names: fruit, colors, size, mode, volume, amount, notes, dark, agree, name, tabs, details;
* ``UPLOAD <filename> <size> <sha256 first 12 hex>`` for each uploaded file;
* ``CLICK <label>`` for each button, ``JS <json result>`` / ``JS_TIMEOUT`` for the awaited ``ui.run_javascript``;
  ``Send unknown message`` sends ``clientsim_unknown`` through the outbox (a message nicegui.js does not handle).

Elements that carry no label on the wire (radio, toggle, slider) are marked with ``.mark(name)`` and preceded by a
``ui.label(name)``; markers never reach the browser (NiceGUI keeps them server-side), so a window finds them by the
preceding label or by element id. Runs on 127.0.0.1 with ``reload=False, show=False``. Tested with NiceGUI 3.18.0.
"""
import hashlib
import json
import sys

from nicegui import app, ui

PORT = int(sys.argv[1])


def say(*parts: object) -> None:
    print(*parts, flush=True)


def value_printer(name: str):
    def handler(e) -> None:
        value = e.value
        say('VALUE', name, value if isinstance(value, str) and '\n' not in value else json.dumps(value))
    return handler


@app.on_startup
def _ready() -> None:
    say('READY', PORT)


app.on_connect(lambda client: say('CONNECT', client.id))
app.on_disconnect(lambda client: say('DISCONNECT', client.id))


@ui.page('/')
def index() -> None:
    say('PAGE', '/', ui.context.client.id)
    ui.label('clientsim elements app')
    ui.select(['apple', 'banana', 'cherry'], label='Fruit', on_change=value_printer('fruit'))
    ui.select(['red', 'green', 'blue'], label='Colors', multiple=True, value=[], on_change=value_printer('colors'))
    ui.label('size')
    ui.radio(['S', 'M', 'L'], value='M', on_change=value_printer('size')).mark('size')
    ui.label('mode')
    ui.toggle(['on-site', 'remote'], value='on-site', on_change=value_printer('mode')).mark('mode')
    ui.label('volume')
    ui.slider(min=0, max=100, step=1, value=10, on_change=value_printer('volume')).mark('volume')
    ui.number('Amount', value=1, on_change=value_printer('amount'))
    ui.textarea('Notes', on_change=value_printer('notes'))
    ui.switch('Dark', on_change=value_printer('dark'))
    ui.checkbox('Agree', on_change=value_printer('agree'))
    ui.input('Name', on_change=value_printer('name'))

    async def handle_upload(e) -> None:
        data = await e.file.read()
        say('UPLOAD', e.file.name, len(data), hashlib.sha256(data).hexdigest()[:12])
    ui.upload(label='Upload file', auto_upload=True, on_upload=handle_upload)

    with ui.tabs(on_change=value_printer('tabs')) as tabs:
        one = ui.tab('One')
        ui.tab('Two')
    with ui.tab_panels(tabs, value=one):
        with ui.tab_panel('One'):
            ui.label('first panel')
        with ui.tab_panel('Two'):
            ui.label('second panel')
    with ui.expansion('Details', on_value_change=value_printer('details')):
        ui.label('hidden details')
    ui.table(columns=[{'name': 'name', 'label': 'Name', 'field': 'name'},
                      {'name': 'age', 'label': 'Age', 'field': 'age'}],
             rows=[{'name': 'Alice', 'age': 18}, {'name': 'Bob', 'age': 21}], row_key='name')

    def click(label: str, action) -> None:
        ui.button(label, on_click=lambda: (say('CLICK', label), action()))
    click('Go to other', lambda: ui.navigate.to('/other'))
    click('Open other in new tab', lambda: ui.navigate.to('/other', new_tab=True))
    click('Reload', ui.navigate.reload)
    click('Back', ui.navigate.back)
    click('Forward', ui.navigate.forward)

    async def ask_js() -> None:
        say('CLICK', 'Ask JavaScript')
        try:
            result = await ui.run_javascript('return window.innerWidth', timeout=3.0)
        except TimeoutError:
            say('JS_TIMEOUT')
            return
        say('JS', json.dumps(result))
    ui.button('Ask JavaScript', on_click=ask_js)

    def send_unknown() -> None:  # a message nicegui.js does not handle, to see that a window records it
        say('CLICK', 'Send unknown message')
        client = ui.context.client
        client.outbox.enqueue_message('clientsim_unknown', {'hello': 'window'}, client.id)
    ui.button('Send unknown message', on_click=send_unknown)


@ui.page('/other')
def other() -> None:
    say('PAGE', '/other', ui.context.client.id)
    ui.label('the other page')
    ui.link('back to index', '/')


ui.run(host='127.0.0.1', port=PORT, reload=False, show=False, title='clientsim elements app')
