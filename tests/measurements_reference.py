"""The quadratic ``measurements_of`` as it was before issue 24 (commit b86fa72 of simulator/measurements.py), kept
only as the reference the linear rewrite must equal (tests/test_measurements_linear.py). Not used by clientsim."""
from __future__ import annotations

import math
from typing import Any, Iterable, Optional

from clientsim.simulator.measurements import _SAMPLE_LIST, FIGURES


def percentile(values: Iterable[float], q: float) -> Optional[float]:
    """The ``q``-th percentile (0…100) of ``values`` with linear interpolation between closest ranks
    (``numpy.percentile`` default). ``None`` for no values. Units are those of ``values`` (here ms)."""
    data = sorted(float(v) for v in values)
    if not data:
        return None
    if len(data) == 1:
        return data[0]
    pos = (len(data) - 1) * min(max(q, 0.0), 100.0) / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def _ms(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 3)


def _diff(start: Optional[dict], end: Optional[dict]) -> Optional[float]:
    if start is None or end is None:
        return None
    return _ms(end['t_ms'] - start['t_ms'])


def window_names(events: list[dict[str, Any]]) -> list[str]:
    """Names of the windows that recorded events, in order of their first event (``source`` other than
    ``'server'``)."""
    names: list[str] = []
    for e in events:
        source = e.get('source')
        if source and source != 'server' and source not in names:
            names.append(source)
    return names


def _first(events: list[dict], after_ms: float, **match: Any) -> Optional[dict]:
    for e in events:
        if e['t_ms'] >= after_ms and all(e.get(k) == v for k, v in match.items()):
            return e
    return None


def _handshakes(window: str, own: list[dict], server: list[dict]) -> list[dict[str, Any]]:
    loads = []
    for connected in (e for e in own if e['kind'] == 'socket_connected_client'):
        sid = connected.get('sid')
        # a sid is unique per socket, so the match is by sid (the server records its window from the query too)
        handled = next((e for e in server if e['kind'] == 'handshake_handled' and e.get('sid') == sid), None)
        acked = next((e for e in own if e['kind'] == 'handshake_acked' and e.get('sid') == sid), None)
        loads.append({
            'sid': sid, 'client_id': connected.get('client_id'), 'connected_t_ms': connected['t_ms'],
            'handshake_handled_ms': _diff(connected, handled), 'handshake_ack_ms': _diff(connected, acked),
            'ok': None if acked is None else bool((acked.get('detail') or {}).get('ok')),
        })
    return loads


def _disconnects(window: str, own: list[dict], server: list[dict], shared: set[str]) -> list[dict[str, Any]]:
    out = []
    for closed in (e for e in own if e['kind'] == 'disconnect_client' and e.get('sid')):
        sid, client_id = closed.get('sid'), closed.get('client_id')
        handled = next((e for e in server if e['kind'] == 'disconnect_server' and e.get('sid') == sid), None)
        deleted = None if client_id in shared else _first(server, closed['t_ms'], kind='client_deleted',
                                                          client_id=client_id)
        out.append({
            'sid': sid, 'client_id': client_id, 'closed_t_ms': closed['t_ms'],
            'by': (closed.get('detail') or {}).get('by'), 'shared_client': client_id in shared,
            'disconnect_handled_ms': _diff(closed, handled), 'disconnect_deleted_ms': _diff(closed, deleted),
            'deleted_reason': (deleted.get('detail') or {}).get('reason') if deleted else None,
        })
    return out


def _downloads(own: list[dict]) -> list[dict[str, Any]]:
    out, pending = [], []
    for e in own:
        if e['kind'] == 'download_event':
            item = {'event_t_ms': e['t_ms'], 'get_t_ms': None, 'status': None, 'download_ms': None}
            out.append(item)
            pending.append(item)
        elif e['kind'] == 'download_get' and pending:  # a window answers its download events in FIFO order
            item = pending.pop(0)
            item['get_t_ms'] = e['t_ms']
            item['status'] = (e.get('detail') or {}).get('status')
            item['download_ms'] = _ms(e['t_ms'] - item['event_t_ms'])
    return out


def _stats(values: list[float]) -> dict[str, Any]:
    return {'n': len(values), 'p50': _ms(percentile(values, 50)), 'p95': _ms(percentile(values, 95)),
            'max': _ms(max(values)) if values else None}


def _counted(figure: str, sample: dict[str, Any]) -> bool:
    # server-initiated disconnects run the other way round (server first), so they are listed, not summarised
    return not (figure.startswith('disconnect_') and sample.get('by') != 'client')


def measurements_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency figures of one scenario's events (see the module docstring for each figure), all in **ms**.

    ``events``: dicts ``{t_ms, source, kind, window, sid, client_id, detail}`` (the report's ``events``).
    Returns a JSON-safe dict::

        {'units': 'ms',
         'per_window': 'max',                 # how a window's samples are summarised
         'across_windows': 'all samples pooled',
         'figures': {key: label, ...},        # FIGURES
         'windows': {name: {
             'handshake_handled_ms': float|None, 'handshake_ack_ms': float|None,     # max over page loads
             'disconnect_handled_ms': float|None, 'disconnect_deleted_ms': float|None,
             'download_ms': float|None,
             'last': {same keys: the last sample of the window, or None},
             'handshakes': [{sid, client_id, connected_t_ms, handshake_handled_ms, handshake_ack_ms, ok}],
             'disconnects': [{sid, client_id, closed_t_ms, by, shared_client, disconnect_handled_ms,
                              disconnect_deleted_ms, deleted_reason}],
             'downloads': [{event_t_ms, get_t_ms, status, download_ms}]}},
         'summary': {key: {'n': int, 'p50': float|None, 'p95': float|None, 'max': float|None}}}

    A figure is ``None`` when its end event is missing (no handshake sent, a shared client never deleted,
    a GET still in flight when the events were taken). Disconnects the server initiated are listed but not
    part of the disconnect figures.
    """
    events = sorted((e for e in events if isinstance(e, dict) and 't_ms' in e), key=lambda e: e['t_ms'])
    server = [e for e in events if e.get('source') == 'server']
    shared = {e.get('client_id') for e in server
              if e['kind'] == 'client_created' and (e.get('detail') or {}).get('page') == 'auto_index'}
    windows: dict[str, Any] = {}
    pooled: dict[str, list[float]] = {key: [] for key in FIGURES}
    for name in window_names(events):
        own = [e for e in events if e.get('source') == name]
        samples = {'handshakes': _handshakes(name, own, server),
                   'disconnects': _disconnects(name, own, server, shared),
                   'downloads': _downloads(own)}
        entry: dict[str, Any] = {}
        last: dict[str, Any] = {}
        for key in FIGURES:
            values = [s[key] for s in samples[_SAMPLE_LIST[key]] if s[key] is not None and _counted(key, s)]
            entry[key] = max(values) if values else None
            last[key] = values[-1] if values else None
            pooled[key].extend(values)
        entry['last'] = last
        entry.update(samples)
        windows[name] = entry
    return {
        'units': 'ms', 'per_window': 'max', 'across_windows': 'all samples pooled',
        'figures': dict(FIGURES), 'windows': windows,
        'summary': {key: _stats(values) for key, values in pooled.items()},
    }


