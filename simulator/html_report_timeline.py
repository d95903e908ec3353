"""The timeline of the HTML report as inline SVG, and its legend (no Qt, no scripts).

It renders what :mod:`clientsim.simulator.lanes` computes from a report's events (the GUI timeline renders the same
model): one lane per window with its state spans and markers, a server lane below, scenario steps as dashed
lines across every lane. Each span carries ``data-state`` and ``data-lane``, each marker ``data-marker`` (its
kind) and ``data-lane``, with a ``<title>`` tooltip. All times are in **ms** on the one timeline clock.

The markup is the Jinja2 templates ``templates/timeline.svg.j2`` and ``templates/legend.html.j2``
(:func:`environment`: autoescape on); this module computes the geometry. Marker symbols (:func:`shape`) hold only
numbers and colours from the style tables, so they are passed to the templates as markup.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import Optional

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from .lanes import MARKERS, STATES, fmt_ms, fold, legend
from .measurements import window_names
from .run_report import RunReport
from .timeline import SERVER


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment of the HTML reports: templates from ``clientsim.simulator``'s ``templates/`` folder
    (package data), autoescape on for every template, undefined names an error."""
    return Environment(loader=PackageLoader('clientsim.simulator', 'templates'), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=False)


def shape(symbol: str, colour: str, cx: float, cy: float, size: float) -> Markup:
    """SVG for one marker symbol (the pyqtgraph names of :class:`clientsim.simulator.lanes.MarkerStyle`) centred on
    ``(cx, cy)``, ``size`` px across (markup: numbers and a colour from the style table, no report text)."""
    return Markup(_shape(symbol, str(escape(colour)), cx, cy, size))


def _shape(symbol: str, colour: str, cx: float, cy: float, size: float) -> str:
    r = size / 2
    edge = 'stroke="#fff" stroke-width="1.2"'
    if symbol == 't':  # triangle pointing down
        return (f'<path d="M{cx - r:.1f},{cy - r * 0.8:.1f} L{cx + r:.1f},{cy - r * 0.8:.1f} L{cx:.1f},'
                f'{cy + r * 0.9:.1f} Z" fill="{colour}" {edge}/>')
    if symbol == 'o':
        return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{colour}" {edge}/>'
    if symbol == 's':
        return (f'<rect x="{cx - r:.1f}" y="{cy - r:.1f}" width="{size:.1f}" height="{size:.1f}" rx="2" '
                f'fill="{colour}" {edge}/>')
    if symbol == 'd':
        return (f'<path d="M{cx:.1f},{cy - r:.1f} L{cx + r:.1f},{cy:.1f} L{cx:.1f},{cy + r:.1f} L{cx - r:.1f},'
                f'{cy:.1f} Z" fill="{colour}" {edge}/>')
    if symbol == 'x':
        k = r * 0.75
        return (f'<path d="M{cx - k:.1f},{cy - k:.1f} L{cx + k:.1f},{cy + k:.1f} M{cx + k:.1f},{cy - k:.1f} '
                f'L{cx - k:.1f},{cy + k:.1f}" stroke="{colour}" stroke-width="3" stroke-linecap="round"/>')
    if symbol == 'star':
        points = ' '.join(f'{cx + (r if i % 2 == 0 else r * 0.45) * math.sin(i * math.pi / 5):.1f},'
                          f'{cy - (r if i % 2 == 0 else r * 0.45) * math.cos(i * math.pi / 5):.1f}' for i in range(10))
        return f'<polygon points="{points}" fill="{colour}" {edge}/>'
    return (f'<line x1="{cx:.1f}" y1="{cy - r:.1f}" x2="{cx:.1f}" y2="{cy + r:.1f}" stroke="{colour}" '
            f'stroke-width="2"/>')  # '|'


def legend_html() -> Markup:
    """The legend (:func:`clientsim.simulator.lanes.legend`): a swatch per state, the marker's symbol per marker
    kind (``templates/legend.html.j2``)."""
    items = []
    for entry in legend():
        icon = None
        if entry.what != 'state':
            icon = (Markup(f'<line x1="7" y1="0" x2="7" y2="14" stroke="{escape(entry.colour)}" stroke-width="2" '
                           'stroke-dasharray="3 2"/>') if MARKERS[entry.key].across
                    else shape(entry.symbol, entry.colour, 7, 7, 12))
        items.append({'state': entry.what == 'state', 'key': entry.key, 'colour': entry.colour,
                      'label': entry.label, 'icon': icon})
    return Markup(environment().get_template('legend.html.j2').render(items=items))


def _nice_step(span: float, target: int = 9) -> float:
    raw = max(span, 1e-6) / target
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _tick_label(t: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else (1 if step % 1 else 0)
    return f'{t:.{decimals}f}'


def end_ms(report: RunReport) -> float:
    """The end of the scenario on the timeline (ms): the last event, or start + duration if later."""
    events = report.events
    last = max((e.t_ms for e in events), default=0.0)
    start = next((e.t_ms for e in events if e.kind == 'scenario_started'), 0.0)
    return max(last, start + report.duration_ms)


def zoom_end(report: RunReport) -> Optional[float]:
    """End (ms) of a zoomed view that holds all window activity, or None when the full view is enough."""
    window_ts = [e.t_ms for e in report.events if e.source != SERVER and e.kind != 'window_closed']
    if not window_ts:
        return None
    zoom = max(window_ts) * 1.08 + 0.5
    return zoom if zoom < 0.4 * end_ms(report) else None


def timeline_svg(report: RunReport, t_from: float = 0.0, t_to: Optional[float] = None,
                 width: int = 1120) -> Markup:
    """An inline ``<svg>`` of a report's events between ``t_from`` and ``t_to`` (ms; default: the end of the
    scenario): one lane per window (state spans and markers, see :mod:`clientsim.simulator.lanes`) and a server lane;
    steps are dashed lines. ``width`` is the viewBox width in px (the SVG scales to its container)."""
    events = sorted(report.event_dicts(), key=lambda e: e['t_ms'])
    windows = [w.name for w in report.windows] or window_names(events)
    windows += [w for w in window_names(events) if w not in windows]
    lanes = fold(events, windows)
    windows = [n for n in lanes.lane_names() if n != SERVER]
    scenario_end = end_ms(report)
    end = t_to if t_to is not None else scenario_end
    if end <= t_from:
        end = t_from + 1.0
    left, right, top, lane_h, axis_h = 92, 18, 26, 40, 28
    rows = windows + [SERVER]
    row_of = {name: i for i, name in enumerate(rows)}
    height = top + lane_h * len(rows) + axis_h
    plot_w = width - left - right
    axis_y = top + lane_h * len(rows)

    def x(t: float) -> float:
        return left + (min(max(t, t_from), end) - t_from) / (end - t_from) * plot_w

    def inside(t: float) -> bool:
        return t_from <= t <= end

    def mid(name: str) -> float:
        return top + row_of[name] * lane_h + lane_h / 2

    lane_rows = [{'y': top + i * lane_h, 'fill': '#f7f8fa' if i % 2 else '#fff', 'name': lane,
                  'text_y': top + i * lane_h + lane_h / 2 + 4, 'weight': '400' if lane == SERVER else '600',
                  'colour': '#5b6570' if lane == SERVER else '#1d2329'} for i, lane in enumerate(rows)]
    step = _nice_step(end - t_from)  # grid and axis
    ticks, tick = [], math.ceil(t_from / step) * step
    while tick <= end + 1e-9:
        ticks.append({'x': x(tick), 'label': _tick_label(tick, step)})
        tick += step
    spans = []
    for name in windows:  # state spans
        for s in lanes.spans_of(name, scenario_end):
            if s.t1_ms < t_from or s.t0_ms > end:
                continue
            x0, x1 = x(s.t0_ms), x(s.t1_ms)
            spans.append({'state': s.state, 'lane': name, 'x': x0, 'y': mid(name) - 8, 'w': max(x1 - x0, 1.0),
                          'colour': STATES[s.state].colour,
                          'tip': f'{name}: {s.tip} ({fmt_ms(s.t0_ms)}–{fmt_ms(s.t1_ms)} ms)'})
    markers = []
    for m in lanes.markers:
        if not inside(m.t_ms):
            continue
        style, mx, my = MARKERS[m.kind], x(m.t_ms), mid(m.lane)
        before, status = Markup(''), None
        colour = str(escape(style.colour))
        if style.across:
            body = Markup(f'<line x1="{mx:.1f}" y1="{top - 4}" x2="{mx:.1f}" y2="{axis_y}" stroke="{colour}" '
                          f'stroke-dasharray="3 3"/><rect x="{mx - 3:.1f}" y="{top - 8}" width="6" height="6" '
                          f'fill="{colour}"/>')
        else:
            if m.kind == 'click':
                my -= 12  # above the span, pointing at it
            body = shape(style.symbol, style.colour, mx, my, style.size)
            if m.kind in ('download_ok', 'download_failed'):
                status = (events[m.event_index].get('detail') or {}).get('status')
                status = '' if status is None else status
                if m.since_ms is not None:  # the wait from the download event to the GET's answer
                    before = Markup(f'<line x1="{x(m.since_ms):.1f}" y1="{my:.1f}" x2="{mx:.1f}" y2="{my:.1f}" '
                                    f'stroke="{escape(MARKERS["download_event"].colour)}" stroke-width="2" '
                                    'stroke-dasharray="4 2"/>')
        markers.append({'kind': m.kind, 'lane': m.lane, 'tip': m.tip, 'body': body, 'before': before,
                        'status': status, 'text_x': mx + 9, 'text_y': my - 9, 'colour': style.colour})
    return Markup(environment().get_template('timeline.svg.j2').render(
        width=width, height=height, t_from=t_from, t_to=end, fmt_ms=fmt_ms, lanes=lane_rows, lane_h=lane_h,
        left=left, top=top, axis_y=axis_y, plot_w=plot_w, server_y=mid(SERVER), ticks=ticks, spans=spans,
        markers=markers))
