"""The raw recording of a browser session: :class:`Recording`, written as JSON lines next to the generated scenario.

The first line is a header ``{"kind": "recording", "version": 1, "upstream": URL, "proxy": URL}``; every other
line is one :class:`Entry` in the order the proxy saw it, stamped with ``time.perf_counter_ns()`` (``t_ns``) and
the milliseconds since the recording started (``t_ms``). Kinds (the shape shinyloadtest's ``record_session``
uses for Shiny, REQ_GET / WS_OPEN / WS_SEND / WS_RECV / WS_CLOSE, here for NiceGUI's HTTP and socket.io):

=============  ==========================================================================================
``http``       ``method``, ``path`` (with query), ``status``, ``content_type``, ``bytes``; ``body`` (text) for
               an HTML page; ``form`` (``[{name, filename, text}]``) for a multipart upload POST
``ws_open``    ``conn`` (a number), ``path`` (with query: ``client_id``, ``tab_id`` … of that page)
``ws_send``    ``conn``, ``data``: one engine.io text frame the browser sent (``42["event",{…}]``)
``ws_recv``    ``conn``, ``data``: one frame the server sent (``42["update",{…}]``)
``ws_close``   ``conn``, ``by`` (``browser`` or ``server``)
=============  ==========================================================================================

The recording keeps the per-session values (client_id, sid, single-use download URLs …) as they were; the
generated scenario never contains them (:mod:`.generate`). No Qt import here.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Iterable, Optional

from ..errors import BadInputError

VERSION = 1
KINDS = ('http', 'ws_open', 'ws_send', 'ws_recv', 'ws_close')


class RecordingError(BadInputError):
    """A recording file cannot be read (missing, not JSON lines, not a clientsim recording); the message names the
    file and line."""


class Recording:
    """Entries of one session: ``Recording(upstream)``; :meth:`add` appends one (thread-unsafe, called from the
    proxy's event loop), ``on_entry(entry)`` callbacks see each one as it is added (the GUI's live step list).
    :meth:`write` saves it as JSON lines, :meth:`read` loads a file."""

    def __init__(self, upstream: str = '', proxy: str = '') -> None:
        self.upstream, self.proxy = upstream, proxy
        self.t0_ns = time.perf_counter_ns()
        self.entries: list[dict[str, Any]] = []
        self.on_entry: list[Any] = []

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Append ``{t_ns, t_ms, kind, **fields}`` stamped now (``perf_counter_ns``); returns it."""
        t_ns = time.perf_counter_ns()
        entry = {'t_ns': t_ns, 't_ms': round((t_ns - self.t0_ns) / 1e6, 3), 'kind': kind, **fields}
        self.entries.append(entry)
        for callback in list(self.on_entry):
            try:
                callback(entry)
            except Exception:  # noqa: BLE001 - a viewer's error never ends the recording
                pass
        return entry

    def header(self) -> dict[str, Any]:
        """The first line of the file."""
        return {'kind': 'recording', 'version': VERSION, 'upstream': self.upstream, 'proxy': self.proxy,
                't0_ns': self.t0_ns}

    def lines(self) -> Iterable[str]:
        """The file's lines (JSON, no newline)."""
        yield json.dumps(self.header())
        for entry in self.entries:
            yield json.dumps(entry, ensure_ascii=False)

    def write(self, path: str | Path) -> None:
        """Write the JSON lines to ``path`` (replacing it; the caller checks for existing files). Raises OSError."""
        Path(path).write_text('\n'.join(self.lines()) + '\n', encoding='utf-8')

    @classmethod
    def read(cls, path: str | Path) -> Recording:
        """Load a file :meth:`write` wrote. Raises :class:`RecordingError` naming the file and line."""
        path = Path(path)
        try:
            text = path.read_text(encoding='utf-8')
        except (OSError, UnicodeDecodeError) as e:
            raise RecordingError(f'{path}: cannot read the recording: {e}') from None
        recording: Optional[Recording] = None
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as e:
                raise RecordingError(f'{path}:{number}: not JSON: {e}') from None
            if not isinstance(item, dict):
                raise RecordingError(f'{path}:{number}: a line must be a JSON object')
            if recording is None:
                if item.get('kind') != 'recording':
                    raise RecordingError(f'{path}:{number}: not a clientsim recording (no header line)')
                recording = cls(str(item.get('upstream', '')), str(item.get('proxy', '')))
                recording.t0_ns = int(item.get('t0_ns') or 0)
                continue
            if item.get('kind') not in KINDS or not isinstance(item.get('t_ns'), int):
                raise RecordingError(f'{path}:{number}: unknown entry (kind {item.get("kind")!r})')
            recording.entries.append(item)
        if recording is None:
            raise RecordingError(f'{path}: empty recording')
        return recording
