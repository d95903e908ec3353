"""CDP events → a :class:`~clientsim.simulator.chromium.window.ChromiumWindow`'s state, frames and timeline events,
with the event kinds of a simulated window (:data:`clientsim.simulator.timeline.KINDS`), so lanes, measurements,
checks and the frame inspector treat a real tab like any window.

=====================================================  =================================================================
CDP event (performance log)                            what it becomes
=====================================================  =================================================================
``Network.requestWillBeSent`` of a ``Document``        ``page_get_sent``; state ``loading`` (a new page)
``Network.responseReceived`` of that document          ``page_get_answered`` (``status``); ``load failed`` unless 200
``Network.webSocketHandshakeResponseReceived``         ``socket_connected_client``; state ``connected``
frame sent ``42N["handshake",{…}]``                    ``handshake_sent`` (NiceGUI 2.x explicit handshake)
frame received ``43N[ok]`` / ``40{sid}`` (3.7+)        ``handshake_acked`` (``ok``; ``implicit`` for 3.7+)
frame received ``44{"message": …}``                    ``handshake_acked`` with ``ok=False`` (a refused handshake)
frame sent ``42["event",{…}]``                         ``event_sent`` (``element``); ``ack`` counts ``acks_sent``
frame received ``42["update"|"download"|"notify",…]``  ``update_received`` / ``download_event`` / ``notify_received``
``Network.webSocketClosed`` of the page's socket       ``disconnect_client``; state ``disconnected``
``Page.downloadWillBegin`` / ``downloadProgress``      ``download_get_sent`` / ``download_get`` (see below)
=====================================================  =================================================================

Every socket.io EVENT becomes a :class:`~clientsim.simulator.browser.Frame` (``sent`` / ``received``). Network
events are placed by their CDP ``timestamp`` (:mod:`.clock`); ``Page.*`` events carry none and are placed by
chromedriver's wall-clock log stamp. A completed download is status 200 with its bytes and sha256 (read from the
download folder); a canceled one is status 0 with ``error``: Chromium cancels a download whose GET answered an HTTP
error (NiceGUI's single-use route answers 404 to every GET after the first), and CDP does not report that status.
"""
from __future__ import annotations

import hashlib
import urllib.parse
from typing import Any, Optional

from ..browser import elements as el
from ..browser.downloads import Download
from ..browser.state import CONNECTED, DISCONNECTED, HANDSHAKE_DONE, LOAD_FAILED, LOADING, Frame
from .wire import decode

CANCELED = 'canceled by Chromium: the GET answered an HTTP error or was aborted (CDP does not give the status)'


class CdpTranslator:
    """Applies CDP events to ``window`` (a ``ChromiumWindow``, typed ``Any`` so that this part does not import its
    facade; see the module table). ``apply(method, params, wall_ns)`` per event."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.document_request: Optional[str] = None
        self.socket_request: Optional[str] = None
        self.handshake_ack: Optional[int] = None
        self.implicit = False
        self.pending_downloads: dict[str, dict[str, Any]] = {}
        #: ``update`` payloads of the current page, re-applied once its HTML was parsed (``ChromiumWindow``)
        self.page_updates: list[dict[str, Any]] = []
        #: perf_counter_ns bracket of the last ``driver.get`` (for the clock check), cleared once used
        self.bracket: Optional[tuple[int, int]] = None

    def _t(self, params: dict[str, Any], wall_ns: int) -> int:
        stamp = params.get('timestamp')
        if isinstance(stamp, (int, float)):
            return self.window.clock.to_ns(stamp)
        return wall_ns - self.window.wall_offset_ns

    def apply(self, method: str, params: dict[str, Any], wall_ns: int) -> None:
        """Apply one CDP event. Unknown methods are ignored; never raises for odd params."""
        handler = _HANDLERS.get(method)
        if handler is not None:
            handler(self, params, self._t(params, wall_ns))

    # ---- the page --------------------------------------------------------------------------------------------
    def _request(self, params: dict[str, Any], t_ns: int) -> None:
        request = params.get('request') or {}
        url = str(request.get('url', ''))
        if params.get('type') != 'Document' or not url.startswith('http') or params.get('requestId') != params.get(
                'loaderId'):
            return
        w = self.window
        if self.bracket is not None:
            w.clock.check(params.get('timestamp', 0.0), *self.bracket, window=w.name)
            self.bracket = None
            t_ns = self._t(params, 0)
        self.document_request, self.page_updates = params.get('requestId'), []
        w.url, w.state, w.elements, w.client_id, w.sid, w.page_error = url, LOADING, {}, None, None, None
        w.history.append(url)
        w.record('page_get_sent', t_ns, url=url)

    def _response(self, params: dict[str, Any], t_ns: int) -> None:
        if params.get('requestId') != self.document_request:
            return
        w = self.window
        response = params.get('response') or {}
        w.page_status = int(response.get('status') or 0)
        w.record('page_get_answered', t_ns, url=response.get('url', w.url), status=w.page_status)
        if w.page_status != 200:
            w.state, w.page_error = LOAD_FAILED, f'HTTP {w.page_status}'
            w.record('page_load_failed', t_ns, url=w.url, error=w.page_error)
        else:
            w.page_loaded_ns, w.needs_page_source = t_ns, True

    def _failed(self, params: dict[str, Any], t_ns: int) -> None:
        if params.get('requestId') == self.document_request and self.window.state == LOADING:
            w = self.window
            w.state, w.page_error = LOAD_FAILED, str(params.get('errorText') or 'failed')
            w.record('page_load_failed', t_ns, url=w.url, error=w.page_error)

    # ---- the socket ------------------------------------------------------------------------------------------
    def _socket_open(self, params: dict[str, Any], t_ns: int) -> None:
        w = self.window
        self.socket_request, self.handshake_ack = params.get('requestId'), None
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(w.socket_urls.get(self.socket_request, '')).query)
        self.implicit = query.get('implicit_handshake', [''])[0] == 'true'
        w.record('socket_connected_client', t_ns, status=(params.get('response') or {}).get('status'))
        w.state = CONNECTED

    def _socket_created(self, params: dict[str, Any], t_ns: int) -> None:
        self.window.socket_urls[params.get('requestId')] = str(params.get('url', ''))

    def _socket_closed(self, params: dict[str, Any], t_ns: int) -> None:
        w = self.window
        if params.get('requestId') != self.socket_request:
            return
        self.socket_request = None
        w.record('disconnect_client', t_ns, by='closed')
        if w.state != LOADING:
            w.state = DISCONNECTED

    def _frame(self, params: dict[str, Any], t_ns: int, direction: str) -> None:
        if params.get('requestId') != self.socket_request:
            return
        packet = decode(str((params.get('response') or {}).get('payloadData', '')))
        if packet is None:
            return
        w = self.window
        if packet.kind == 'connect' and direction == 'received':
            w.sid = (packet.data or {}).get('sid') if isinstance(packet.data, dict) else None
            if self.implicit:
                self._acked(t_ns, True, implicit=True)
        elif packet.kind == 'connect_error' and direction == 'received':
            w.frames.append(Frame(t_ns, direction, 'connect_error', packet.data))
            self._acked(t_ns, False, implicit=True, message=str((packet.data or {}).get('message', ''))[:200]
                        if isinstance(packet.data, dict) else '')
        elif packet.kind == 'ack' and direction == 'received' and packet.ack_id == self.handshake_ack:
            self.handshake_ack = None
            self._acked(t_ns, bool(packet.data and packet.data[0]))
        elif packet.event is not None:
            w.frames.append(Frame(t_ns, direction, packet.event, packet.payload))
            (self._sent if direction == 'sent' else self._received)(packet.event, packet.payload, packet.ack_id, t_ns)

    def _acked(self, t_ns: int, ok: bool, **detail: Any) -> None:
        w = self.window
        w.record('handshake_acked', t_ns, ok=ok, **detail)
        if ok:
            w.state = HANDSHAKE_DONE
        else:
            w.handshakes_rejected += 1

    def _sent(self, event: str, payload: Any, ack_id: Optional[int], t_ns: int) -> None:
        w = self.window
        data = payload if isinstance(payload, dict) else {}
        if event == 'handshake':
            self.handshake_ack = ack_id
            w.tab_id, w.document_id = str(data.get('tab_id') or w.tab_id), data.get('document_id')
            w.record('handshake_sent', t_ns, document_id=w.document_id)
        elif event == 'event':
            w.clicks += 1
            element = data.get('id')
            w.record('event_sent', t_ns, element=element, label=el.label_of(w.elements.get(str(element), {})),
                     listener=data.get('listener_id'))
        elif event == 'ack':
            w.acks_sent += 1

    def _received(self, event: str, payload: Any, _ack: Optional[int], t_ns: int) -> None:
        w = self.window
        data = payload if isinstance(payload, dict) else {}
        if isinstance(data.get('_id'), int):
            if data['_id'] < w.next_message_id:
                w.record('message_dropped', t_ns, event=event, message_id=data['_id'],
                         next_message_id=w.next_message_id)
                return
            w.next_message_id = data['_id'] + 1
        if event == 'update':
            self.page_updates.append(data)
            w.record('update_received', t_ns, elements=el.apply_update(w.elements, data))
        elif event == 'download':
            w.download_events += 1
            w.record('download_event', t_ns, src=str(data.get('src'))[:300], filename=data.get('filename'))
        elif event == 'notify':
            w.notifications.append(str(data.get('message')))
            w.record('notify_received', t_ns, message=str(data.get('message'))[:200])

    # ---- downloads -------------------------------------------------------------------------------------------
    def _download_begins(self, params: dict[str, Any], t_ns: int) -> None:
        self.pending_downloads[str(params.get('guid'))] = {
            'url': str(params.get('url', '')), 'filename': str(params.get('suggestedFilename') or 'download')}
        self.window.record('download_get_sent', t_ns, url=str(params.get('url', '')))

    def _download_progress(self, params: dict[str, Any], t_ns: int) -> None:
        state = params.get('state')
        if state not in ('completed', 'canceled'):
            return
        pending = self.pending_downloads.pop(str(params.get('guid')), None)
        if pending is None:
            return
        w = self.window
        t_ms = (t_ns - w.timeline.t0_ns) / 1e6
        if state == 'completed':
            body = w.downloaded_bytes(pending['filename'])
            download = Download(pending['filename'], pending['url'], 200, int(params.get('receivedBytes') or 0),
                                hashlib.sha256(body).hexdigest() if body is not None else '', t_ms)
        else:
            download = Download(pending['filename'], pending['url'], 0, 0, '', t_ms, error=CANCELED)
        w.downloads.append(download)
        w.record('download_get', t_ns, filename=download.filename, status=download.status, bytes=download.bytes,
                 sha256=download.sha256[:16], **({'error': download.error} if download.error else {}))


_HANDLERS = {
    'Network.requestWillBeSent': CdpTranslator._request,
    'Network.responseReceived': CdpTranslator._response,
    'Network.loadingFailed': CdpTranslator._failed,
    'Network.webSocketCreated': CdpTranslator._socket_created,
    'Network.webSocketHandshakeResponseReceived': CdpTranslator._socket_open,
    'Network.webSocketClosed': CdpTranslator._socket_closed,
    'Network.webSocketFrameSent': lambda self, p, t: self._frame(p, t, 'sent'),
    'Network.webSocketFrameReceived': lambda self, p, t: self._frame(p, t, 'received'),
    'Page.downloadWillBegin': CdpTranslator._download_begins,
    'Page.downloadProgress': CdpTranslator._download_progress,
}
