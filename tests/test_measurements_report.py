"""Measurements (simulator.measurements) and the HTML report (simulator.html_report), on real played scenarios:
real server, real sockets, no mocks."""
from __future__ import annotations

import asyncio
import html
import json
import os
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from clientsim.simulator.cli import main as cli_main
from clientsim.simulator.html_report import TITLE, fmt_ms, render_html
from clientsim.simulator.measurements import FIGURES, add_measurements, measurements_of, percentile
from clientsim.simulator.player import ScenarioPlayer
from clientsim.simulator.run_report import ReportFile, RunReport, report_file_schema
from clientsim.simulator.scenario import load_scenario, parse_scenario

from .conftest import SCENARIOS, play

pytestmark = pytest.mark.xdist_group('measurements_report')  # its module-scoped runs are built once

CHROMIUM = '/usr/bin/chromium'
SCHEMA = Path(__file__).resolve().parent.parent / 'docs' / 'run_report.schema.json'


@pytest.fixture(scope='module')
def handshake_report() -> RunReport:
    return play('handshake_delay.yaml')


@pytest.fixture(scope='module')
def race_report() -> RunReport:
    return play('download_race_auto_index.yaml')


@pytest.fixture(scope='module')
def navigation_report() -> RunReport:
    return play('fast_navigation.yaml')


# ---- measurements ------------------------------------------------------------------------------------------------
def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([0, 10], 95) == pytest.approx(9.5)
    assert percentile([3, 1, 2], 100) == 3


def test_handshake_delay_is_measured(handshake_report: RunReport) -> None:
    assert handshake_report.passed, handshake_report.expectations
    windows = handshake_report.measurements['windows']
    slow, fast = windows['slow'], windows['fast']
    assert slow['handshake_handled_ms'] >= 150
    assert slow['handshake_ack_ms'] >= slow['handshake_handled_ms']
    assert fast['handshake_handled_ms'] < 150 and fast['handshake_handled_ms'] < slow['handshake_handled_ms']
    assert fast['handshake_ack_ms'] < slow['handshake_ack_ms']
    assert [load['ok'] for load in slow['handshakes']] == [True]
    summary = handshake_report.measurements['summary']['handshake_handled_ms']
    assert summary['n'] == 2 and summary['max'] == slow['handshake_handled_ms']
    assert summary['p50'] <= summary['p95'] <= summary['max']


def test_download_latency_covers_the_window_latency(race_report: RunReport) -> None:
    scenario = load_scenario(SCENARIOS / 'download_race_auto_index.yaml')
    windows = race_report.measurements['windows']
    for spec in scenario.windows:
        measured = windows[spec.name]
        assert measured['download_ms'] is not None, spec.name
        assert measured['download_ms'] >= spec.latency.download_ms, spec.name
    assert [d['status'] for d in windows['alice']['downloads']] == [200]
    assert [d['status'] for d in windows['carol']['downloads']] == [404]
    assert race_report.measurements['summary']['download_ms']['n'] == 3


def test_disconnect_latency_and_the_shared_client(navigation_report: RunReport) -> None:
    windows = navigation_report.measurements['windows']
    alice, bob = windows['alice'], windows['bob']
    # alice's first private page: its client waits reconnect_timeout_s = 0.2 s, then it is deleted
    first = alice['disconnects'][0]
    assert first['by'] == 'client' and not first['shared_client']
    assert 0 <= first['disconnect_handled_ms'] < first['disconnect_deleted_ms']  # 0 in virtual time: no CPU cost
    assert first['disconnect_deleted_ms'] >= 200 and first['deleted_reason'] == 'reconnect_timeout'
    # bob left the shared auto-index page: that client is never deleted
    shared = [d for d in bob['disconnects'] if d['shared_client']]
    assert shared and all(d['disconnect_deleted_ms'] is None for d in shared)
    assert all(d['disconnect_handled_ms'] is not None for d in shared)
    # the page loads left before their handshake have no handshake figures, the others do
    assert [h['handshake_ack_ms'] is None for h in alice['handshakes']] == [False, True, False]


def test_measurements_are_json_safe_and_recomputable(race_report: RunReport) -> None:
    m = race_report.measurements
    assert json.loads(json.dumps(m)) == m
    assert set(m['summary']) == set(FIGURES) and m['units'] == 'ms'
    assert measurements_of(race_report.event_dicts()) == m
    assert add_measurements({'events': race_report.event_dicts()})['measurements'] == m


# ---- HTML report -------------------------------------------------------------------------------------------------
VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr'}


class TagBalance(HTMLParser):
    """Checks that every start tag (apart from void elements and ``<x/>``) is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.counts: dict[str, int] = {}
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f'</{tag}> closes {self.stack[-1] if self.stack else "nothing"} '
                               f'at {self.getpos()}')
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_balanced(page: str) -> TagBalance:
    parser = TagBalance()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.stack == []
    return parser


def test_html_report_holds_the_figures(race_report: RunReport, navigation_report: RunReport) -> None:
    page = render_html([race_report, navigation_report])
    assert page.startswith('<!DOCTYPE html>')
    parser = check_balanced(page)
    for tag in ('html', 'head', 'body', 'main', 'style'):
        assert parser.counts.get(tag) == 1, tag
    assert page.count('<title>') == parser.counts['title'] and page.index('<title>') < page.index('</head>')
    assert parser.counts['section'] == 3  # overview + two scenarios
    assert parser.counts['svg'] >= 2 and parser.counts['table'] >= 5
    assert '<script' not in page and ' src=' not in page and '<link' not in page
    text = ''.join(parser.text)
    tables = page.split('<table class="measurements">')[1:]
    assert len(tables) == 2
    for report, table in zip((race_report, navigation_report), tables, strict=True):
        table = table[:table.index('</table>')]
        assert report.scenario in text
        for window in report.windows:
            assert f"<b>{html.escape(window.name, quote=False).replace(chr(39), '&#39;')}</b>" in table
        for check in report.expectations:
            assert html.escape(check.name, quote=False).replace("'", '&#39;') in page
        for figure in report.measurements['summary'].values():
            for stat in ('p50', 'p95', 'max'):
                assert f'>{fmt_ms(figure[stat])}<' in table
        for w in report.measurements['windows'].values():
            for key in FIGURES:
                assert f'>{fmt_ms(w[key])}' in table
    assert 'PASSED' in text and 'p95' in text
    # server errors: tracebacks in <pre>, escaped, and a tooltip on the timeline
    assert parser.counts['pre'] == len(navigation_report.server_errors) == 2
    last_line = navigation_report.server_errors[0].traceback.splitlines()[-1]  # KeyError: '…' (quotes escaped)
    assert html.escape(last_line, quote=False).replace("'", '&#39;') in page
    assert 'server error at' in page and '<title>' in page


def test_html_report_escapes_report_text(race_report: RunReport) -> None:
    """Jinja2's autoescape: the five HTML-special characters of a scenario name, description and expectation come
    back as the same text, and never as markup."""
    evil = race_report.model_copy(deep=True)
    evil.scenario = '<script>alert("x")</script> & co\'s'
    evil.description = '<img src=x onerror=alert(1)>'
    evil.expectations[0].name = '<b>bold</b>'
    evil.passed = False
    evil.expectations[0].passed = False
    page = render_html([evil])
    parser = check_balanced(page)
    assert '<script>' not in page and '<img' not in page and '<b>bold' not in page
    assert 'alert("x")' not in page and "co's" not in page  # quotes are escaped too (safe in attributes)
    text = ''.join(parser.text)  # the parser decodes the entities
    assert evil.scenario in text and evil.description in text and '<b>bold</b>' in text
    assert '&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co&#39;s' in page
    assert 'FAILED' in page


def test_cli_writes_html_json_and_events(tmp_path: Path) -> None:
    out_html, out_json, out_events = tmp_path / 'r.html', tmp_path / 'r.json', tmp_path / 'e.jsonl'
    scenario = str(SCENARIOS / 'handshake_delay.yaml')
    assert cli_main(['play', '--headless', scenario, '--report', str(out_html), '--events', str(out_events)]) == 0
    assert cli_main(['play', '--headless', scenario, '--report', str(out_json)]) == 0
    check_balanced(out_html.read_text(encoding='utf-8'))
    data = json.loads(out_json.read_text(encoding='utf-8'))
    assert ReportFile.model_validate(data).scenarios[0].window('slow').state == 'handshake done'  # the typed shape
    assert data['passed'] is True and [s['variant'] for s in data['scenarios']] == ['shipped']
    report = data['scenarios'][0]
    assert report['measurements']['windows']['slow']['handshake_handled_ms'] >= 150
    lines = [json.loads(line) for line in out_events.read_text(encoding='utf-8').splitlines()]
    assert lines and all(e['scenario'] == 'handshake delay on private pages' and e['variant'] == 'shipped'
                         for e in lines)
    assert {'t_ms', 'source', 'kind', 'window', 'sid', 'client_id', 'detail'} <= set(lines[0])
    assert any(e['kind'] == 'handshake_handled' and e['window'] == 'slow' for e in lines)


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason='chromium is not installed')
def test_html_report_opens_in_chromium(tmp_path: Path, race_report: RunReport, navigation_report: RunReport) -> None:
    path = tmp_path / 'report.html'
    path.write_text(render_html([race_report, navigation_report]), encoding='utf-8')
    done = subprocess.run([CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--dump-dom', path.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert f'<title>{TITLE}' in dom and f'<h1>{TITLE}</h1>' in dom
    assert dom.count('<svg class="timeline"') >= 2
    assert race_report.scenario in dom


def test_html_report_lists_messages_a_window_ignored():
    """A server message nicegui.js does not handle is recorded as ignored, by name, in the JSON report and in the
    HTML report's "Messages not followed" (never silently dropped)."""
    scenario = parse_scenario('''
name: an unknown server message
windows: [{name: alice, page: /private}]
steps:
  - open: [alice]
  - wait: 200
''', 'unknown_message.yaml')
    sent = []

    def on_step(step, index, total):
        if step.kind == 'wait':  # the server sends a message no NiceGUI page knows, to alice's socket
            sent.append(asyncio.ensure_future(
                player.server.emit('mystery_event', {'x': 1}, room=player.browsers['alice'].sid)))

    player = ScenarioPlayer(scenario, on_step=on_step)
    report = asyncio.run(player.run())
    assert sent and report.windows[0].ignored_messages == {'mystery_event': 1}
    page = render_html([report])
    assert 'Messages not followed' in page and 'mystery_event ×1' in page


# ---- the report's JSON Schema --------------------------------------------------------------------------------------
def test_published_schema_is_the_models(race_report: RunReport) -> None:
    """docs/run_report.schema.json is what RunReport/ReportFile say (regenerate it with
    ``python -c "import json; from clientsim.simulator.run_report import report_file_schema as s;
    print(json.dumps(s(), indent=1))" > docs/run_report.schema.json``), and a played report round-trips
    through its JSON."""
    assert json.loads(SCHEMA.read_text(encoding='utf-8')) == report_file_schema()
    text = json.dumps(ReportFile.of([race_report]).model_dump(), default=str)
    again = ReportFile.model_validate_json(text).scenarios[0]
    assert again.passed == race_report.passed and again.windows == race_report.windows
    assert len(again.events) == len(race_report.events) and again.measurements == race_report.measurements
