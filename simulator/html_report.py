"""A self-contained HTML report to attach to a bug report (inline CSS and SVG, no scripts, no external files).

:func:`render_html` takes the player's report dicts (see :meth:`clientsim.simulator.player.ScenarioPlayer.report`) and
returns one HTML page with, per scenario and variant (``shipped`` / ``fixed``): name, variant, description,
policy, PASSED/FAILED, a timeline (inline SVG: one lane per window plus a server lane, see
:mod:`clientsim.simulator.html_report_timeline`), the latency measurements (see
:mod:`clientsim.simulator.measurements`), the
expectations and the server errors with their tracebacks. All times are in **ms** on the one timeline clock.
Every text from a report is HTML-escaped. No Qt.
"""
from __future__ import annotations

import json
from typing import Any

from .html_report_timeline import end_ms, legend_html, timeline_svg, zoom_end
from .html_report_timeline import escape as _e
from .lanes import fmt_ms
from .measurements import FIGURES, measurements_of
from .outcome import FAIL_COLOUR, PASS_COLOUR
from .run_report import RunReport

__all__ = ['TITLE', 'fmt_ms', 'render_html', 'timeline_svg']

TITLE = 'clientsim report'

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
.card.failed{border-left:5px solid FAIL_COLOUR}.card.passed{border-left:5px solid PASS_COLOUR}
.badge{display:inline-block;font-size:12px;font-weight:700;letter-spacing:.05em;padding:2px 9px;border-radius:999px;
 color:#fff;white-space:nowrap}
.badge.pass{background:PASS_COLOUR}.badge.fail{background:FAIL_COLOUR}
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
.ok{color:PASS_COLOUR;font-weight:700}.bad{color:FAIL_COLOUR;font-weight:700}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f5;padding:1px 4px;
 border-radius:4px;word-break:break-word}
pre{background:#1f2429;color:#e8ecef;padding:12px 14px;border-radius:8px;overflow:auto;font:12px/1.5
 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:6px 0 14px}
.err-head{margin:10px 0 0}
.note{color:#5b6570;font-size:12px;margin:6px 0 0}
.none{color:PASS_COLOUR}
figure{margin:0}
svg.timeline{width:100%;height:auto;display:block;background:#fff}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#4a535d;margin:8px 0 0}
.legend span{display:inline-flex;align-items:center;gap:5px}
.sw{display:inline-block;width:14px;height:10px;border-radius:2px}
.overview td a{color:#1d2329}
.variant{display:inline-block;font-size:12px;font-weight:600;padding:1px 8px;border-radius:6px;border:1px solid}
.variant.shipped{color:#8a4b00;border-color:#e0b27a;background:#fff6ea}
.variant.fixed{color:#1c5f9a;border-color:#9cc3e6;background:#eef6fd}
""".replace('PASS_COLOUR', PASS_COLOUR).replace('FAIL_COLOUR', FAIL_COLOUR)  # the one style table (outcome.py)


def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


# ---- tables ------------------------------------------------------------------------------------------------------
def _measurements_table(report: RunReport) -> str:
    m = report.measurements or measurements_of(report.event_dicts())
    info = {w.name: w for w in report.windows}
    head = ''.join(f'<th class="num">{_head(label)}</th>' for label in FIGURES.values())
    rows = []
    for name, w in m['windows'].items():
        cells = []
        for key in FIGURES:
            samples = [s for s in w[_list_of(key)] if s.get(key) is not None]
            extra = f' <span class="muted">(max of {len(samples)})</span>' if len(samples) > 1 else ''
            cells.append(f'<td class="num">{_e(fmt_ms(w[key]))}{extra}</td>')
        wi = info.get(name)
        sub = ((f'<code>{_e(wi.page)}</code> ' if wi.page else '') + _e(wi.state)) if wi is not None else ''
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


def _expectations_table(report: RunReport) -> str:
    checks = report.expectations
    if not checks:
        return '<p class="muted">No expectations.</p>'
    rows = []
    for c in checks:
        ok = c.passed
        mark = '<span class="ok">✔ pass</span>' if ok else '<span class="bad">✘ FAIL</span>'
        rows.append(f'<tr class="{"" if ok else "bad"}"><td>{mark}</td><td>{_e(c.name)}</td>'
                    f'<td><code>{_e(_value(c.expected))}</code></td>'
                    f'<td><code>{_e(_value(c.actual))}</code></td></tr>')
    return ('<table class="expectations"><thead><tr><th style="width:80px">result</th><th>expectation</th>'
            f'<th>expected</th><th>actual</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _errors_block(report: RunReport) -> str:
    errors = report.server_errors
    if not errors:
        return '<p class="none">✔ No server errors.</p>'
    parts = []
    for err in errors:
        parts.append(f'<p class="err-head"><span class="bad">{_e(err.type)}</span>: '
                     f'<code>{_e(err.message)}</code> in <b>{_e(err.where)}</b> at '
                     f'{_e(fmt_ms(err.t_ms))} ms <span class="muted">sid {_e(err.sid)}, client '
                     f'{_e(err.client_id)}</span></p><pre>{_e(err.traceback or "(no traceback)")}</pre>')
    return ''.join(parts)


def _window_messages_block(report: RunReport) -> str:
    """Per window, what it did not follow: server messages it ignored (by name and count; nicegui.js 3.x does not
    handle them either) and ``run_javascript`` requests no JavaScript rule answered (simulator.browser)."""
    rows = []
    for w in report.windows:
        ignored = ', '.join(f'{_e(name)} ×{n}' for name, n in w.ignored_messages.items())
        unanswered = ', '.join(f'<code>{_e(str(code)[:80])}</code>' for code in w.javascript_unanswered)
        if ignored or unanswered:
            rows.append(f'<tr><td>{_e(w.name)}</td><td>{ignored or "—"}</td><td>{unanswered or "—"}</td></tr>')
    if not rows:
        return '<p class="none">✔ Every server message was followed; every run_javascript was answered.</p>'
    return ('<table><thead><tr><th>window</th><th>messages ignored</th><th>run_javascript unanswered</th></tr>'
            f'</thead><tbody>{"".join(rows)}</tbody></table>')


def _scenario_section(report: RunReport, index: int) -> str:
    passed = report.passed
    badge = _badge(passed)
    chips = ''.join(f'<span class="chip">{_e(k)} = {_e(_value(v))}</span>' for k, v in report.policy.items()) \
        or _e(report.policy_summary or '—')
    checks = report.expectations
    n_ok = report.n_passed
    zoom = zoom_end(report)
    timeline = f'<figure>{timeline_svg(report)}</figure>'
    if zoom is not None:
        timeline = (f'<p class="note">Whole scenario, 0–{_e(fmt_ms(end_ms(report)))} ms:</p>{timeline}'
                    f'<p class="note">Zoom on the window activity, 0–{_e(fmt_ms(zoom))} ms:</p>'
                    f'<figure>{timeline_svg(report, 0.0, zoom)}</figure>')
    return (
        f'<section class="card {"passed" if passed else "failed"}" id="scenario-{index}">'
        f'<h2>{badge}{_variant(report)}<span>{_e(report.scenario)}</span></h2>'
        f'<p class="desc">{_e(report.description)}</p>'
        f'<p class="meta"><span><b>file</b> {_e(report.file or "—")}</span>'
        f'<span><b>expectations</b> {n_ok}/{len(checks)} passed</span>'
        f'<span><b>server errors</b> {len(report.server_errors)}</span>'
        f'<span><b>clients alive</b> {_e(report.clients_alive)}</span>'
        f'<span><b>duration</b> {_e(fmt_ms(report.duration_ms))} ms</span></p>'
        f'<h3>Policy</h3><div>{chips}</div>'
        f'<h3>Timeline</h3>{timeline}{legend_html()}'
        '<p class="note">Hover a span or marker for details (times in ms since the timeline started).</p>'
        f'<h3>Expectations</h3>{_expectations_table(report)}'
        f'<h3>Measurements (ms)</h3>{_measurements_table(report)}'
        f'<h3>Server errors</h3>{_errors_block(report)}'
        f'<h3>Messages not followed</h3>{_window_messages_block(report)}'
        '</section>')


def _variant(report: RunReport) -> str:
    """The variant chip (``shipped`` / ``fixed``, see :mod:`clientsim.simulator.variants`)."""
    variant = report.variant
    return f'<span class="variant {_e(variant)}">{_e(variant)}</span>'


def _badge(passed: bool) -> str:
    return '<span class="badge pass">PASSED</span>' if passed else '<span class="badge fail">FAILED</span>'


def _overview(reports: list[RunReport]) -> str:
    rows = []
    for i, r in enumerate(reports):
        rows.append(f'<tr><td>{_badge(r.passed)}</td>'
                    f'<td><a href="#scenario-{i}">{_e(r.scenario)}</a></td><td>{_variant(r)}</td>'
                    f'<td><code>{_e(r.policy_summary)}</code></td>'
                    f'<td class="num">{r.n_passed}/{len(r.expectations)}</td></tr>')
    return ('<section class="card"><table class="overview"><thead><tr><th style="width:90px">result</th>'
            '<th>scenario</th><th>variant</th><th>policy</th><th class="num">expectations</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def render_html(reports: list[RunReport]) -> str:
    """One self-contained HTML page (``str``, UTF-8 text; inline CSS and SVG, no scripts, no external
    resources) for ``reports`` (:class:`~clientsim.simulator.run_report.RunReport`; reports without
    ``measurements`` get them computed from their ``events``). All report text is HTML-escaped."""
    reports = list(reports)
    n_pass = sum(1 for r in reports if r.passed)
    all_ok = n_pass == len(reports)
    title = TITLE + (f' — {reports[0].scenario}' if len(reports) == 1 else f' — {len(reports)} scenarios')
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
