"""Server messages a window follows, as NiceGUI 3.18.0 ``nicegui/static/nicegui.js`` ``messageHandlers`` does.

========================  =========================================================================================
message                   what the window does
========================  =========================================================================================
``update``                applies the elements (``preserved_props`` kept, :func:`.elements.apply_update`)
``download``              fetches ``src`` (:mod:`.downloads`)
``notify``                keeps the message in ``notifications``
``open``                  ``{path, new_tab}``: navigates there (``prefix`` before a path starting with ``/``); with
                          ``new_tab`` the window's ``on_new_tab(url)`` opens it (the lab opens a new window), else
                          the URL is only recorded in ``new_tabs``
``run_javascript``        the navigation codes of ``ui.navigate.reload/back/forward`` and ``ui.navigate.history``
                          are followed; other code is answered by a JavaScript rule (``javascript_response`` when
                          it has a ``request_id``) or recorded as unanswered (:mod:`.scripts`)
``try_reconnect``         reloads the page (nicegui.js fetches the page first, then reloads)
``load_js_components``    recorded as ignored: a simulated window loads no Vue components
anything else             recorded as ignored with its name
========================  =========================================================================================

Ignored messages are counted in ``window.ignored`` (event name → count), marked ``note='ignored: <why>'`` in the
window's frames (the frame inspector shows it) and stamped ``message_ignored`` on the timeline (the report).
"""
from __future__ import annotations

import urllib.parse
from typing import Any

from . import elements as el
from .scripts import navigation_of
from .state import WindowView

HANDLED = ('update', 'download', 'notify', 'open', 'run_javascript', 'try_reconnect')
"""Messages the window follows."""
IGNORED_REASONS = {'load_js_components': 'a simulated window loads no Vue components'}


def ignore(window: WindowView, event: str, why: str) -> None:
    """Record ``event`` as ignored: count, frame note, timeline ``message_ignored``."""
    window.ignored[event] = window.ignored.get(event, 0) + 1
    if window.frames and window.frames[-1].event == event and window.frames[-1].direction == 'received':
        window.frames[-1].note = f'ignored: {why}'
    window.ports.record('message_ignored', event=event, reason=why)


def page_url(window: WindowView, path: str) -> str:
    """nicegui.js ``open``: ``prefix + path`` for a path starting with ``/``, else the URL as given (resolved
    against the current page)."""
    return urllib.parse.urljoin(window.url or '', window.prefix + path if path.startswith('/') else path)


def dispatch(window: WindowView, event: str, payload: Any) -> None:
    """Handle one server message that passed the ``_id`` check (see the module table). Never raises for a
    malformed payload: it is recorded as ignored."""
    if event == 'download' and isinstance(payload, dict) and window.ports.closing():
        window.ports.record('download_ignored', reason='the window is closing')  # no fetch on a closing session
    elif event == 'download' and isinstance(payload, dict):
        window.download_events += 1
        window.ports.record('download_event', src=str(payload.get('src'))[:300], filename=payload.get('filename'))
        window.ports.tasks.spawn(window.ports.fetch_download(payload), name=f'{window.name} download')
    elif event == 'update' and isinstance(payload, dict):
        count = el.apply_update(window.elements, payload)
        window.ports.record('update_received', elements=count)
    elif event == 'notify' and isinstance(payload, dict):
        window.notifications.append(str(payload.get('message')))
        window.ports.record('notify_received', message=str(payload.get('message'))[:200])
    elif event == 'open' and isinstance(payload, dict) and isinstance(payload.get('path'), str):
        _open(window, page_url(window, payload['path']), bool(payload.get('new_tab')))
    elif event == 'run_javascript' and isinstance(payload, dict) and isinstance(payload.get('code'), str):
        _run_javascript(window, payload['code'], payload.get('request_id'))
    elif event == 'try_reconnect':
        window.ports.record('try_reconnect_received')
        window.ports.tasks.spawn(window.reload(wait=False), name=f'{window.name} reload')
    else:
        why = 'malformed payload' if event in HANDLED else IGNORED_REASONS.get(
            event, 'not a message nicegui.js 3.18.0 handles')
        ignore(window, event, why)
    window.ports.changed()


def _open(window: WindowView, url: str, new_tab: bool) -> None:
    window.ports.record('open_received', url=url, new_tab=new_tab)
    if new_tab:
        window.new_tabs.append(url)
        if window.on_new_tab is not None:
            window.on_new_tab(url)
        return
    window.ports.tasks.spawn(window.navigate(url, wait=False), name=f'{window.name} open')


def _run_javascript(window: WindowView, code: str, request_id: Any) -> None:
    navigation = navigation_of(code)
    if navigation is not None:
        action, url = navigation
        window.ports.record('navigation_received', action=action, url=url)
        if action == 'reload':
            window.ports.tasks.spawn(window.reload(wait=False), name=f'{window.name} reload')
        elif action in ('back', 'forward'):
            window.ports.tasks.spawn(window.go_history(-1 if action == 'back' else 1), name=f'{window.name} {action}')
        else:  # history.pushState / replaceState: the URL changes, the page stays
            window.set_history_url(page_url(window, url or ''), replace=action == 'replace')
        return
    matched, result = window.javascript_rules.answer(code)
    record = {'code': code[:500], 'request_id': request_id, 'answered': matched, 'result': result}
    window.javascript_requests.append(record)
    if not matched:
        window.ports.record('javascript_unanswered', code=code[:300], request_id=request_id)
        if window.frames and window.frames[-1].event == 'run_javascript':
            window.frames[-1].note = 'unanswered: no JavaScript rule matches'
        return
    window.ports.record('javascript_answered', code=code[:300], request_id=request_id, result=repr(result)[:200])
    if request_id is not None:  # nicegui.js runJavascript: answer only awaited calls
        response = {'request_id': request_id, 'client_id': window.client_id, 'result': result}
        window.ports.tasks.spawn(window.emit_raw('javascript_response', response), name=f'{window.name} js response')
