"""One lane model for the GUI timeline and the HTML report (simulator.lanes): a real scenario played in the GUI
(real server, real sockets, offscreen Qt) shows the same states, colours, markers and legend in the GUI
timeline as in the HTML report of the same run."""
from __future__ import annotations

import html
import re
from collections import Counter

import pyqtgraph as pg

from clientsim.simulator.gui.main_window import MainWindow
from clientsim.simulator.html_report import render_html
from clientsim.simulator.lanes import FAILED, MARKERS, STATES, Lanes, legend
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
            report = {**report, 'events': main.timeline.to_dicts()}
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
    # every state but "deleted" (no library scenario leaves a window disconnected until its client is deleted;
    # the folding test below covers it), including a rejected handshake (dave) as "failed"
    assert shown_states == set(STATES) - {'deleted'}
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
