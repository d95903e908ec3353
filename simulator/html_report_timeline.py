"""The timeline of the HTML report as inline SVG, and its legend (no Qt, no scripts).

It renders what :mod:`clientsim.simulator.lanes` computes from a report's events (the GUI timeline renders the same
model): one lane per window with its state spans and markers, a server lane below, scenario steps as dashed
lines across every lane. Each span carries ``data-state`` and ``data-lane``, each marker ``data-marker`` (its
kind) and ``data-lane``, with a ``<title>`` tooltip. All times are in **ms** on the one timeline clock.
"""
from __future__ import annotations

import html
import math
from typing import Any, Optional

from .lanes import MARKERS, STATES, fmt_ms, fold, legend
from .measurements import window_names
from .run_report import RunReport
from .timeline import SERVER


def escape(value: Any) -> str:
    """HTML-escape ``str(value)`` (quotes too, so it is safe in attributes); None is ``''``."""
    return html.escape('' if value is None else str(value), quote=True)


def shape(symbol: str, colour: str, cx: float, cy: float, size: float) -> str:
    """SVG for one marker symbol (the pyqtgraph names of :class:`clientsim.simulator.lanes.MarkerStyle`) centred on
    ``(cx, cy)``, ``size`` px across."""
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


def legend_html() -> str:
    """The legend (:func:`clientsim.simulator.lanes.legend`): a swatch per state, the marker's symbol per marker
    kind."""
    items = []
    for entry in legend():
        if entry.what == 'state':
            items.append(f'<span data-state="{escape(entry.key)}"><i class="sw" style="background:{entry.colour}">'
                         f'</i>{escape(entry.label)}</span>')
            continue
        if MARKERS[entry.key].across:
            icon = (f'<line x1="7" y1="0" x2="7" y2="14" stroke="{entry.colour}" stroke-width="2" '
                    'stroke-dasharray="3 2"/>')
        else:
            icon = shape(entry.symbol, entry.colour, 7, 7, 12)
        items.append(f'<span data-marker="{escape(entry.key)}"><svg width="14" height="14" viewBox="0 0 14 14" '
                     f'aria-hidden="true">{icon}</svg>{escape(entry.label)}</span>')
    return f'<div class="legend">{"".join(items)}</div>'


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
                 width: int = 1120) -> str:
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

    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="timeline {escape(fmt_ms(t_from))} to '
           f'{escape(fmt_ms(end))} ms">']
    for i, lane in enumerate(rows):  # lanes background and names
        y = top + i * lane_h
        out.append(f'<rect x="0" y="{y}" width="{width}" height="{lane_h}" fill="{"#f7f8fa" if i % 2 else "#fff"}"/>')
        out.append(f'<text x="{left - 10}" y="{y + lane_h / 2 + 4:.1f}" text-anchor="end" font-size="13" '
                   f'font-weight="{"400" if lane == SERVER else "600"}" '
                   f'fill="{"#5b6570" if lane == SERVER else "#1d2329"}">{escape(lane)}</text>')
    step = _nice_step(end - t_from)  # grid and axis
    tick = math.ceil(t_from / step) * step
    while tick <= end + 1e-9:
        gx = x(tick)
        out.append(f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{axis_y}" stroke="#e3e7eb"/>')
        out.append(f'<text x="{gx:.1f}" y="{axis_y + 16}" text-anchor="middle" font-size="11" fill="#5b6570">'
                   f'{escape(_tick_label(tick, step))}</text>')
        tick += step
    out.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#9aa3ad"/>')
    out.append(f'<text x="{left + plot_w}" y="{top - 10}" text-anchor="end" font-size="11" fill="#5b6570">'
               f'time (ms)</text>')
    out.append(f'<line x1="{left}" y1="{mid(SERVER):.1f}" x2="{left + plot_w}" y2="{mid(SERVER):.1f}" '
               f'stroke="#e0e4e8"/>')
    for name in windows:  # state spans
        for s in lanes.spans_of(name, scenario_end):
            if s.t1_ms < t_from or s.t0_ms > end:
                continue
            x0, x1 = x(s.t0_ms), x(s.t1_ms)
            out.append(f'<rect data-state="{escape(s.state)}" data-lane="{escape(name)}" x="{x0:.1f}" '
                       f'y="{mid(name) - 8:.1f}" width="{max(x1 - x0, 1.0):.1f}" height="16" rx="2" '
                       f'fill="{STATES[s.state].colour}"><title>'
                       f'{escape(f"{name}: {s.tip} ({fmt_ms(s.t0_ms)}–{fmt_ms(s.t1_ms)} ms)")}</title></rect>')
    for m in lanes.markers:
        if not inside(m.t_ms):
            continue
        style, mx, my = MARKERS[m.kind], x(m.t_ms), mid(m.lane)
        before = ''
        if style.across:
            body = (f'<line x1="{mx:.1f}" y1="{top - 4}" x2="{mx:.1f}" y2="{axis_y}" stroke="{style.colour}" '
                    f'stroke-dasharray="3 3"/><rect x="{mx - 3:.1f}" y="{top - 8}" width="6" height="6" '
                    f'fill="{style.colour}"/>')
        else:
            if m.kind == 'click':
                my -= 12  # above the span, pointing at it
            body = shape(style.symbol, style.colour, mx, my, style.size)
            if m.kind in ('download_ok', 'download_failed'):
                status = (events[m.event_index].get('detail') or {}).get('status')
                if m.since_ms is not None:  # the wait from the download event to the GET's answer
                    before = (f'<line x1="{x(m.since_ms):.1f}" y1="{my:.1f}" x2="{mx:.1f}" y2="{my:.1f}" '
                              f'stroke="{MARKERS["download_event"].colour}" stroke-width="2" stroke-dasharray="4 2"/>')
                body += (f'<text x="{mx + 9:.1f}" y="{my - 9:.1f}" font-size="11" font-weight="700" '
                         f'fill="{style.colour}">{escape(status)}</text>')
        out.append(f'{before}<g data-marker="{m.kind}" data-lane="{escape(m.lane)}"><title>{escape(m.tip)}</title>'
                   f'{body}</g>')
    out.append('</svg>')
    return ''.join(out)
