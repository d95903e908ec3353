"""A self-contained HTML report to attach to a bug report (inline CSS and SVG, no scripts, no external files).

:func:`render_html` takes the player's report dicts (see :meth:`simulator.player.ScenarioPlayer.report`) and
returns one HTML page with, per scenario: name, description, policy, PASSED/FAILED, a timeline (inline SVG:
one lane per window plus a server lane), the latency measurements (see :mod:`simulator.measurements`), the
expectations and the server errors with their tracebacks. All times are in **ms** on the one timeline clock.
Every text from a report is HTML-escaped. No Qt.
"""
from __future__ import annotations

import html
import json
import math
from typing import Any, Optional

from .measurements import FIGURES, measurements_of, window_names

TITLE = 'clientsim report'

# ---- colours (one place, used by the SVG and the legend) ---------------------------------------------------------
SPAN_STYLE: dict[str, tuple[str, str]] = {  # state → (fill colour, legend label)
    'load': ('#9ec5f8', 'page load'),
    'pending': ('#f5c451', 'socket connected, handshake pending'),
    'done': ('#72c98b', 'handshake done'),
    'disconnected': ('#d5d8dc', 'disconnected (client waits for reconnect)'),
    'deleted': ('#6c737d', 'client deleted'),
    'failed': ('#f19a93', 'load failed'),
}
C_CLICK, C_EVENT, C_OK, C_BAD, C_SERVER, C_STEP = '#7a4cd9', '#2769c4', '#1c9a47', '#d63b30', '#8a929c', '#b9c0c8'

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f4f6f8;color:#1d2329;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
 Helvetica,Arial,sans-serif}
main{max-width:1180px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:19px;margin:0;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
h3{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:#5b6570;margin:22px 0 8px}
.sub{color:#5b6570;margin:0 0 18px}
.card{background:#fff;border:1px solid #dde2e7;border-radius:10px;padding:18px 20px;margin:0 0 22px;
 box-shadow:0 1px 2px rgba(0,0,0,.04)}
.card.failed{border-left:5px solid #d63b30}.card.passed{border-left:5px solid #1c9a47}
.badge{display:inline-block;font-size:12px;font-weight:700;letter-spacing:.05em;padding:2px 9px;border-radius:999px;
 color:#fff;white-space:nowrap}
.badge.pass{background:#1c9a47}.badge.fail{background:#d63b30}
.desc{margin:8px 0 10px;color:#333b44;max-width:95ch}
.meta{display:flex;flex-wrap:wrap;gap:6px 18px;color:#5b6570;font-size:13px;margin:0}
.meta b{color:#1d2329;font-weight:600}
.chip{display:inline-block;background:#eef1f4;border:1px solid #dde2e7;border-radius:6px;padding:0 7px;
 font:12px/20px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:2px 4px 2px 0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid #e6e9ed;vertical-align:top}
th{background:#f7f8fa;color:#4a535d;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
table.measurements th{font-size:12px;line-height:1.3}
table.measurements td:first-child{white-space:nowrap}
tr.stat td{background:#f7f8fa;font-weight:600}
tr.stat:first-of-type td{border-top:2px solid #cfd5db}
tr.bad td{background:#fdf0ef}
.muted{color:#8a929c;font-weight:400}
.ok{color:#1c9a47;font-weight:700}.bad{color:#d63b30;font-weight:700}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f5;padding:1px 4px;
 border-radius:4px;word-break:break-word}
pre{background:#1f2429;color:#e8ecef;padding:12px 14px;border-radius:8px;overflow:auto;font:12px/1.5
 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:6px 0 14px}
.err-head{margin:10px 0 0}
.note{color:#5b6570;font-size:12px;margin:6px 0 0}
.none{color:#1c9a47}
figure{margin:0}
svg.timeline{width:100%;height:auto;display:block;background:#fff}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#4a535d;margin:8px 0 0}
.legend span{display:inline-flex;align-items:center;gap:5px}
.sw{display:inline-block;width:14px;height:10px;border-radius:2px}
.overview td a{color:#1d2329}
"""


def _e(value: Any) -> str:
    """HTML-escape ``str(value)`` (quotes too, so it is safe in attributes)."""
    return html.escape('' if value is None else str(value), quote=True)


def fmt_ms(value: Optional[float]) -> str:
    """A duration in ms as the report prints it: ``'—'`` for None, 2 decimals below 10 ms, else 1 decimal."""
    if value is None:
        return '—'
    return f'{value:.2f}' if abs(value) < 10 else f'{value:.1f}'


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


# ---- timeline (SVG) ----------------------------------------------------------------------------------------------
def _spans(window: str, events: list[dict], end_ms: float) -> tuple[list[tuple[float, float, str, str]],
                                                                   list[tuple[float, str]]]:
    """State spans ``(t0, t1, state, tooltip)`` of one window and the deletion times of clients it used after
    it left them ``(t, tooltip)``."""
    spans: list[tuple[float, float, str, str]] = []
    state, since, tip = None, 0.0, ''
    client_id: Optional[str] = None
    used: set[str] = set()
    deletions: list[tuple[float, str]] = []

    def switch(t: float, new: Optional[str], new_tip: str = '') -> None:
        nonlocal state, since, tip
        if state is not None and t > since:
            spans.append((since, t, state, tip))
        state, since, tip = new, t, new_tip

    for e in events:
        t, kind, detail = e['t_ms'], e['kind'], e.get('detail') or {}
        if e.get('source') == window:
            if kind == 'page_get_sent':
                switch(t, 'load', f"page load {detail.get('url', '')}")
            elif kind == 'socket_connected_client':
                client_id = e.get('client_id')
                if client_id:
                    used.add(client_id)
                switch(t, 'pending', f"socket {e.get('sid')} connected, handshake pending")
            elif kind == 'handshake_acked':
                if detail.get('ok'):
                    switch(t, 'done', f"handshake done (client {client_id})")
                else:
                    switch(t, 'failed', 'handshake rejected')
            elif kind == 'disconnect_client':
                switch(t, 'disconnected', f"disconnected by {detail.get('by', '?')}")
            elif kind in ('page_load_failed', 'socket_connect_failed'):
                switch(t, 'failed', f"{kind.replace('_', ' ')}: {detail.get('error', '')}")
            elif kind == 'window_closed':
                switch(t, None)
        elif kind == 'client_deleted' and e.get('client_id') in used:
            reason = detail.get('reason', '')
            if state == 'disconnected' and e.get('client_id') == client_id:
                switch(t, 'deleted', f"client {client_id} deleted ({reason})")
            else:
                deletions.append((t, f"earlier client {e.get('client_id')} of {window} deleted ({reason}) "
                                     f"at {fmt_ms(t)} ms"))
    switch(end_ms, None)
    return spans, deletions


def _nice_step(span: float, target: int = 9) -> float:
    raw = max(span, 1e-6) / target
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def timeline_svg(report: dict[str, Any], t_from: float = 0.0, t_to: Optional[float] = None,
                 width: int = 1120) -> str:
    """An inline ``<svg>`` of a report's events between ``t_from`` and ``t_to`` (ms; default: the end of the
    scenario): one lane per window (state spans, click, download event, download GET markers) and a server lane
    (server events as ticks, errors in red with the exception in a ``<title>`` tooltip); steps are dashed lines.
    ``width`` is the viewBox width in px (the SVG scales to its container)."""
    events = sorted(report.get('events') or [], key=lambda e: e['t_ms'])
    windows = [w['name'] for w in report.get('windows') or []] or window_names(events)
    windows += [w for w in window_names(events) if w not in windows]
    end = t_to if t_to is not None else _end_ms(report)
    if end <= t_from:
        end = t_from + 1.0
    left, right, top, lane_h, axis_h = 92, 18, 26, 40, 28
    lanes = windows + ['server']
    height = top + lane_h * len(lanes) + axis_h
    plot_w = width - left - right

    def x(t: float) -> float:
        return left + (min(max(t, t_from), end) - t_from) / (end - t_from) * plot_w

    def inside(t: float) -> bool:
        return t_from <= t <= end

    out = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="timeline {_e(fmt_ms(t_from))} to '
           f'{_e(fmt_ms(end))} ms">']
    # lanes background and names
    for i, lane in enumerate(lanes):
        y = top + i * lane_h
        out.append(f'<rect x="0" y="{y}" width="{width}" height="{lane_h}" fill="{"#f7f8fa" if i % 2 else "#fff"}"/>')
        out.append(f'<text x="{left - 10}" y="{y + lane_h / 2 + 4:.1f}" text-anchor="end" font-size="13" '
                   f'font-weight="{"400" if lane == "server" else "600"}" '
                   f'fill="{"#5b6570" if lane == "server" else "#1d2329"}">{_e(lane)}</text>')
    # grid and axis
    step = _nice_step(end - t_from)
    axis_y = top + lane_h * len(lanes)
    tick = math.ceil(t_from / step) * step
    while tick <= end + 1e-9:
        gx = x(tick)
        out.append(f'<line x1="{gx:.1f}" y1="{top}" x2="{gx:.1f}" y2="{axis_y}" stroke="#e3e7eb"/>')
        out.append(f'<text x="{gx:.1f}" y="{axis_y + 16}" text-anchor="middle" font-size="11" fill="#5b6570">'
                   f'{_e(_tick_label(tick, step))}</text>')
        tick += step
    out.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#9aa3ad"/>')
    out.append(f'<text x="{left + plot_w}" y="{top - 10}" text-anchor="end" font-size="11" fill="#5b6570">'
               f'time (ms)</text>')
    # steps: dashed lines over all lanes
    for e in events:
        if e['kind'] == 'step' and e.get('source') == 'server' and inside(e['t_ms']):
            sx = x(e['t_ms'])
            d = e.get('detail') or {}
            tip = f"step {d.get('index', '')}: {d.get('step', '')} at {fmt_ms(e['t_ms'])} ms"
            out.append(f'<g><title>{_e(tip)}'
                       f'</title><line x1="{sx:.1f}" y1="{top - 4}" x2="{sx:.1f}" y2="{axis_y}" stroke="{C_STEP}" '
                       f'stroke-dasharray="3 3"/><rect x="{sx - 3:.1f}" y="{top - 8}" width="6" height="6" '
                       f'fill="{C_STEP}"/></g>')
    # window lanes
    for i, name in enumerate(windows):
        y = top + i * lane_h
        mid = y + lane_h / 2
        spans, deletions = _spans(name, events, _end_ms(report))
        for t0, t1, state, tip in spans:
            if t1 < t_from or t0 > end:
                continue
            fill = SPAN_STYLE[state][0]
            x0, x1 = x(t0), x(t1)
            out.append(f'<rect x="{x0:.1f}" y="{mid - 8:.1f}" width="{max(x1 - x0, 1.0):.1f}" height="16" rx="2" '
                       f'fill="{fill}"><title>{_e(f"{name}: {tip} ({fmt_ms(t0)}–{fmt_ms(t1)} ms)")}</title></rect>')
        for t, tip in deletions:
            if inside(t):
                dx = x(t)
                out.append(f'<g><title>{_e(tip)}</title><line x1="{dx:.1f}" y1="{mid - 11:.1f}" x2="{dx:.1f}" '
                           f'y2="{mid + 11:.1f}" stroke="{SPAN_STYLE["deleted"][0]}" stroke-width="3"/></g>')
        own = [e for e in events if e.get('source') == name]
        pending_events: list[float] = []
        for e in own:
            t, kind, d = e['t_ms'], e['kind'], e.get('detail') or {}
            if kind == 'download_event':
                pending_events.append(t)
            if not inside(t):
                if kind == 'download_get' and pending_events:
                    pending_events.pop(0)
                continue
            px = x(t)
            if kind == 'event_sent':
                label = d.get('label') or d.get('element')
                out.append(f'<g><title>{_e(f"{name} clicks {label!s} at {fmt_ms(t)} ms")}</title>'
                           f'<path d="M{px - 6:.1f},{mid - 17:.1f} L{px + 6:.1f},{mid - 17:.1f} L{px:.1f},'
                           f'{mid - 7:.1f} Z" fill="{C_CLICK}" stroke="#fff" stroke-width="1"/></g>')
            elif kind == 'download_event':
                out.append(f'<g><title>{_e(f"{name} receives the download event at {fmt_ms(t)} ms")}</title>'
                           f'<circle cx="{px:.1f}" cy="{mid:.1f}" r="5" fill="{C_EVENT}" stroke="#fff" '
                           f'stroke-width="1.5"/></g>')
            elif kind == 'download_get':
                status = d.get('status')
                colour = C_OK if status == 200 else C_BAD
                start = pending_events.pop(0) if pending_events else None
                if start is not None:
                    out.append(f'<line x1="{x(start):.1f}" y1="{mid:.1f}" x2="{px:.1f}" y2="{mid:.1f}" '
                               f'stroke="{C_EVENT}" stroke-width="2" stroke-dasharray="4 2"/>')
                waited = f', {fmt_ms(t - start)} ms after the event' if start is not None else ''
                out.append(f'<g><title>{_e(f"{name}: download GET answered {status} at {fmt_ms(t)} ms{waited}")}'
                           f'</title><rect x="{px - 6:.1f}" y="{mid - 6:.1f}" width="12" height="12" rx="2" '
                           f'fill="{colour}" stroke="#fff" stroke-width="1.5"/>'
                           f'<text x="{px + 9:.1f}" y="{mid - 9:.1f}" font-size="11" font-weight="700" '
                           f'fill="{colour}">{_e(status)}</text></g>')
    # server lane
    y = top + len(windows) * lane_h
    mid = y + lane_h / 2
    out.append(f'<line x1="{left}" y1="{mid:.1f}" x2="{left + plot_w}" y2="{mid:.1f}" stroke="#e0e4e8"/>')
    for e in events:
        if e.get('source') != 'server' or not inside(e['t_ms']) or e['kind'] in ('step', 'server_error'):
            continue
        tx = x(e['t_ms'])
        tip = f"{e['kind']} at {fmt_ms(e['t_ms'])} ms" + (f" ({e['window']})" if e.get('window') else '') + \
              ''.join(f'\n{k}: {v}' for k, v in (e.get('detail') or {}).items() if k != 'traceback')
        colour = SPAN_STYLE['deleted'][0] if e['kind'] == 'client_deleted' else C_SERVER
        h = 9 if e['kind'] in ('client_deleted', 'client_created', 'download_emitted') else 6
        out.append(f'<line x1="{tx:.1f}" y1="{mid - h:.1f}" x2="{tx:.1f}" y2="{mid + h:.1f}" stroke="{colour}" '
                   f'stroke-width="{2 if h == 9 else 1.2}"><title>{_e(tip)}</title></line>')
    for e in events:
        if e.get('source') == 'server' and e['kind'] == 'server_error' and inside(e['t_ms']):
            d = e.get('detail') or {}
            ex = x(e['t_ms'])
            tip = f"server error at {fmt_ms(e['t_ms'])} ms in {d.get('where', '?')}: {d.get('type', '')}: " \
                  f"{d.get('message', '')}"
            out.append(f'<g><title>{_e(tip)}</title><circle cx="{ex:.1f}" cy="{mid:.1f}" r="7" fill="{C_BAD}" '
                       f'stroke="#fff" stroke-width="1.5"/><text x="{ex:.1f}" y="{mid + 4:.1f}" text-anchor="middle" '
                       f'font-size="11" font-weight="700" fill="#fff">!</text></g>')
    out.append('</svg>')
    return ''.join(out)


def _tick_label(t: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else (1 if step % 1 else 0)
    return f'{t:.{decimals}f}'


def _end_ms(report: dict[str, Any]) -> float:
    """The end of the scenario on the timeline (ms): the last event, or start + duration if later."""
    events = report.get('events') or []
    last = max((e['t_ms'] for e in events), default=0.0)
    start = next((e['t_ms'] for e in events if e['kind'] == 'scenario_started'), 0.0)
    return max(last, start + float(report.get('duration_ms') or 0.0))


def _zoom_end(report: dict[str, Any]) -> Optional[float]:
    """End (ms) of a zoomed view that holds all window activity, or None when the full view is enough."""
    events = report.get('events') or []
    window_ts = [e['t_ms'] for e in events if e.get('source') != 'server' and e['kind'] != 'window_closed']
    if not window_ts:
        return None
    zoom = max(window_ts) * 1.08 + 0.5
    return zoom if zoom < 0.4 * _end_ms(report) else None


def _legend() -> str:
    items = [f'<span><i class="sw" style="background:{c}"></i>{_e(label)}</span>' for c, label in SPAN_STYLE.values()]
    markers = [
        (f'<path d="M1,2 L13,2 L7,12 Z" fill="{C_CLICK}"/>', 'click'),
        (f'<circle cx="7" cy="7" r="5" fill="{C_EVENT}"/>', 'download event'),
        (f'<rect x="1" y="1" width="12" height="12" rx="2" fill="{C_OK}"/>', 'download GET 200'),
        (f'<rect x="1" y="1" width="12" height="12" rx="2" fill="{C_BAD}"/>', 'download GET failed'),
        (f'<circle cx="7" cy="7" r="6" fill="{C_BAD}"/>', 'server error'),
        (f'<line x1="7" y1="1" x2="7" y2="13" stroke="{C_SERVER}" stroke-width="2"/>', 'server event'),
        (f'<line x1="7" y1="0" x2="7" y2="14" stroke="{C_STEP}" stroke-dasharray="3 2"/>', 'scenario step'),
    ]
    items += [f'<span><svg width="14" height="14" viewBox="0 0 14 14" aria-hidden="true">{shape}</svg>'
              f'{_e(label)}</span>' for shape, label in markers]
    return f'<div class="legend">{"".join(items)}</div>'


# ---- tables ------------------------------------------------------------------------------------------------------
def _measurements_table(report: dict[str, Any]) -> str:
    m = report.get('measurements') or measurements_of(report.get('events') or [])
    info = {w['name']: w for w in report.get('windows') or []}
    head = ''.join(f'<th class="num">{_head(label)}</th>' for label in FIGURES.values())
    rows = []
    for name, w in m['windows'].items():
        cells = []
        for key in FIGURES:
            samples = [s for s in w[_list_of(key)] if s.get(key) is not None]
            extra = f' <span class="muted">(max of {len(samples)})</span>' if len(samples) > 1 else ''
            cells.append(f'<td class="num">{_e(fmt_ms(w[key]))}{extra}</td>')
        wi = info.get(name, {})
        sub = (f'<code>{_e(wi["page"])}</code> ' if wi.get('page') else '') + _e(wi.get('state') or '')
        rows.append(f'<tr><td><b>{_e(name)}</b> <span class="muted">{sub}</span></td>{"".join(cells)}</tr>')
    summary = m['summary']
    for stat in ('p50', 'p95', 'max'):
        cells = ''.join(f'<td class="num">{_e(fmt_ms(summary[key][stat]))}</td>' for key in FIGURES)
        rows.append(f'<tr class="stat"><td>{stat} <span class="muted">all windows</span></td>{cells}</tr>')
    n = ''.join(f'<td class="num muted">{summary[key]["n"]}</td>' for key in FIGURES)
    rows.append(f'<tr><td class="muted">samples</td>{n}</tr>')
    return (f'<table class="measurements"><thead><tr><th>window</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>'
            '<p class="note">All figures in ms. Per window: the maximum over its page loads / disconnects / '
            'downloads. p50, p95 and max: over every sample of every window. Disconnect figures count only '
            'sockets the window closed; “client deleted” is empty for the shared auto-index client (never '
            'deleted) and for clients not deleted before the report was taken.</p>')


def _head(label: str) -> str:
    group, _, rest = label.partition(': ')
    return f'{_e(group)}<br><span class="muted">{_e(rest)}</span>' if rest else _e(label)


def _list_of(key: str) -> str:
    return 'handshakes' if key.startswith('handshake') else 'disconnects' if key.startswith('disconnect') \
        else 'downloads'


def _expectations_table(report: dict[str, Any]) -> str:
    checks = report.get('expectations') or []
    if not checks:
        return '<p class="muted">No expectations.</p>'
    rows = []
    for c in checks:
        ok = bool(c.get('passed'))
        mark = '<span class="ok">✔ pass</span>' if ok else '<span class="bad">✘ FAIL</span>'
        rows.append(f'<tr class="{"" if ok else "bad"}"><td>{mark}</td><td>{_e(c.get("name"))}</td>'
                    f'<td><code>{_e(_value(c.get("expected")))}</code></td>'
                    f'<td><code>{_e(_value(c.get("actual")))}</code></td></tr>')
    return ('<table class="expectations"><thead><tr><th style="width:80px">result</th><th>expectation</th>'
            f'<th>expected</th><th>actual</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _errors_block(report: dict[str, Any]) -> str:
    errors = report.get('server_errors') or []
    if not errors:
        return '<p class="none">✔ No server errors.</p>'
    parts = []
    for err in errors:
        parts.append(f'<p class="err-head"><span class="bad">{_e(err.get("type"))}</span>: '
                     f'<code>{_e(err.get("message"))}</code> in <b>{_e(err.get("where"))}</b> at '
                     f'{_e(fmt_ms(err.get("t_ms")))} ms <span class="muted">sid {_e(err.get("sid"))}, client '
                     f'{_e(err.get("client_id"))}</span></p><pre>{_e(err.get("traceback") or "(no traceback)")}</pre>')
    return ''.join(parts)


def _scenario_section(report: dict[str, Any], index: int) -> str:
    passed = bool(report.get('passed'))
    badge = _badge(passed)
    policy = report.get('policy') or {}
    chips = ''.join(f'<span class="chip">{_e(k)} = {_e(_value(v))}</span>' for k, v in policy.items()) \
        or _e(report.get('policy_summary') or '—')
    checks = report.get('expectations') or []
    n_ok = sum(1 for c in checks if c.get('passed'))
    zoom = _zoom_end(report)
    timeline = f'<figure>{timeline_svg(report)}</figure>'
    if zoom is not None:
        timeline = (f'<p class="note">Whole scenario, 0–{_e(fmt_ms(_end_ms(report)))} ms:</p>{timeline}'
                    f'<p class="note">Zoom on the window activity, 0–{_e(fmt_ms(zoom))} ms:</p>'
                    f'<figure>{timeline_svg(report, 0.0, zoom)}</figure>')
    return (
        f'<section class="card {"passed" if passed else "failed"}" id="scenario-{index}">'
        f'<h2>{badge}<span>{_e(report.get("scenario"))}</span></h2>'
        f'<p class="desc">{_e(report.get("description") or "")}</p>'
        f'<p class="meta"><span><b>file</b> {_e(report.get("file") or "—")}</span>'
        f'<span><b>expectations</b> {n_ok}/{len(checks)} passed</span>'
        f'<span><b>server errors</b> {len(report.get("server_errors") or [])}</span>'
        f'<span><b>clients alive</b> {_e(report.get("clients_alive"))}</span>'
        f'<span><b>duration</b> {_e(fmt_ms(report.get("duration_ms")))} ms</span></p>'
        f'<h3>Policy</h3><div>{chips}</div>'
        f'<h3>Timeline</h3>{timeline}{_legend()}'
        '<p class="note">Hover a span or marker for details (times in ms since the timeline started).</p>'
        f'<h3>Expectations</h3>{_expectations_table(report)}'
        f'<h3>Measurements (ms)</h3>{_measurements_table(report)}'
        f'<h3>Server errors</h3>{_errors_block(report)}'
        '</section>')


def _badge(passed: bool) -> str:
    return '<span class="badge pass">PASSED</span>' if passed else '<span class="badge fail">FAILED</span>'


def _overview(reports: list[dict[str, Any]]) -> str:
    rows = []
    for i, r in enumerate(reports):
        checks = r.get('expectations') or []
        n_ok = sum(1 for c in checks if c.get('passed'))
        rows.append(f'<tr><td>{_badge(bool(r.get("passed")))}</td>'
                    f'<td><a href="#scenario-{i}">{_e(r.get("scenario"))}</a></td>'
                    f'<td><code>{_e(r.get("policy_summary"))}</code></td>'
                    f'<td class="num">{n_ok}/{len(checks)}</td></tr>')
    return ('<section class="card"><table class="overview"><thead><tr><th style="width:90px">result</th>'
            '<th>scenario</th><th>policy</th><th class="num">expectations</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def render_html(reports: list[dict[str, Any]]) -> str:
    """One self-contained HTML page (``str``, UTF-8 text; inline CSS and SVG, no scripts, no external
    resources) for ``reports`` — a list of player report dicts (see
    :meth:`simulator.player.ScenarioPlayer.report`; reports without ``measurements`` get them computed from
    their ``events``). All report text is HTML-escaped."""
    reports = list(reports)
    n_pass = sum(1 for r in reports if r.get('passed'))
    all_ok = n_pass == len(reports)
    title = TITLE + (f' — {reports[0].get("scenario")}' if len(reports) == 1 else f' — {len(reports)} scenarios')
    verdict = 'PASSED' if all_ok else 'FAILED'
    body = [f'<h1>{_e(TITLE)}</h1>',
            f'<p class="sub"><span class="badge {"pass" if all_ok else "fail"}">{verdict}</span> '
            f'{len(reports)} scenario{"s" if len(reports) != 1 else ""}: {n_pass} passed, '
            f'{len(reports) - n_pass} failed. Times in ms on one clock shared by the server and every window.</p>']
    if len(reports) > 1:
        body.append(_overview(reports))
    body += [_scenario_section(r, i) for i, r in enumerate(reports)]
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n'
            + '\n'.join(body) + '\n</main>\n</body>\n</html>\n')
