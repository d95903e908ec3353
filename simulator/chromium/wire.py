"""Socket.io text frames as a browser's websocket carries them: :func:`decode` one engine.io text frame into a
:class:`SioPacket`. Used on the frames CDP reports for a Chromium window and on the frames the recorder's proxy
sees (:mod:`clientsim.simulator.record`).

The format is engine.io v4 / socket.io v5 (python-engineio 4, python-socketio 5, socket.io-client 4 in
nicegui.js): an engine.io packet type digit (``0`` open, ``2`` ping, ``3`` pong, ``4`` message …); a message holds a
socket.io packet: a type digit (``0`` CONNECT, ``1`` DISCONNECT, ``2`` EVENT, ``3`` ACK, ``4`` CONNECT_ERROR,
``5``/``6`` binary), an optional ``/namespace,``, an optional ack id (digits) and JSON. Examples from NiceGUI
2.11.0 in Chromium: ``420["handshake",{...}]`` (EVENT with ack id 0), ``430[true]`` (its ACK), ``40{"sid":"…"}``
(CONNECT answered), ``44{"message":"Implicit handshake failed"}`` (NiceGUI 3.7+ refusing a handshake).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Optional

SIO_KINDS = {'0': 'connect', '1': 'disconnect', '2': 'event', '3': 'ack', '4': 'connect_error',
             '5': 'binary_event', '6': 'binary_ack'}
_PACKET_RE = re.compile(r'^4([0-6])(?:-?\d+-)?(/[^,]*,)?(\d+)?(.*)$', re.S)


@dataclass
class SioPacket:
    """One socket.io packet: ``kind`` (a :data:`SIO_KINDS` value), ``ack_id`` (int or None), ``data`` (decoded
    JSON, None when absent or not JSON) and ``namespace`` (``/`` by default)."""
    kind: str
    ack_id: Optional[int]
    data: Any
    namespace: str = '/'

    @property
    def event(self) -> Optional[str]:
        """The event name of an EVENT packet (``handshake``, ``event``, ``update`` …), else None."""
        if self.kind in ('event', 'binary_event') and isinstance(self.data, list) and self.data:
            return str(self.data[0])
        return None

    @property
    def payload(self) -> Any:
        """The first argument of an EVENT (``{...}``), the data of anything else."""
        if self.kind in ('event', 'binary_event') and isinstance(self.data, list):
            return self.data[1] if len(self.data) > 1 else None
        return self.data


def decode(text: str) -> Optional[SioPacket]:
    """The socket.io packet in one engine.io text frame, or None for engine.io's own frames (open, ping, pong,
    noop) and for anything that is not a socket.io message. Never raises."""
    match = _PACKET_RE.match(text or '')
    if match is None:
        return None
    kind, namespace, ack, body = match.groups()
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    return SioPacket(SIO_KINDS[kind], int(ack) if ack else None, data, (namespace or '/,')[:-1] or '/')


def encode(packet: SioPacket) -> str:
    """The engine.io text frame of ``packet`` (inverse of :func:`decode` for JSON data)."""
    kind = next(k for k, v in SIO_KINDS.items() if v == packet.kind)
    namespace = '' if packet.namespace == '/' else packet.namespace + ','
    ack = '' if packet.ack_id is None else str(packet.ack_id)
    body = '' if packet.data is None else json.dumps(packet.data, separators=(',', ':'))
    return f'4{kind}{namespace}{ack}{body}'
