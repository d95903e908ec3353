"""A small real NiceGUI app for clientsim's target scenarios (problems 1-4): ``python real_app.py PORT [options]``.

Pages:

* ``/`` — the auto-index page in NiceGUI 2.x (an ``@ui.page('/')`` in 3.x, which has no auto-index page, PR #5005):
  a Download button (``ui.download`` of ``assets/files/sample.txt``) — problem 1;
* ``/private`` — the same on a private page (a client per page load) — problems 2 and 3;
* ``/counter`` — a model with a ``binding.BindableProperty``, bound to a label; ``weakref.finalize`` prints
  ``FINALIZED`` when the model is collected (clientsim's probe counts these lines) — problem 4.

Options (all optional; without them NiceGUI's defaults hold):

* ``--reconnect-timeout S`` — ``ui.run(reconnect_timeout=S)``;
* ``--ping S`` — engine.io ping interval and timeout in seconds (NiceGUI sets at least 4 s + 2 s at startup; set
  smaller here so a dropped window is noticed quickly);
* ``--prune-every S --prune-age S`` — prune stale clients every S seconds with this age threshold, as NiceGUI's
  ``Client.prune_instances`` does every 10 s for clients older than 60 s (2.23.1+ takes
  ``client_age_threshold``; for older releases the same rule is applied here).

Works with NiceGUI 2.11 to 3.x. Runs on 127.0.0.1 with ``reload=False, show=False``.
"""
import argparse
import asyncio
import inspect
import logging
import time
import weakref
from pathlib import Path

from nicegui import __version__, app, binding, core, ui
from nicegui.client import Client

FILE = Path(__file__).resolve().parents[1] / 'files' / 'sample.txt'
parser = argparse.ArgumentParser()
parser.add_argument('port', type=int)
parser.add_argument('--reconnect-timeout', type=float, default=3.0)
parser.add_argument('--ping', type=float, default=None)
parser.add_argument('--prune-every', type=float, default=None)
parser.add_argument('--prune-age', type=float, default=60.0)
args = parser.parse_args()


def content(kind: str) -> None:
    ui.label(f'clientsim real app ({kind}, nicegui {__version__})')
    ui.button('Download', on_click=lambda: ui.download(FILE))


@ui.page('/private')
def private_page() -> None:
    content('private page')


class Counter:
    value = binding.BindableProperty()

    def __init__(self) -> None:
        self.value = 0


@ui.page('/counter')
def counter_page() -> None:
    model = Counter()
    weakref.finalize(model, print, 'FINALIZED', flush=True)
    ui.label().bind_text_from(model, 'value')
    ui.button('+1', on_click=lambda: setattr(model, 'value', model.value + 1))


if int(__version__.split('.')[0]) >= 3:
    @ui.page('/')
    def index_page() -> None:
        content('page /')
else:
    content('auto-index page')


def prune() -> None:
    if 'client_age_threshold' in inspect.signature(Client.prune_instances).parameters:
        Client.prune_instances(client_age_threshold=args.prune_age)
        return
    for client in [c for c in Client.instances.values()  # the rule of NiceGUI 2.11-2.23.0's prune loop
                   if not c.shared and not c.has_socket_connection and c.created <= time.time() - args.prune_age]:
        client.delete()


async def prune_loop() -> None:
    while True:
        await asyncio.sleep(args.prune_every)
        try:
            prune()
        except Exception:  # logged with its traceback, like NiceGUI's own prune
            logging.getLogger('nicegui').exception('Error while pruning clients')


def on_startup() -> None:
    if args.ping is not None:
        core.sio.eio.ping_interval = args.ping
        core.sio.eio.ping_timeout = args.ping
    if args.prune_every is not None:
        app.state.clientsim_prune = asyncio.get_running_loop().create_task(prune_loop())


app.on_startup(on_startup)
ui.run(host='127.0.0.1', port=args.port, reload=False, show=False, reconnect_timeout=args.reconnect_timeout,
       title='clientsim real app')
