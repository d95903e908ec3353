"""A small NiceGUI app to record and replay (``clientsim record``, tests/test_recorder.py): ``python recorder_app.py
PORT``.

Page ``/``: an input ``Name``, a checkbox ``Agree``, a select ``Fruit``, a button ``Greet`` that writes an answer into
the label below it and starts two timers (0-150 ms, random) that set the labels ``left`` and ``right`` (so their
``update`` messages arrive in a different order from run to run), a ``Download`` button (``assets/files/sample.txt``
on a single-use route of its own per click) and a ``Go to other`` button (``ui.navigate.to('/other')``).
Page ``/other``: a label and a link back.

Environment (for "the same recording against a changed app"): ``RECORDER_APP_GREETING`` (default ``Hello``) is the
first word of the answer; ``RECORDER_APP_NAME_LABEL`` (default ``Name``) is the input's label;
``RECORDER_APP_SHARED_DOWNLOAD=1`` downloads with ``ui.download(FILE)``, whose single-use route NiceGUI 2.11.0 names
after the file path only, so that concurrent sessions share it and all but the first GET get 404 (a 50-window replay
of a recording shows it; 3.x adds a random part). Prints ``READY
<port>`` once up and ``VALUE <name> <value>`` for each value change. Works with NiceGUI 2.11 to 3.x; runs on
127.0.0.1 with ``reload=False, show=False``.
"""
import os
import random
import sys
import uuid
from pathlib import Path

from nicegui import app, ui

PORT = int(sys.argv[1])
FILE = Path(__file__).resolve().parents[1] / 'files' / 'sample.txt'
GREETING = os.environ.get('RECORDER_APP_GREETING', 'Hello')
NAME_LABEL = os.environ.get('RECORDER_APP_NAME_LABEL', 'Name')
SHARED_DOWNLOAD = os.environ.get('RECORDER_APP_SHARED_DOWNLOAD') == '1'


def say(*parts: object) -> None:
    print(*parts, flush=True)


@app.on_startup
def _ready() -> None:
    say('READY', PORT)


@ui.page('/')
def index() -> None:
    ui.label('recorder app')
    name = ui.input(NAME_LABEL, on_change=lambda e: say('VALUE', 'name', e.value))
    agree = ui.checkbox('Agree', on_change=lambda e: say('VALUE', 'agree', e.value))
    fruit = ui.select(['apple', 'banana', 'cherry'], label='Fruit', on_change=lambda e: say('VALUE', 'fruit', e.value))
    answer = ui.label('no answer yet')
    left = ui.label('left: waiting')
    right = ui.label('right: waiting')

    def greet() -> None:
        answer.text = f'{GREETING}, {name.value}! agree={agree.value} fruit={fruit.value}'
        for label, text in ((left, 'left: done'), (right, 'right: done')):
            ui.timer(random.uniform(0.0, 0.15), lambda label=label, text=text: label.set_text(text), once=True)
    ui.button('Greet', on_click=greet)

    def download() -> None:
        if SHARED_DOWNLOAD:  # NiceGUI 2.11.0: one route per file path, so concurrent sessions race for it
            ui.download(FILE)
        else:  # one single-use route per click
            ui.download(app.add_static_file(local_file=FILE, url_path=f'/download/{uuid.uuid4().hex}/sample.txt',
                                            single_use=True))
    ui.button('Download', on_click=download)
    ui.button('Go to other', on_click=lambda: ui.navigate.to('/other'))


@ui.page('/other')
def other() -> None:
    ui.label('the other page')
    ui.link('back to index', '/')


ui.run(host='127.0.0.1', port=PORT, reload=False, show=False, title='clientsim recorder app')
