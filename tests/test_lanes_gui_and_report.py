"""One lane model for the GUI timeline and the HTML report (simulator.lanes) and one style table
(simulator.outcome): a real scenario played in the GUI (real server, real sockets, offscreen Qt) shows the same
states, colours, markers and legend in the GUI timeline as in the HTML report of the same run, and its tiles and
verdicts have the HTML report's colours."""
from __future__ import annotations

import asyncio
import html
import re
from collections import Counter

import pyqtgraph as pg

from clientsim.simulator.gui.main_window import MainWindow
from clientsim.simulator.html_report import render_html
from clientsim.simulator.lanes import FAILED, MARKERS, STATES, Lanes, legend
from clientsim.simulator.outcome import FAIL_COLOUR, OUTCOMES, PASS_COLOUR, verdict_colour, window_state_colour
from clientsim.simulator.run_report import RunReport
from clientsim.simulator.scenario import load_scenario
from clientsim.simulator.timeline import SERVER, Timeline

from .conftest import SCENARIOS

FIRST_SVG = re.compile(r'<svg class="timeline".*?</svg>', re.S)
REPORT_SPAN = re.compile(r'<rect data-state="([^"]+)" data-lane="([^"]+)"[^>]* fill="(#[0-9a-f]{6})"')
REPORT_MARKER = re.compile(r'<g data-marker="([^"]+)" data-lane="([^"]+)"><title>.*?</title>.*?'
                           r'(?:fill|stroke)="(#[0-9a-f]{6})"', re.S)
REPORT_LEGEND = re.compile(r'<span data-(?:state|marker)="[^"]+">(?:<i class="sw" style="background:(#[0-9a-f]{6})">'
                           r'</i>|<svg [^>]*>.*?(?:fill|stroke)="(#[0-9a-f]{6})".*?</svg>)([^<]*)</span>', re.S)
GUI_LEGEND = re.compile(r'<span style="(?:background|color):(#[0-9a-f]{6})">[^<]*</span>&nbsp;([^<&]*)')


def gui_view(view) -> tuple[set, Counter, list]:
    """What the GUI timeline draws: {(lane, state, colour)}, Counter of (lane, kind, colour), legend."""
    names = view.lane_names()
    spans = set()
    for state, bar in view.bars.items():
        colour = pg.mkBrush(bar.opts['brush']).color().name()
        spans |= {(names[int(y)], state, colour) for y in bar.opts['y']}
    markers: Counter = Counter()
    for kind, scatter in view.scatters.items():
        colour = scatter.opts['brush'].color().name()
        for p in scatter.points():  # a merged point (markers a few px apart) counts for each marker it holds
            markers[(names[int(p.pos().y())], kind, colour)] += view.cluster_size(kind, int(p.data()), p.pos().y())
    markers.update((SERVER, 'step', line.pen.color().name()) for line in view.step_lines)
    legend_items = [(c, label.strip()) for c, label in GUI_LEGEND.findall(view.legend.text())]
    return spans, markers, legend_items


def report_view(page: str) -> tuple[set, Counter, list]:
    """What the HTML report draws in its (first, whole-scenario) timeline, and its legend."""
    svg = FIRST_SVG.search(page).group(0)
    spans = {(html.unescape(lane), state, colour) for state, lane, colour in REPORT_SPAN.findall(svg)}
    markers = Counter((html.unescape(lane), kind, colour) for kind, lane, colour in REPORT_MARKER.findall(svg))
    legend_div = page[page.index('<div class="legend">'):]
    legend_div = legend_div[:legend_div.index('</div>')]
    legend_items = [(a or b, html.unescape(label)) for a, b, label in REPORT_LEGEND.findall(legend_div)]
    return spans, markers, legend_items


def test_gui_timeline_and_html_report_show_the_same_run(qtbot, qloop):
    main = MainWindow()
    qtbot.addWidget(main)

    async def go():
        await main.start()
        runs = []
        for name in ('fast_navigation.yaml', 'double_delete.yaml'):  # the shipped variants
            report = await main.play_scenario(load_scenario(SCENARIOS / name))
            # the report of this run with every event the GUI folded (late server events such as prune ticks
            # may arrive after the report was taken); no await in between, so both see the same events
            report = RunReport.model_validate({**report.model_dump(), 'events': main.timeline.to_dicts()})
            main.timeline_view.redraw()
            runs.append((name, gui_view(main.timeline_view), report_view(render_html([report]))))
        await main.shutdown()
        return runs

    runs = qloop.run_until_complete(go())
    expected_legend = [(e.colour, e.label) for e in legend()]
    shown_states = set()
    for name, (gui_spans, gui_markers, gui_legend), (rep_spans, rep_markers, rep_legend) in runs:
        assert gui_spans == rep_spans, name
        assert gui_markers == rep_markers, name
        assert gui_legend == rep_legend == expected_legend, name
        assert all(colour == STATES[state].colour for _lane, state, colour in gui_spans)
        assert all(colour == MARKERS[kind].colour for _lane, kind, colour in gui_markers)
        shown_states |= {state for _lane, state, _colour in gui_spans}
    # every state but "deleted" (no library scenario leaves a window disconnected until its client is deleted, unless
    # load stretches the GUI's real-time run; the folding test below covers it), a rejected handshake (dave) "failed"
    assert shown_states >= set(STATES) - {'deleted'}
    double_delete = runs[1][1][0]
    assert ('dave', FAILED, STATES[FAILED].colour) in double_delete


def test_folding_one_by_one_is_incremental_and_matches_batch():
    """The GUI feeds events while they stream in, the report all at once: the same spans and markers."""
    timeline = Timeline()
    for i in range(3):
        timeline.record('w', 'page_get_sent', window='w', url='/private')
        timeline.record('w', 'socket_connected_client', window='w', sid=f's{i}', client_id=f'c{i}')
        timeline.record('w', 'handshake_acked', window='w', client_id=f'c{i}', ok=i != 1)
        timeline.record('w', 'disconnect_client', window='w', client_id=f'c{i}', by='client')
        timeline.record(SERVER, 'client_deleted', client_id=f'c{i}', reason='reconnect_timeout')
    live = Lanes()
    seen = []
    for i, event in enumerate(timeline.events):
        live.feed_event(i, event, timeline.t0_ns)
        seen.append((len(live.spans), len(live.markers)))
    batch = Lanes()
    for i, event in enumerate(timeline.to_dicts()):
        batch.feed_dict(i, event)
    assert [(s.state, s.lane) for s in live.spans] == [(s.state, s.lane) for s in batch.spans]
    assert [s.state for s in live.spans_of('w', live.last_ms + 1)] == [
        'page load', 'handshake pending', 'handshake done', 'disconnected', 'deleted',
        'page load', 'handshake pending', 'failed', 'disconnected', 'deleted',
        'page load', 'handshake pending', 'handshake done', 'disconnected', 'deleted']
    assert [m.kind for m in live.markers] == ['client_deleted'] * 3
    assert all(b >= a for a, b in zip(seen, seen[1:], strict=False))  # append-only: views draw only what is new


def _pixel(image, x: int, y: int) -> str:
    return image.pixelColor(x, y).name()


def test_tiles_and_html_report_share_outcome_and_verdict_colours(qtbot, qloop):
    """The download race (the GUI's race demo) with its windows as tiles: each tile's border is the colour the
    HTML report of the same events gives that window's download GET (green 200, red 404), its fill and state dot
    come from the same table; a played scenario's PASS in the GUI has the HTML report's PASS colour."""
    main = MainWindow()
    qtbot.addWidget(main)
    main.resize(1200, 800)
    main.workspace.full_limit = 0  # every window a painted tile

    async def go():
        await main.start()
        played = await main.play_scenario(load_scenario(SCENARIOS / 'handshake_delay.yaml'))
        windows = await main.race_demo()
        await until(lambda: all(w.browser.downloads for w in windows))
        main.workspace.tiles.touch()
        await asyncio.sleep(0.1)
        assert main.workspace.mode == 'tiles'
        view = main.workspace.tile_view
        image = view.viewport().grab().toImage()
        tiles = [(w.browser.name, w.browser.download_outcome, w.browser.state,
                  view.visualRect(main.workspace.tiles.index(row)))
                 for row, w in enumerate(main.workspace.tiles.windows)]
        events = main.timeline.to_dicts()
        await main.shutdown()
        return played, image, tiles, events

    played, image, tiles, events = qloop.run_until_complete(go())
    page = render_html([RunReport(scenario='race demo', passed=True, events=events)])
    _spans, markers, _legend = report_view(page)
    html_colour = {lane: colour for lane, kind, colour in markers if kind in ('download_ok', 'download_failed')}
    assert html_colour == {'alice': PASS_COLOUR, 'bob': FAIL_COLOUR, 'carol': FAIL_COLOUR}
    dpr = image.devicePixelRatio()
    seen = {}
    for name, outcome, state, rect in tiles:
        style = OUTCOMES[outcome]
        x0, y0, y_mid = rect.x() + 2, rect.y() + 2, rect.y() + rect.height() // 2
        border = {_pixel(image, int((x0 + dx) * dpr), int(y_mid * dpr)) for dx in (-1, 0, 1)}
        assert style.colour in border, (name, border)
        assert _pixel(image, int((rect.right() - 8) * dpr), int((y0 + 6) * dpr)) == style.background, name
        assert _pixel(image, int((x0 + 11) * dpr), int((y0 + 11) * dpr)) == window_state_colour(state), name
        seen[name] = style.colour
    assert seen == html_colour  # tile border == the HTML report's download marker, per window
    assert played.passed
    played_page = render_html([played])
    assert f'.badge.pass{{background:{verdict_colour(True)}}}' in played_page
    assert f'.badge.fail{{background:{verdict_colour(False)}}}' in played_page
    assert f'color:{verdict_colour(True)}">PASS' in main.library.result_label.text()


async def until(predicate, timeout_s: float = 10.0) -> None:
    """Poll ``predicate`` every 20 ms until it holds; AssertionError after ``timeout_s`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, 'timed out'
        await asyncio.sleep(0.02)
