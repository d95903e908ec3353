"""Windows that behave like nicegui.js 3.x, against real NiceGUI 3.18.0 (issue 12).

One ``assets/apps/elements_app.py`` process (NiceGUI 3.18.0 from a cached venv,
:func:`clientsim.simulator.matrix.nicegui_python`)
serves the whole module; each test opens its own windows on it (a URL target: the windows auto-reconnect) and reads
the app's stdout markers (``VALUE``, ``UPLOAD``, ``JS``) to prove what reached the app. Real sockets, no mocks.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from clientsim.simulator.browser import HANDSHAKE_DONE
from clientsim.simulator.target import free_port

from .conftest import answers, nicegui_python_or_skip

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / 'assets' / 'apps' / 'elements_app.py'
pytestmark = [pytest.mark.network, pytest.mark.xdist_group('nicegui3_real_app')]


class App:
    """The running elements app: ``url`` and ``log()`` (its stdout so far)."""

    def __init__(self, url: str, log_path: Path) -> None:
        self.url, self.log_path = url, log_path

    def log(self) -> str:
        return self.log_path.read_text(errors='replace')

    def wait_for(self, text: str, timeout_s: float = 5.0, process: subprocess.Popen | None = None,
                 clientsim: Any = None) -> None:
        """Wait until the app printed ``text``; with ``clientsim`` its loop runs meanwhile (the windows answer)."""
        deadline = time.monotonic() + timeout_s
        while text not in self.log():
            if time.monotonic() > deadline or (process is not None and process.poll() is not None):
                raise AssertionError(f'the app never printed {text!r}; its output:\n{self.log()[-2000:]}')
            if clientsim is not None:
                clientsim.sleep(50)
            else:
                time.sleep(0.05)


@pytest.fixture(scope='module')
def elements_app() -> Iterator[App]:
    python = nicegui_python_or_skip('3.18.0')
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / 'app.log'
        with open(log_path, 'w') as out:
            env = {k: v for k, v in os.environ.items() if not k.startswith('PYTEST')}  # NiceGUI's screen-test mode
            process = subprocess.Popen([python, str(APP), str(port)], stdout=out, stderr=subprocess.STDOUT, env=env)
        app = App(f'http://127.0.0.1:{port}', log_path)
        try:
            app.wait_for(f'READY {port}', timeout_s=60, process=process)
            # READY comes from app.on_startup, which uvicorn runs before it binds the port: on a busy machine the
            # first window found nothing listening yet. Wait (deadline) until a GET is answered.
            deadline = time.monotonic() + 60
            while not answers(app.url):
                assert time.monotonic() < deadline and process.poll() is None, app.log()[-2000:]
                time.sleep(0.05)
            yield app
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_navigate_to_is_followed(elements_app, clientsim, clientsim_windows):
    # 20 s deadlines, not verdicts: windows against a target boot pages as Chromium does, slower on a busy machine
    (alice,) = clientsim_windows(1, elements_app.url + '/', names=['alice'])
    clientsim.run(alice.click('Go to other'))
    clientsim.run(alice.wait_for(lambda w: w.url.endswith('/other') and w.state == HANDSHAKE_DONE, 20))
    assert any(w['label'] == 'the other page' for w in alice.widgets())
    clientsim.run(alice.go_history(-1))  # history.back() as the Back button would send it
    clientsim.run(alice.wait_for(lambda w: w.url.endswith('/') and w.state == HANDSHAKE_DONE, 20))
    clientsim.run(alice.click('Open other in new tab'))
    clientsim.run(alice.wait_for(lambda w: len(w.new_tabs) == 1, 20))
    assert alice.new_tabs == [elements_app.url + '/other'] and alice.url.endswith('/')


def test_select_slider_and_upload_values_reach_the_app(elements_app, clientsim, clientsim_windows):
    (bob,) = clientsim_windows(1, elements_app.url + '/', names=['bob'])
    clientsim.run(bob.set_value('Fruit', 'banana'))
    clientsim.run(bob.set_value('Colors', ['red', 'blue']))
    clientsim.run(bob.set_value('volume', 42))  # a slider has no label: found by the label before it
    assert clientsim.run(bob.upload([('sample.txt', b'hello clientsim\n')])) == [200]
    elements_app.wait_for('UPLOAD sample.txt 16 8c8b0900fe0f', clientsim=clientsim)
    log = elements_app.log()
    assert 'VALUE fruit banana' in log and 'VALUE colors ["red", "blue"]' in log and 'VALUE volume 42' in log
    assert 'KeyError' not in log
    with pytest.raises(LookupError, match=r"no option 'kiwi' \(options: 'apple', 'banana', 'cherry'\)"):
        clientsim.run(bob.set_value('Fruit', 'kiwi'))
    with pytest.raises(LookupError, match=r"candidates: #\d+ select 'Fruit'"):
        clientsim.run(bob.set_value('Nope', 1))


def test_auto_reconnect_after_drop_keeps_the_page(elements_app, clientsim, clientsim_windows):
    (carol,) = clientsim_windows(1, elements_app.url + '/', names=['carol'])
    client_id = carol.client_id
    assert carol.auto_reconnect
    clientsim.run(carol.drop_connection(notice_ms=0))
    clientsim.run(carol.wait_for(lambda w: w.state == HANDSHAKE_DONE, 5))  # socket.io backoff: 1 s ± 50 %
    assert carol.reconnects == 1 and carol.client_id == client_id
    clientsim.run(carol.set_value('Name', 'carol after the drop'))
    elements_app.wait_for('VALUE name carol after the drop', clientsim=clientsim)
    clientsim.run(carol.set_value('Dark', True))  # loopback: the server answers with an update
    clientsim.run(carol.wait_for(lambda w: w.acks_sent >= 1, 4))  # nicegui.js acks every 3 s
    assert any(f.event == 'ack' and f.payload['next_message_id'] > 0 for f in carol.frames if f.direction == 'sent')


def test_javascript_rule_answers_run_javascript(elements_app, clientsim, clientsim_windows):
    (dave, erin) = clientsim_windows(2, elements_app.url + '/', names=['dave', 'erin'],
                                     javascript={r'^return window\.innerWidth$': 1280})
    clientsim.run(dave.click('Ask JavaScript'))
    elements_app.wait_for('JS 1280', clientsim=clientsim)
    assert dave.javascript_requests[-1]['answered'] is True
    erin.javascript_rules.rules.clear()  # no rule: recorded as unanswered (the app times out after 3 s)
    clientsim.run(erin.click('Ask JavaScript'))
    clientsim.run(erin.wait_for(lambda w: bool(w.javascript_requests), 5))
    assert erin.javascript_requests[-1]['answered'] is False
    assert any(e.kind == 'javascript_unanswered' for e in clientsim.timeline.events if e.source == 'erin')


def test_unknown_message_is_recorded(elements_app, clientsim, clientsim_windows):
    (frank,) = clientsim_windows(1, elements_app.url + '/', names=['frank'])
    clientsim.run(frank.click('Send unknown message'))
    clientsim.run(frank.wait_for(lambda w: 'clientsim_unknown' in w.ignored, 5))
    frame = next(f for f in frank.frames if f.event == 'clientsim_unknown')
    assert frame.note.startswith('ignored: ') and frame.payload['hello'] == 'window'
    assert any(e.kind == 'message_ignored' and e.detail.get('event') == 'clientsim_unknown'
               for e in clientsim.timeline.events)
