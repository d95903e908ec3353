"""A small real NiceGUI app for clientsim's tests: ``python download_app.py PORT``.

* ``/`` (the auto-index page in NiceGUI 2.x; an ``@ui.page('/')`` in 3.x, which has no auto-index page):
  a label, a Download button (``ui.download`` of a small file), a ``Name`` input and an ``Agree`` checkbox whose
  changes are printed (``INPUT <value>`` / ``CHECK <value>``), and a progress bar;
* ``/private`` — the same download on a private ``@ui.page``.

Runs on 127.0.0.1 with ``reload=False, show=False``. Works with NiceGUI 2.11.x and 3.x.
"""
import sys
from pathlib import Path

from nicegui import __version__, ui

FILE = Path(__file__).resolve().parents[2] / 'assets' / 'files' / 'sample.txt'  # the embedded server's file too


def content(kind: str) -> None:
    ui.label(f'clientsim test app ({kind})')
    ui.button('Download', on_click=lambda: (print('CLICK', flush=True), ui.download(FILE)))
    ui.input('Name', value='', on_change=lambda e: print('INPUT', e.value, flush=True))
    ui.checkbox('Agree', on_change=lambda e: print('CHECK', e.value, flush=True))
    ui.linear_progress(value=0.25, show_value=False)


@ui.page('/private')
def private_page() -> None:
    content('private page')


if int(__version__.split('.')[0]) >= 3:
    @ui.page('/')
    def index_page() -> None:
        content('page /')
else:
    content('auto-index page')

ui.run(host='127.0.0.1', port=int(sys.argv[1]), reload=False, show=False, title='clientsim test app')
