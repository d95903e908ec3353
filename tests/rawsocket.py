"""A raw socket.io v5 / engine.io v4 client over a real websocket (aiohttp), for tests that send what no
well-behaved client sends: any frame text, events with any arguments, forged ``connect``/``disconnect`` events.

``sock = await RawSocket.connect(base_url, client_id=...)`` opens the websocket, answers engine.io's open packet
with a socket.io CONNECT (``40``) and waits for the server's ``40{"sid": ...}``; ``sock.sid`` is the socket.io sid.
``await sock.emit(event, *args, ack=True)`` sends ``42[event, *args]`` (with an ack id and waits for the ack
when ``ack``); ``await sock.send(text)`` sends a raw frame. Pings (``2``) are answered while reading.
"""
from __future__ import annotations

import asyncio
import json
import urllib.parse
from typing import Any, Optional

import aiohttp

from clientsim.server.wire import SOCKETIO_PATH
from clientsim.simulator.browser.page import parse_page


class RawSocket:
    """One raw socket.io connection (see the module docstring)."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session, self.ws = session, ws
        self.sid: Optional[str] = None
        self._ack_id = 0
        self.frames: list[str] = []

    @classmethod
    async def connect(cls, base_url: str, *, client_id: str = 'unknown', headers: Optional[dict] = None,
                      session: Optional[aiohttp.ClientSession] = None) -> 'RawSocket':
        """Open a socket (query ``client_id``); raises aiohttp.WSServerHandshakeError when the server refuses."""
        own = session is None
        session = session or aiohttp.ClientSession()
        query = urllib.parse.urlencode({'client_id': client_id, 'EIO': '4', 'transport': 'websocket'})
        try:
            ws = await session.ws_connect(f'{base_url}{SOCKETIO_PATH}/?{query}', headers=headers or {})
        except Exception:
            if own:
                await session.close()
            raise
        sock = cls(session, ws)
        sock._own_session = own
        opened = await sock._read()
        assert opened.startswith('0'), opened
        await ws.send_str('40')
        connected = await sock._read()
        assert connected.startswith('40'), connected
        sock.sid = json.loads(connected[2:])['sid']
        return sock

    async def _read(self, timeout_s: float = 5.0) -> str:
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), timeout_s)
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise ConnectionError(f'socket closed: {msg.type}')
            if msg.data == '2':  # engine.io ping
                await self.ws.send_str('3')
                continue
            self.frames.append(msg.data)
            return msg.data

    async def send(self, text: str) -> None:
        """Send one raw engine.io frame (e.g. ``'42["event",1,2]'``)."""
        await self.ws.send_str(text)

    async def emit(self, event: Any, *args: Any, ack: bool = False, timeout_s: float = 5.0) -> Any:
        """Send ``42[event, *args]``; with ``ack`` wait for the ack and return its arguments (a list)."""
        if not ack:
            await self.send('42' + json.dumps([event, *args]))
            return None
        self._ack_id += 1
        await self.send(f'42{self._ack_id}' + json.dumps([event, *args]))
        prefix = f'43{self._ack_id}'
        while True:
            frame = await self._read(timeout_s)
            if frame.startswith(prefix):
                return json.loads(frame[len(prefix):])

    async def handshake(self, client_id: str, document_id: str = 'doc', ack: bool = True) -> Any:
        """NiceGUI 2.x's handshake for ``client_id``; returns the ack's first value (True/False)."""
        result = await self.emit('handshake', {'client_id': client_id, 'tab_id': 'tab', 'document_id': document_id,
                                               'next_message_id': 0}, ack=ack)
        return result[0] if result else result

    async def close(self) -> None:
        """Close the websocket (and the session it opened)."""
        await self.ws.close()
        if getattr(self, '_own_session', False):
            await self.session.close()


async def page_client_id(base_url: str, path: str = '/private',
                         session: Optional[aiohttp.ClientSession] = None) -> str:
    """GET ``path`` and return the client_id rendered into the page."""
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        async with session.get(base_url + path) as response:
            return parse_page(await response.text())['client_id']
    finally:
        if own:
            await session.close()
