"""Latency measurements computed from timeline events (plain dicts in, plain JSON-safe dicts out; no Qt).

Input: the report's ``events`` — dicts ``{t_ms, source, kind, window, sid, client_id, detail}`` as written by
:meth:`clientsim.simulator.timeline.TimelineEvent.to_dict`. All times and figures are in **milliseconds** on the one
process-wide clock, so a difference between a window event and a server event has no clock skew.

Figures (the keys of :data:`FIGURES`):

* ``handshake_handled_ms``: socket connected (window, ``socket_connected_client``) → handshake handled by
  the server (``handshake_handled``, same sid). Includes the window's ``handshake_ms`` latency knob.
* ``handshake_ack_ms``: socket connected → handshake acknowledged at the window (``handshake_acked``).
* ``disconnect_handled_ms``: the window closes its socket (``disconnect_client`` with ``by=client``) → the
  server handled the disconnect (``disconnect_server``, same sid).
* ``disconnect_deleted_ms``: the window closes its socket → the server deleted the client
  (``client_deleted``, same client_id). ``None`` for the shared auto-index client, which is never deleted,
  and for a client not yet deleted when the events were taken.
* ``download_ms``: the window received the ``download`` event (``download_event``) → its GET was answered
  (``download_get``, any status). Includes the window's ``download_ms`` latency knob.

Per window every page load / disconnect / download is kept in a list; the per-window figure is the **maximum**
over that window's samples (the worst case, which is what a latency bug shows). Across windows, ``p50``,
``p95`` and ``max`` are taken over **all samples of all windows pooled** (every page load of every window),
with linear interpolation between closest ranks (as ``numpy.percentile``'s default).
"""
from __future__ import annotations

import bisect
import collections
import math
from typing import Any, Iterable, Optional

from .event_kinds import EventKind

#: figure key → human label (the column order of tables).
FIGURES: dict[str, str] = {
    'handshake_handled_ms': 'handshake: connect → handled',
    'handshake_ack_ms': 'handshake: connect → ack',
    'disconnect_handled_ms': 'disconnect: close → handled',
    'disconnect_deleted_ms': 'disconnect: close → client deleted',
    'download_ms': 'download: event → GET answered',
}

#: which per-window sample list each figure is taken from.
_SAMPLE_LIST = {
    'handshake_handled_ms': 'handshakes', 'handshake_ack_ms': 'handshakes',
    'disconnect_handled_ms': 'disconnects', 'disconnect_deleted_ms': 'disconnects',
    'download_ms': 'downloads',
}


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
    names: dict[str, None] = {}
    for e in events:
        source = e.get('source')
        if source and source != 'server' and source not in names:
            names[source] = None
    return list(names)


class _Index:
    """The events of one scenario indexed once (linear): the first event per ``(kind, sid)`` (server and per
    window) and the server's ``client_deleted`` events per client_id, in time order."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.own: dict[str, list[dict]] = {}
        self.first: dict[tuple[Any, ...], dict] = {}  # (source, kind, sid) -> first event
        self.deleted: dict[Any, tuple[list[float], list[dict]]] = {}  # client_id -> (t_ms list, events)
        for e in events:
            source = e.get('source')
            kind = e.get('kind')
            self.first.setdefault((source, kind, e.get('sid')), e)
            if source == 'server':
                if kind == EventKind.CLIENT_DELETED:
                    times, found = self.deleted.setdefault(e.get('client_id'), ([], []))
                    times.append(e['t_ms'])
                    found.append(e)
            elif source:
                self.own.setdefault(source, []).append(e)

    def deleted_after(self, client_id: Any, t_ms: float) -> Optional[dict]:
        """The first ``client_deleted`` of ``client_id`` at or after ``t_ms``, or None."""
        times, found = self.deleted.get(client_id, ((), ()))
        i = bisect.bisect_left(times, t_ms)
        return found[i] if i < len(found) else None


def _handshakes(window: str, own: list[dict], index: _Index) -> list[dict[str, Any]]:
    loads = []
    for connected in (e for e in own if e['kind'] == EventKind.SOCKET_CONNECTED_CLIENT):
        sid = connected.get('sid')
        # a sid is unique per socket, so the match is by sid (the server records its window from the query too)
        handled = index.first.get(('server', EventKind.HANDSHAKE_HANDLED, sid))
        acked = index.first.get((window, EventKind.HANDSHAKE_ACKED, sid))
        loads.append({
            'sid': sid, 'client_id': connected.get('client_id'), 'connected_t_ms': connected['t_ms'],
            'handshake_handled_ms': _diff(connected, handled), 'handshake_ack_ms': _diff(connected, acked),
            'ok': None if acked is None else bool((acked.get('detail') or {}).get('ok')),
        })
    return loads


def _disconnects(own: list[dict], index: _Index, shared: set[str]) -> list[dict[str, Any]]:
    out = []
    for closed in (e for e in own if e['kind'] == EventKind.DISCONNECT_CLIENT and e.get('sid')):
        sid, client_id = closed.get('sid'), closed.get('client_id')
        handled = index.first.get(('server', EventKind.DISCONNECT_SERVER, sid))
        deleted = None if client_id in shared else index.deleted_after(client_id, closed['t_ms'])
        out.append({
            'sid': sid, 'client_id': client_id, 'closed_t_ms': closed['t_ms'],
            'by': (closed.get('detail') or {}).get('by'), 'shared_client': client_id in shared,
            'disconnect_handled_ms': _diff(closed, handled), 'disconnect_deleted_ms': _diff(closed, deleted),
            'deleted_reason': (deleted.get('detail') or {}).get('reason') if deleted else None,
        })
    return out


def _downloads(own: list[dict]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pending: collections.deque[dict[str, Any]] = collections.deque()
    for e in own:
        if e['kind'] == EventKind.DOWNLOAD_EVENT:
            item = {'event_t_ms': e['t_ms'], 'get_t_ms': None, 'status': None, 'download_ms': None}
            out.append(item)
            pending.append(item)
        elif e['kind'] == EventKind.DOWNLOAD_GET and pending:  # a window answers its download events in FIFO order
            item = pending.popleft()
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
    shared = {e.get('client_id') for e in events if e.get('source') == 'server'
              and e['kind'] == EventKind.CLIENT_CREATED and (e.get('detail') or {}).get('page') == 'auto_index'}
    index = _Index(events)  # one pass: the figures below look events up instead of rescanning (linear in events)
    windows: dict[str, Any] = {}
    pooled: dict[str, list[float]] = {key: [] for key in FIGURES}
    for name in window_names(events):
        own = index.own[name]
        samples = {'handshakes': _handshakes(name, own, index),
                   'disconnects': _disconnects(own, index, shared),
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


def add_measurements(report: dict[str, Any]) -> dict[str, Any]:
    """Set ``report['measurements'] = measurements_of(report['events'])`` (in place) and return ``report``.
    For reports written before the player added measurements (e.g. an old JSON file)."""
    report['measurements'] = measurements_of(report.get('events') or [])
    return report
