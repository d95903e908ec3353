"""A self-contained HTML report to attach to a bug report (inline CSS and SVG, no scripts, no external files).

:func:`render_html` takes the player's report dicts (see :meth:`clientsim.simulator.player.ScenarioPlayer.report`) and
returns one HTML page with, per scenario and variant (``shipped`` / ``fixed``): name, variant, description,
policy, PASSED/FAILED, a timeline (inline SVG: one lane per window plus a server lane, see
:mod:`clientsim.simulator.html_report_timeline`), the latency measurements (see
:mod:`clientsim.simulator.measurements`), the
expectations and the server errors with their tracebacks. All times are in **ms** on the one timeline clock.
The page is the Jinja2 template ``templates/report.html.j2`` (styles: ``templates/report.css.j2``) rendered with
autoescape on, so every text from a report is HTML-escaped. No Qt.
"""
from __future__ import annotations

import json
from typing import Any

from .html_report_timeline import end_ms, environment, legend_html, timeline_svg, zoom_end
from .lanes import fmt_ms
from .measurements import FIGURES, measurements_of
from .outcome import FAIL_COLOUR, PASS_COLOUR
from .run_report import RunReport

__all__ = ['TITLE', 'fmt_ms', 'render_html', 'timeline_svg']

TITLE = 'clientsim report'

def _value(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return str(value)


def _list_of(key: str) -> str:
    return 'handshakes' if key.startswith('handshake') else 'disconnects' if key.startswith('disconnect') \
        else 'downloads'


def _measurements(report: RunReport) -> dict[str, Any]:
    """The measurements table's cells: ``heads`` [(group, rest)], ``windows`` [{name, page, state, cells:
    [(text, samples)]}], ``stats`` [(p50|p95|max, [text])], ``samples`` [n] (ms figures as :func:`fmt_ms` text)."""
    m = report.measurements or measurements_of(report.event_dicts())
    info = {w.name: w for w in report.windows}
    windows = []
    for name, w in m['windows'].items():
        cells = [(fmt_ms(w[key]), len([s for s in w[_list_of(key)] if s.get(key) is not None])) for key in FIGURES]
        wi = info.get(name)
        windows.append({'name': name, 'page': wi.page if wi is not None else None,
                        'state': wi.state if wi is not None else '', 'cells': cells})
    summary = m['summary']
    return {'heads': [(label.partition(': ')[0], label.partition(': ')[2]) for label in FIGURES.values()],
            'windows': windows,
            'stats': [(stat, [fmt_ms(summary[key][stat]) for key in FIGURES]) for stat in ('p50', 'p95', 'max')],
            'samples': [summary[key]['n'] for key in FIGURES]}


def _section(report: RunReport) -> dict[str, Any]:
    """What the template shows of one report beside its fields: policy chips, the timeline SVG(s), expectations
    as text, measurements and the messages its windows did not follow."""
    zoom = zoom_end(report)
    not_followed = []
    for w in report.windows:
        ignored = list(w.ignored_messages.items())
        unanswered = [str(code)[:80] for code in w.javascript_unanswered]
        if ignored or unanswered:
            not_followed.append((w.name, ignored, unanswered))
    return {'report': report, 'policy': [(k, _value(v)) for k, v in report.policy.items()],
            'svg': timeline_svg(report), 'end_ms': end_ms(report), 'zoom_ms': zoom,
            'zoom_svg': timeline_svg(report, 0.0, zoom) if zoom is not None else None,
            'expectations': [{'name': c.name, 'passed': c.passed, 'expected': _value(c.expected),
                              'actual': _value(c.actual)} for c in report.expectations],
            'measurements': _measurements(report), 'not_followed': not_followed}


def render_html(reports: list[RunReport]) -> str:
    """One self-contained HTML page (``str``, UTF-8 text; inline CSS and SVG, no scripts, no external
    resources) for ``reports`` (:class:`~clientsim.simulator.run_report.RunReport`; reports without
    ``measurements`` get them computed from their ``events``), from ``templates/report.html.j2`` with autoescape:
    all report text is HTML-escaped."""
    reports = list(reports)
    n_passed = sum(1 for r in reports if r.passed)
    title = TITLE + (f' — {reports[0].scenario}' if len(reports) == 1 else f' — {len(reports)} scenarios')
    return environment().get_template('report.html.j2').render(
        title=title, heading=TITLE, reports=reports, n_passed=n_passed, all_passed=n_passed == len(reports),
        sections=[_section(r) for r in reports], legend=legend_html(), fmt_ms=fmt_ms,
        pass_colour=PASS_COLOUR, fail_colour=FAIL_COLOUR) + '\n'
