"""Save and load a live session as JSON (File ▸ Save session… / Open session…), and the recent-files list.

The file holds what reopens the same view: the session's title and verdict, the policy in force, every open
window (name, page, latency in ms) and the timeline (its events with ``t_ms`` since the session's t = 0,
:meth:`~simulator.timeline.TimelineEvent.to_dict`). Loading starts a new session (the current one goes to the
run list) whose timeline holds the saved events, sets the policy on the live server and reopens the windows
with their latencies (they connect anew; their new events follow the saved ones on the same axis).
"""
from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from clientsim.simulator.browser import Latency
from clientsim.simulator.errors import BadInputError
from clientsim.simulator.timeline import TimelineEvent, now_ns

FORMAT = 'clientsim-session'
VERSION = 1
#: how many recent files the File menu lists
MAX_RECENT = 8


class SessionFileError(BadInputError):
    """A session file that cannot be read: the message names the file and what is wrong."""


def session_dict(main: Any) -> dict[str, Any]:
    """The JSON-safe session of main window ``main`` (see the module docstring)."""
    windows = []
    for name, window in main.windows.items():
        browser = window.browser
        path = urllib.parse.urlsplit(browser.url).path if browser.url else '/'
        lat = browser.latency
        windows.append({'name': name, 'page': path or '/', 'latency_ms': {
            'page_get_ms': lat.page_get_ms, 'handshake_ms': lat.handshake_ms, 'download_ms': lat.download_ms}})
    return {'format': FORMAT, 'version': VERSION, 'title': main.session_title, 'verdict': main.session_verdict,
            'policy': main.server.policy.model_dump(mode='json'), 'windows': windows,
            'events': main.timeline.to_dicts()}


def save_session(main: Any, path: str | Path) -> None:
    """Write the session of ``main`` to ``path`` (JSON). Raises OSError."""
    Path(path).write_text(json.dumps(session_dict(main), indent=1, default=str), encoding='utf-8')


def read_session(path: str | Path) -> dict[str, Any]:
    """The session dict in ``path``. Raises :class:`SessionFileError` (not JSON, not a clientsim session)."""
    try:
        data = json.loads(Path(path).read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SessionFileError(f'{path}: cannot read the session: {e}') from None
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise SessionFileError(f"{path}: not a clientsim session file (no \"format\": \"{FORMAT}\")")
    for key, kind in (('windows', list), ('events', list), ('policy', dict)):
        if not isinstance(data.get(key), kind):
            raise SessionFileError(f'{path}: "{key}" must be a {kind.__name__}')
    return data


def load_session(main: Any, path: str | Path) -> dict[str, Any]:
    """Reopen the session in ``path`` in ``main``: close its windows, start a session with the saved events,
    set the saved policy, reopen the windows. Returns the session dict. Raises :class:`SessionFileError`
    (pydantic's ValidationError is turned into it for a bad policy)."""
    from pydantic import ValidationError
    data = read_session(path)
    try:
        policy = type(main.server.policy).model_validate(data['policy'])
    except ValidationError as e:
        raise SessionFileError(f'{path}: policy: {e.errors()[0]["msg"]}') from None
    main.new_session(f'{data.get("title") or "session"} (loaded from {Path(path).name})')
    main.session_verdict = str(data.get('verdict') or '')
    timeline = main.timeline
    end_ms = max((float(e.get('t_ms', 0)) for e in data['events']), default=0.0)
    timeline.t0_ns = now_ns() - int(end_ms * 1e6) - 1_000_000  # the saved events end 1 ms before now
    timeline.events.extend(
        TimelineEvent(timeline.t0_ns + int(float(e.get('t_ms', 0)) * 1e6), str(e.get('source', '')),
                      str(e.get('kind', '')), e.get('window'), e.get('sid'), e.get('client_id'),
                      dict(e.get('detail') or {}))
        for e in data['events'] if isinstance(e, dict))
    main.show_timeline(timeline)  # the views fold the saved events
    main.server.policy = policy
    main.policy_panel.refresh()
    for w in data['windows']:
        latency = Latency(**{k: float(v) for k, v in (w.get('latency_ms') or {}).items()})
        main.open_window(str(w.get('page') or '/'), str(w['name']), latency, fresh_session=False)
    main.set_verdict_text(main.session_verdict)
    return data


def _settings() -> QSettings:
    return QSettings('clientsim', 'clientsim')


def recent_files() -> list[str]:
    """Recently opened scenario and session files, newest first (only those that still exist)."""
    value = _settings().value('recent_files', [])
    files = [value] if isinstance(value, str) else list(value or [])
    return [f for f in files if Path(f).exists()][:MAX_RECENT]


def add_recent(path: str | Path) -> None:
    """Put ``path`` on top of the recent files."""
    path = str(Path(path).resolve())
    _settings().setValue('recent_files', [path] + [f for f in recent_files() if f != path][:MAX_RECENT - 1])
