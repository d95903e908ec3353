"""The server side of a real NiceGUI app on clientsim's clock: the receiver of the injected probe.

:func:`probe_env` gives the environment that injects ``inject/sitecustomize.py`` into an app clientsim starts;
:class:`ProbeReceiver` listens on 127.0.0.1, puts every probe event on the :class:`~simulator.timeline.Timeline`
with ``source = SERVER`` and the embedded server's event kinds (``socket_connected_server``,
``handshake_handled``, ``event_handled``, ``disconnect_server``, ``client_created``, ``client_deleted``,
``prune``, ``download_emitted``, ``server_error``, ``model_finalized``), so lanes, measurements and reports treat
both servers alike. It also counts what server-side expectations need (errors by type, clients alive, models
finalized) and asks the app for ``gc.collect()`` (:meth:`ProbeReceiver.gc`). Stdlib and asyncio only; no Qt.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any, Optional

from ..event_kinds import KIND_VALUES as PROBE_KINDS  # a probe line's kind must be a recorded kind
from ..tasks import wait_for
from ..timeline import SERVER, Timeline, now_ns

INJECT_DIR = Path(__file__).resolve().parent / 'inject'
"""The folder put first on the app's ``PYTHONPATH`` (it holds the probe's ``sitecustomize.py``)."""

PROBE_ENV = 'CLIENTSIM_PROBE'
"""Environment variable telling the injected probe where to connect (``127.0.0.1:PORT``)."""
PROBE_TOKEN_ENV = 'CLIENTSIM_PROBE_TOKEN'
"""The per-run secret the app's probe sends as its first line (issue 20, item 1): a local process that reaches
the receiver first cannot inject events or answer ``gc`` requests."""
TOKEN_TIMEOUT_S = 5.0
"""Seconds a connection may take to send the token line before it is refused."""

MAX_CLOCK_SKEW_NS = 5_000_000_000
"""A hello stamped later than its arrival, or more than 5 s earlier, means the app's clock is not clientsim's."""


def probe_env(env: dict[str, str], address: str, token: str = '') -> dict[str, str]:
    """``env`` with the probe injected: :data:`INJECT_DIR` first on ``PYTHONPATH`` (the existing entries kept, so
    the probe chains to any ``sitecustomize`` they hold), :data:`PROBE_ENV` set to ``address`` and
    :data:`PROBE_TOKEN_ENV` to the receiver's ``token``."""
    path = env.get('PYTHONPATH')
    return {**env, 'PYTHONPATH': os.pathsep.join([str(INJECT_DIR), *([path] if path else [])]), PROBE_ENV: address,
            PROBE_TOKEN_ENV: token}


class ProbeReceiver:
    """Receives one app's probe events (JSON lines over TCP) and records them on ``timeline``.

    ``await start()`` → the ``host:port`` to pass to the app; ``installed`` is True once the app said hello with a
    plausible clock and NiceGUI was hooked; ``reason`` says why not otherwise. Counters: ``errors`` (the
    ``server_error`` events as report dicts), ``clients`` (client_id → shared, alive ones), ``models_finalized``.
    """

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.hello: Optional[dict[str, Any]] = None
        self.hooked: Optional[dict[str, Any]] = None
        self.problems: list[str] = []
        self.errors: list[dict[str, Any]] = []
        self.clients: dict[str, bool] = {}
        self.models_finalized = 0
        #: client_id → {sid: document_id} of handshakes Client.handle_handshake counted and handle_disconnect did not
        self.handshaken: dict[str, dict[str, Optional[str]]] = {}
        self._server: Optional[asyncio.AbstractServer] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._replies: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._handlers: set[asyncio.Task] = set()
        #: the per-run secret (:data:`PROBE_TOKEN_ENV`): a connection whose first line is not it is refused
        self.token = secrets.token_urlsafe(16)
        #: connections refused for a wrong or missing token (each also a ``probe_refused`` event)
        self.refused = 0

    @property
    def installed(self) -> bool:
        """Whether the probe runs in the app: it connected, its clock is clientsim's, NiceGUI's server is hooked."""
        return self.hello is not None and self.hooked is not None and not self.problems

    @property
    def reason(self) -> Optional[str]:
        """Why the probe is not installed (None when it is)."""
        if self.problems:
            return '; '.join(self.problems)
        if self.hello is None:
            return ('the probe never connected (the app did not load sitecustomize: started with python -I/-S, '
                    'PYTHONPATH replaced, or not a Python process)')
        if self.hooked is None:
            return 'the probe connected but NiceGUI was not hooked (nicegui.nicegui not imported)'
        return None

    async def start(self) -> str:
        """Listen on a free port of 127.0.0.1; returns ``'127.0.0.1:PORT'``."""
        self._server = await asyncio.start_server(self._accept, '127.0.0.1', 0)
        port = self._server.sockets[0].getsockname()[1]
        return f'127.0.0.1:{port}'

    async def stop(self) -> None:
        """Stop listening and close the connection (safe to call twice)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        for future in self._replies.values():
            future.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            try:
                first = await wait_for(reader.readline(), TOKEN_TIMEOUT_S)
            except (asyncio.TimeoutError, ValueError, ConnectionError):
                first = b''
            if not hmac.compare_digest(first.strip(), self.token.encode()):
                self.refused += 1
                self.timeline.record(SERVER, 'probe_refused', peer=str(writer.get_extra_info('peername')),
                                     reason='no token' if not first.strip() else 'wrong token')
                writer.close()
                return
            if self._writer is not None:  # one app, one probe: later connections (the app's children) are refused
                writer.close()
                return
            self._writer = writer
            while line := await reader.readline():
                self._on_line(line)
        except (ConnectionError, ValueError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._handlers.discard(task)

    def _on_line(self, line: bytes) -> None:
        """One JSON line of the probe; anything malformed is a ``bad_probe_line`` event, and reading goes on."""
        try:
            event = json.loads(line)
            if not isinstance(event, dict) or not isinstance(event.get('kind'), str):
                raise ValueError('not an object with a kind')
            if event['kind'] not in PROBE_KINDS:
                raise ValueError(f"unknown kind {event['kind'][:40]!r}")
            self._on_event(event)
        except Exception as e:  # noqa: BLE001  (any line: the receiver must survive it)
            self.problems.append(f'bad probe line {line[:100]!r}: {e}')
            self.timeline.record(SERVER, 'bad_probe_line', line=line[:200].decode('utf-8', 'replace'),
                                 reason=str(e)[:200])

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.pop('kind')
        t_ns = int(event.pop('t_ns'))
        sid, client_id, window = event.pop('sid', None), event.pop('client_id', None), event.pop('window', None)
        if kind == 'probe_hello':
            skew_ns = now_ns() - t_ns
            if not 0 <= skew_ns <= MAX_CLOCK_SKEW_NS:
                self.problems.append(f'the app clock is not clientsim clock (hello arrived {skew_ns / 1e6:.1f} ms '
                                     'after it was sent)')
            self.hello = event
        elif kind == 'probe_hooked':
            self.hooked = event
        elif kind == 'gc_done':
            future = self._replies.pop(event.get('reply'), None)
            if future is not None and not future.done():
                future.set_result(event.get('collected'))
        elif kind == 'server_error':
            self.errors.append({'type': event.get('type'), 'message': event.get('message'),
                                'where': event.get('where'), 'chain': event.get('chain'),
                                'traceback': event.get('traceback'), 't_ns': t_ns, 'sid': sid,
                                'client_id': client_id})
        elif kind == 'client_created' and client_id:
            self.clients[client_id] = bool(event.get('shared'))
        elif kind == 'client_deleted' and client_id:
            self.clients.pop(client_id, None)
            self.handshaken.pop(client_id, None)
        elif kind == 'client_handshake' and client_id and sid:
            self.handshaken.setdefault(client_id, {})[sid] = event.get('document_id')
        elif kind == 'client_disconnect' and client_id and sid:
            self.handshaken.get(client_id, {}).pop(sid, None)
        elif kind == 'model_finalized':
            self.models_finalized += 1
        self.timeline.record(SERVER, kind, window=window, sid=sid, client_id=client_id, t_ns=t_ns, probe=True,
                             **event)

    def pinned(self) -> list[dict[str, Any]]:
        """Clients alive in the app whose counted handshakes were never disconnected, once every window closed
        (problem 6): ``[{client_id, connections: {document_id: n}, stale_sids: [sid, ...]}]``, the shape of
        :func:`clientsim.simulator.checks.pinned_clients`. Read after the windows closed and the app settled: a
        socket still open also counts here."""
        pinned = []
        for client_id, sids in self.handshaken.items():
            if client_id in self.clients and not self.clients[client_id] and sids:
                connections: dict[str, int] = {}
                for document_id in sids.values():
                    connections[str(document_id)] = connections.get(str(document_id), 0) + 1
                pinned.append({'client_id': client_id, 'connections': connections, 'stale_sids': list(sids)})
        return pinned

    def error_counts(self) -> dict[str, int]:
        """Exceptions the app logged, by type name (one per logged exception; its chain is in ``chain``)."""
        counts: dict[str, int] = {}
        for e in self.errors:
            counts[e['type']] = counts.get(e['type'], 0) + 1
        return counts

    async def gc(self, timeout_s: float = 10.0) -> int:
        """Run ``gc.collect()`` in the app and wait for it (the finalizers' events arrive first); returns what
        ``gc.collect()`` returned. Raises RuntimeError when the probe is not connected or does not answer within
        ``timeout_s`` **seconds**."""
        if self._writer is None:
            raise RuntimeError(f'gc in the app needs the probe: {self.reason or "it is not connected"}')
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._replies[self._next_id] = future
        self._writer.write((json.dumps({'op': 'gc', 'id': self._next_id}) + '\n').encode())
        await self._writer.drain()
        try:
            return await wait_for(future, timeout_s)
        except asyncio.TimeoutError:
            raise RuntimeError(f'the app did not answer gc within {timeout_s} s') from None

    def describe(self) -> dict[str, Any]:
        """JSON-safe summary for reports: ``installed``, ``reason``, ``hooks``, ``nicegui``, ``pid``."""
        return {'installed': self.installed, 'reason': self.reason,
                'hooks': (self.hooked or {}).get('hooks'), 'nicegui': (self.hooked or {}).get('nicegui'),
                'pid': (self.hello or {}).get('pid')}
