"""The named checks of the conformance suite: :func:`rows` compares the observations of one run
(:mod:`.runner`) and says, per check, what Chromium did, what clientsim did and whether that is the same within the
check's stated tolerance.

=================================  ====================================================================================
check                              same when
=================================  ====================================================================================
connect query                      the websocket URL carries the same query keys
websocket headers                  both send ``Origin``; both user agents start ``Mozilla/5.0``
websocket on its own connection    every websocket is the first request of its TCP connection
static files of a first load       clientsim fetches at least 70 % of the ``/_nicegui/`` files Chromium fetched
page GET → handshake (median)      clientsim's median of first loads is 0.5–2× Chromium's
handshake                          both finish the handshake of every load (explicit ack or 3.7+ implicit connect)
event payload                      the click's ``event`` message has the same keys
update payload and text            the ``update`` has the same element keys; the element shows the same text after
ack cadence                        first ack 2–6 s after the page GET (3 s after the page's script ran), on both;
                                   acks 3 s apart (±0.4 s, multiples)
download GET                       both fetch once; the same ``Sec-Fetch-*``; both send ``Referer``; same filename
navigation / reload order          old socket closed after the new page's GET, with code 1001 (both sides)
navigation / reload timing         GET → new socket within 0.25–4× of Chromium's (and 50 ms slack)
reconnect after restart            both back and reloaded; clientsim back ≤ max(1 s, 2× Chromium's) after its first
                                   successful attempt (3.x: the refused implicit handshake; 2.x: the rejected one)
polling attempts while down        3.x: both try polling while the app is down; 2.x: neither does
auto-index download race (2.x)     in every run both tabs fetch the download, on both sides
=================================  ====================================================================================
"""
from __future__ import annotations

import statistics
import urllib.parse
from dataclasses import asdict, dataclass
from typing import Any, Optional

SLOW_HANDSHAKE_RATIO = (0.5, 2.0)


@dataclass
class Row:
    """One check: its ``check`` name and ``tolerance``, what ``chromium`` and ``clientsim`` did (short text) and
    whether that is ``same``."""
    check: str
    tolerance: str
    chromium: str
    clientsim: str
    same: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return asdict(self)


def _keys(query_target: Optional[str]) -> list[str]:
    if not query_target:
        return []
    return sorted(urllib.parse.parse_qs(urllib.parse.urlsplit(query_target).query, keep_blank_values=True))


def _median(loads: list[dict]) -> Optional[float]:
    values = [x['ms'] for x in loads if x.get('ms') is not None]
    return round(statistics.median(values), 1) if values else None


def rows(obs: dict[str, dict[str, Any]], version: str) -> list[Row]:
    """The rows of one run (see the module table). Missing observations make a row 'not the same'."""
    c, s = obs['chromium'], obs['clientsim']
    out: list[Row] = []
    sock = {side: (obs[side]['loads'][0].get('socket') if obs[side].get('loads') else None) for side in obs}
    qc, qs = _keys(sock['chromium'].target if sock['chromium'] else None), _keys(
        sock['clientsim'].target if sock['clientsim'] else None)
    out.append(Row('connect query', 'same query keys', ' '.join(qc), ' '.join(qs), bool(qc) and qc == qs))
    hc = sock['chromium'].headers if sock['chromium'] else {}
    hs = sock['clientsim'].headers if sock['clientsim'] else {}
    out.append(Row('websocket headers', 'Origin sent; user agent starts Mozilla/5.0', _socket_text(hc),
                   _socket_text(hs), _browser_like(hc) and _browser_like(hs)))
    own = {side: [x['socket'].index for x in obs[side].get('loads', []) if x.get('socket')] for side in obs}
    out.append(Row('websocket on its own connection', 'each websocket is its TCP connection\'s first request',
                   f"request index {own['chromium']}", f"request index {own['clientsim']}",
                   bool(own['clientsim']) and not any(own['clientsim']) and not any(own['chromium'])))
    static = {side: set(obs[side]['loads'][0]['static']) if obs[side].get('loads') else set() for side in obs}
    share = len(static['chromium'] & static['clientsim']) / len(static['chromium']) if static['chromium'] else 1.0
    out.append(Row('static files of a first load', 'clientsim fetches >= 70 % of Chromium\'s /_nicegui/ files',
                   f"{len(static['chromium'])} files", f"{len(static['clientsim'])} files ({share:.0%} of Chromium's)",
                   share >= 0.7))
    mc, ms = _median(c.get('loads', [])), _median(s.get('loads', []))
    ratio = (ms / mc) if mc and ms else None
    out.append(Row('page GET → handshake (median)', 'clientsim 0.5–2× Chromium\'s median of first loads',
                   f'{mc} ms {[x.get("ms") for x in c.get("loads", [])]}',
                   f'{ms} ms {[x.get("ms") for x in s.get("loads", [])]}' + (f' ({ratio:.2f}×)' if ratio else ''),
                   ratio is not None and SLOW_HANDSHAKE_RATIO[0] <= ratio <= SLOW_HANDSHAKE_RATIO[1]))
    implicit = version.split('.')[0] == '3'
    done = {side: all(x.get('done_ns') for x in obs[side].get('loads', [])) and bool(obs[side].get('loads'))
            for side in obs}
    kind = 'implicit (3.7+ connect)' if implicit else 'explicit (handshake ack)'
    out.append(Row('handshake', f'every load finishes its handshake: {kind}', f"all done: {done['chromium']}",
                   f"all done: {done['clientsim']}", done['chromium'] and done['clientsim']))
    out.extend(_counter_rows(c.get('counter') or {}, s.get('counter') or {}))
    out.extend(_download_rows(c.get('download') or {}, s.get('download') or {}))
    for kind in ('navigation', 'reload'):
        out.extend(_navigation_rows(kind, c.get(kind) or {}, s.get(kind) or {}))
    out.extend(_restart_rows(c.get('restart') or {}, s.get('restart') or {}, implicit))
    if 'race' in c:
        fc = [r['both_fetched'] for r in c['race']]
        fs = [r['both_fetched'] for r in s.get('race', [])]
        out.append(Row('auto-index download race (2.x)', 'in every run both tabs fetch, on both sides',
                       f'both fetched in {sum(fc)}/{len(fc)}', f'both fetched in {sum(fs)}/{len(fs)}',
                       bool(fc) and all(fc) and bool(fs) and all(fs)))
    return out


def _counter_rows(c: dict, s: dict) -> list[Row]:
    ec, es = sorted((c.get('event') or {}).keys()), sorted((s.get('event') or {}).keys())
    out = [Row('event payload', 'same keys of the click\'s event message', ' '.join(ec), ' '.join(es),
               bool(ec) and ec == es)]
    uc = sorted({k for e in (c.get('update') or {}).values() if isinstance(e, dict) for k in e})
    us = sorted({k for e in (s.get('update') or {}).values() if isinstance(e, dict) for k in e})
    out.append(Row('update payload and text', 'same element keys in the update; same text shown after the click',
                   f"{' '.join(uc)} | text {c.get('text')!r}", f"{' '.join(us)} | text {s.get('text')!r}",
                   bool(uc) and uc == us and c.get('text') is not None and c.get('text') == s.get('text')))
    ac, as_ = [t for t, _ in c.get('acks', [])], [t for t, _ in s.get('acks', [])]
    out.append(Row('ack cadence', 'first ack 2–6 s after the page GET; later acks 3 s apart (±0.4 s, multiples)',
                   f'acks at {ac} ms', f'acks at {as_} ms', _cadence_ok(ac) and _cadence_ok(as_)))
    return out


def _cadence_ok(times_ms: list[int]) -> bool:
    if len(times_ms) < 2 or not 2000 <= times_ms[0] <= 6000:
        return False
    for a, b in zip(times_ms, times_ms[1:], strict=False):
        gap = (b - a) / 3000
        if round(gap) < 1 or abs(gap - round(gap)) * 3000 > 400:
            return False
    return True


def _socket_text(h: dict) -> str:
    return f"Origin={'yes' if 'origin' in h else 'no'} UA={h.get('user-agent', '')[:24]!r}"


def _browser_like(h: dict) -> bool:
    return 'origin' in h and h.get('user-agent', '').startswith('Mozilla/5.0')


def _fetch_headers(d: dict) -> dict:
    return {k: v for k, v in (d.get('headers') or {}).items() if k.startswith('sec-fetch-')}


def _download_text(d: dict) -> str:
    referer = 'yes' if 'referer' in d.get('headers', {}) else 'no'
    return f"{d.get('fetched')} GET, {_fetch_headers(d)}, Referer {referer}, saved as {d.get('filename')!r}"


def _download_rows(c: dict, s: dict) -> list[Row]:
    same = (c.get('fetched') == s.get('fetched') == 1 and _fetch_headers(c) == _fetch_headers(s)
            and 'referer' in c.get('headers', {}) and 'referer' in s.get('headers', {})
            and c.get('filename') == s.get('filename'))
    return [Row('download GET', 'one GET each; same Sec-Fetch-*; Referer sent; same saved filename',
                _download_text(c), _download_text(s), same)]


def _order_text(d: dict) -> str:
    return f"old socket closed {d.get('close_after_get_ms')} ms after the GET, code {d.get('close_code')}"


def _closed_after_get(d: dict) -> bool:
    return d.get('close_after_get_ms') is not None and d['close_after_get_ms'] > 0


def _navigation_rows(kind: str, c: dict, s: dict) -> list[Row]:
    out = [Row(f'{kind} order and close code', 'old socket closed after the new page\'s GET, code 1001',
               _order_text(c), _order_text(s),
               _closed_after_get(c) and _closed_after_get(s) and c.get('close_code') == s.get('close_code'))]
    tc, ts = c.get('new_socket_after_get_ms'), s.get('new_socket_after_get_ms')
    same = tc is not None and ts is not None and 0.25 * tc - 50 <= ts <= 4 * tc + 50
    out.append(Row(f'{kind} timing', 'GET → new socket within 0.25–4× Chromium\'s (±50 ms)', f'{tc} ms', f'{ts} ms',
                   same))
    return out


def _restart_text(d: dict) -> str:
    return (f"back {d.get('back')}, reloaded {d.get('reloaded')}, "
            f"{d.get('back_after_first_attempt_ms')} ms after its first attempt")


def _restart_rows(c: dict, s: dict, implicit: bool) -> list[Row]:
    limit_ms = max(1000.0, 2 * (c.get('back_after_first_attempt_ms') or 0.0))
    clientsim_ms = s.get('back_after_first_attempt_ms')
    same = (bool(c.get('back')) and bool(c.get('reloaded')) and bool(s.get('back')) and bool(s.get('reloaded'))
            and clientsim_ms is not None and clientsim_ms <= limit_ms)
    out = [Row('reconnect after restart', 'both back and reloaded; clientsim back <= max(1 s, 2x Chromium) after '
               'its first successful attempt', _restart_text(c), _restart_text(s), same)]
    pc, ps = c.get('polling_attempts_while_down', 0), s.get('polling_attempts_while_down', 0)
    wc, ws = c.get('websocket_attempts_while_down', 0), s.get('websocket_attempts_while_down', 0)
    out.append(Row('polling attempts while down', 'polling tried while the app is down iff Chromium does',
                   f'{wc} websocket, {pc} polling', f'{ws} websocket, {ps} polling', (pc > 0) == (ps > 0)))
    return out
