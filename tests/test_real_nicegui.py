"""clientsim against real NiceGUI apps (real sockets, no mocks).

NiceGUI is not a dependency of clientsim: the tests install it from PyPI into their own virtual envs under
``~/.cache/clientsim/venv-nicegui-<version>`` (reused across runs and checkouts; the first install takes ~25-30 s) and
start ``tests/nicegui_apps/download_app.py`` with it on a free port. Without network the install fails and the
tests are skipped with the reason. ``CLIENTSIM_NICEGUI3=<version>`` picks the 3.x test's version (3.18.0).
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from clientsim.simulator.browser import HANDSHAKE_DONE
from clientsim.simulator.player import ScenarioPlayer
from clientsim.simulator.scenario import parse_scenario

from .conftest import nicegui_python_or_skip, until

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / 'tests' / 'nicegui_apps' / 'download_app.py'
pytestmark = pytest.mark.network




def statuses(windows) -> list[list[int]]:
    return [[d.status for d in w.downloads] for w in windows]


def start_app(clientsim_app, python: str):
    return clientsim_app([python, str(APP), '{port}'], 'http://127.0.0.1:{port}', ready_timeout_s=30)


# ---- ui.download on the auto-index page and on a private page (problem 1) -------------------------------------------
def test_auto_index_download_race(nicegui_2110, clientsim, clientsim_app, clientsim_windows):
    app = start_app(clientsim_app, nicegui_2110)
    alice, bob, carol = clientsim_windows(3, app.url + '/', names=['alice', 'bob', 'carol'], download_ms=[0, 50, 100])
    assert {w.client_id for w in (alice, bob, carol)} == {alice.client_id}  # one shared auto-index client
    clientsim.run(bob.click('Download'))
    clientsim.run(until(lambda: all(w.downloads for w in (alice, bob, carol))))  # every GET answered, or a deadline
    assert [w.download_events for w in (alice, bob, carol)] == [1, 1, 1]  # the room gets it
    assert statuses([alice, bob, carol]) == [[200], [404], [404]]  # single-use route: the first GET wins
    assert alice.downloads[0].bytes == (ROOT / 'assets' / 'files' / 'sample.txt').stat().st_size
    assert 'CLICK' in app.output


def test_private_page_download_goes_to_the_clicker(nicegui_2110, clientsim, clientsim_app,
                                                   clientsim_windows):
    app = start_app(clientsim_app, nicegui_2110)
    alice, bob, carol = clientsim_windows(3, app.url + '/private', download_ms=[0, 50, 100])
    assert len({w.client_id for w in (alice, bob, carol)}) == 3  # a client per page load
    clientsim.run(bob.click('Download'))
    clientsim.run(until(lambda: bob.downloads))  # the others' events would have come with bob's
    assert [w.download_events for w in (alice, bob, carol)] == [0, 1, 0]
    assert statuses([alice, bob, carol]) == [[], [200], []]


def test_widgets_and_typing(nicegui_2110, clientsim, clientsim_app, clientsim_windows):
    app = start_app(clientsim_app, nicegui_2110)
    window, other = clientsim_windows(2, app.url + '/')
    kinds = {w['kind']: w for w in window.widgets()}
    assert kinds['button']['label'] == 'Download'
    assert kinds['input']['tag'] == 'nicegui-input' and kinds['input']['label'] == 'Name'
    assert kinds['checkbox']['label'] == 'Agree' and kinds['checkbox']['value'] is False
    assert kinds['progress']['value'] == 0.25
    assert kinds['label']['label'] == 'clientsim test app (auto-index page)'
    clientsim.run(window.type_text('Name', 'héllo `$x` <b>', per_key_ms=5))
    clientsim.run(window.set_checked('Agree'))
    clientsim.run(until(lambda: 'CHECK True' in app.output.splitlines() and other.value('Agree') is True))
    lines = app.output.splitlines()
    assert 'INPUT héllo `$x` <b>' in lines  # the server json.loads()-ed our stringified args
    assert 'INPUT h' in lines and 'CHECK True' in lines
    assert window.value('Name') == 'héllo `$x` <b>'
    # the checkbox loops back (LOOPBACK = True): the server's update reaches every tab of the auto-index page
    other_value = other.value('Agree')
    assert other_value is True


# ---- disconnect before the handshake (problem 3) ---------------------------------------------------------------------
FAST_NAVIGATION = '''
name: disconnect before handshake against real NiceGUI
target: {command: ['%(python)s', '%(app)s', '{port}'], url: 'http://127.0.0.1:{port}', ready_timeout_s: 30}
windows:
  - {name: alice, page: /private}
steps:
  - open: alice
  - navigate: {window: alice, url: /private, before_handshake: true}
  - navigate: {window: alice, url: /private}
  - wait: 300
expect:
  windows:
    alice: {state: handshake done}
  server_errors: {KeyError: %(keyerrors)s}
'''


def play_against(python: str, keyerrors: str) -> dict:
    scenario = parse_scenario(FAST_NAVIGATION % {'python': python, 'app': APP, 'keyerrors': keyerrors})
    return asyncio.run(ScenarioPlayer(scenario).run())


def test_disconnect_before_handshake_keyerror_in_2110(nicegui_2110):
    report = play_against(nicegui_2110, '1')
    assert report.passed, report.expectations
    assert report.timing == 'one clock: app server and windows' and report.clients_alive >= 2  # probed
    assert "KeyError: '" in report.target_output
    assert '_socket_to_document_id.pop(socket_id)' in report.target_output
    assert [e.type for e in report.server_errors] == ['KeyError']  # from the probe: one logged exception
    assert report.target.returncode is not None  # the app was stopped


def test_disconnect_before_handshake_fixed_in_2111(nicegui_2111):
    report = play_against(nicegui_2111, '0')
    assert report.passed, report.expectations
    assert 'KeyError' not in report.target_output


# ---- the same scenario against the embedded server and real NiceGUI 2.11.0 ------------------------------------------
RACE = '''
name: download race, embedded vs real
%(target)s
windows:
  - {name: alice, page: /, latency: {download_ms: 0}}
  - {name: bob,   page: /, latency: {download_ms: 50}}
  - {name: carol, page: /, latency: {download_ms: 100}}
steps:
  - open: [alice, bob, carol]
  - click: {window: bob, label: Download}
  - wait: 300
expect:
  windows:
    alice: {download_events: 1, downloads: [200]}
    bob:   {download_events: 1, downloads: [404]}
    carol: {download_events: 1, downloads: [404]}
'''


def test_embedded_and_real_nicegui_agree(nicegui_2110):
    target = f"target: {{command: ['{nicegui_2110}', '{APP}', '{{port}}'], url: 'http://127.0.0.1:{{port}}'}}"
    real = asyncio.run(ScenarioPlayer(parse_scenario(RACE % {'target': target})).run())
    embedded = asyncio.run(ScenarioPlayer(parse_scenario(RACE % {'target': 'policy: {download_target: room}'})).run())

    def outcome(report: dict) -> dict:
        return {w.name: ([d.status for d in w.downloads], w.download_events) for w in report.windows}
    assert outcome(real) == outcome(embedded) == {'alice': ([200], 1), 'bob': ([404], 1), 'carol': ([404], 1)}
    assert real.passed and embedded.passed
    sha = {d.sha256 for r in (real, embedded) for w in r.windows for d in w.downloads if d.status == 200}
    assert len(sha) == 1  # the same file, byte for byte
    assert embedded.timing == 'one clock: server and windows'
    assert real.timing == 'one clock: app server and windows'  # the probe (simulator.probe)


# ---- NiceGUI 3.x (3.18.0, the version tests/test_nicegui3_real_app.py uses; CLIENTSIM_NICEGUI3=<3.x> picks another) --
def test_nicegui_3_implicit_handshake(clientsim, clientsim_app, clientsim_lab_factory, clientsim_windows):
    python = nicegui_python_or_skip(os.environ.get('CLIENTSIM_NICEGUI3') or '3.18.0')
    app = start_app(clientsim_app, python)
    alice, bob = clientsim_windows(2, app.url + '/', download_ms=[0, 50])
    assert alice.major_version == 3 and alice.state == HANDSHAKE_DONE
    assert alice.client_id != bob.client_id  # 3.x has no shared auto-index page
    clientsim.run(bob.click('Download'))
    clientsim.run(bob.type_text('Name', 'hi'))
    clientsim.run(until(lambda: bob.downloads and 'INPUT hi' in app.output.splitlines()))
    assert statuses([alice, bob]) == [[], [200]]
    assert 'INPUT hi' in app.output.splitlines()
    fast = clientsim_lab_factory(target=app.url).add('fast')
    clientsim.run(fast.navigate(app.url + '/private', before_handshake=True))
    clientsim.sleep(200)
    assert 'KeyError' not in app.output
