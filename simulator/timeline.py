"""One clock for the whole process: every server and window event is a :class:`TimelineEvent`.

The embedded server and every simulated browser live in one process and stamp their events with the same
``time.perf_counter_ns()`` (or the loop's virtual clock, :func:`now_ns`), so there is no clock skew between
"handshake sent" (window) and "handshake handled" (server). This module is a leaf: it imports nothing from the
project but the event-kind vocabulary (:mod:`clientsim.simulator.event_kinds`, a leaf too) and no Qt, so
``server/`` may use it too.
"""
from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from typing import Any, Callable, Iterable, Optional

from .event_kinds import KIND_VALUES, EventKind

SERVER = 'server'
"""The ``source`` of events recorded by the embedded server."""

#: every event kind's value (the members of :class:`clientsim.simulator.event_kinds.EventKind`)
KINDS: tuple[str, ...] = tuple(k.value for k in EventKind)

#: reject kinds not in :class:`EventKind` in :meth:`Timeline.record` (``CLIENTSIM_STRICT_EVENT_KINDS=1`` at
#: import; tests/conftest.py sets it for the suite and its subprocesses). Off by default: a library user's
#: recording never fails on a kind.
strict_kinds: bool = os.environ.get('CLIENTSIM_STRICT_EVENT_KINDS', '') not in ('', '0')


class UnknownEventKind(ValueError):
    """A :meth:`Timeline.record` of a kind that is not an :class:`EventKind` member (strict checking only)."""


def now_ns() -> int:
    """The process-wide clock in ns: the running loop's virtual clock when it has one (``virtual_ns()``, see
    :mod:`clientsim.simulator.virtual_time`), else ``time.perf_counter_ns()`` (monotonic)."""
    try:
        clock = getattr(asyncio.get_running_loop(), 'virtual_ns', None)
    except RuntimeError:  # no running loop in this thread
        return time.perf_counter_ns()
    return clock() if clock is not None else time.perf_counter_ns()


def is_virtual_clock() -> bool:
    """Whether the running loop (if any) runs on virtual time (:mod:`clientsim.simulator.virtual_time`)."""
    try:
        return hasattr(asyncio.get_running_loop(), 'virtual_ns')
    except RuntimeError:
        return False


def now_s() -> float:
    """:func:`now_ns` in seconds (float): the server's ``created`` stamps and age checks use it."""
    return now_ns() / 1e9


_KEYS: dict[tuple[str, ...], tuple[str, ...]] = {}
"""One tuple object per distinct ``detail`` key set (a few dozen in a run): events keep only their values."""
_KEYS_MAX = 4096  # key sets beyond this are not shared (a recorder that names keys after its input stays bounded)


class TimelineEvent:
    """One stamped event: ``TimelineEvent(t_ns, source, kind, window=None, sid=None, client_id=None, detail=None)``.

    ``t_ns`` is ``perf_counter_ns()`` at the moment of the event; ``source`` is a window name or ``'server'``;
    ``kind`` is an :class:`~clientsim.simulator.event_kinds.EventKind` value (see :data:`strict_kinds`);
    ``window``/``sid``/``client_id`` name what it is about (``None`` when unknown, e.g. the server cannot tell
    which window a socket belongs to);
    ``detail`` holds JSON-safe extras (status codes, exception text, ...) as a dict made on each read (changing it
    changes nothing). The event keeps the values in a tuple and its key set in a tuple shared by all events with
    the same keys: a page load records ~7 events with extras, and a dict each cost ~1.3 KB per window (issue 24).
    Events compare equal when all fields and the detail are equal.
    """

    __slots__ = ('t_ns', 'source', 'kind', 'window', 'sid', 'client_id', '_keys', '_values')

    def __init__(self, t_ns: int, source: str, kind: str, window: Optional[str] = None, sid: Optional[str] = None,
                 client_id: Optional[str] = None, detail: Optional[dict] = None) -> None:
        self.t_ns, self.source, self.kind = t_ns, source, kind
        self.window, self.sid, self.client_id = window, sid, client_id
        if detail:
            keys = tuple(detail)
            self._keys = _KEYS.setdefault(keys, keys) if len(_KEYS) < _KEYS_MAX else _KEYS.get(keys, keys)
            self._values = tuple(detail.values())
        else:
            self._keys = self._values = ()

    @property
    def detail(self) -> dict[str, Any]:
        """The extras as a new dict (``{}`` when none)."""
        return dict(zip(self._keys, self._values, strict=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TimelineEvent):
            return NotImplemented
        return ((self.t_ns, self.source, self.kind, self.window, self.sid, self.client_id, self.detail)
                == (other.t_ns, other.source, other.kind, other.window, other.sid, other.client_id, other.detail))

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it replaces

    def __repr__(self) -> str:
        return (f'TimelineEvent(t_ns={self.t_ns!r}, source={self.source!r}, kind={self.kind!r}, '
                f'window={self.window!r}, sid={self.sid!r}, client_id={self.client_id!r}, detail={self.detail!r})')

    def to_dict(self, t0_ns: int) -> dict[str, Any]:
        """JSON-safe dict with ``t_ms`` relative to ``t0_ns`` (float, ms)."""
        return {
            't_ms': round((self.t_ns - t0_ns) / 1e6, 3),
            'source': self.source, 'kind': self.kind, 'window': self.window,
            'sid': self.sid, 'client_id': self.client_id, 'detail': self.detail,
        }

    def summary(self) -> str:
        """One human line of ``detail`` for the event log (``key=value`` pairs, tracebacks left out)."""
        return ' '.join(f'{k}={v}' for k, v in zip(self._keys, self._values, strict=True) if k != 'traceback')


class Timeline:
    """An append-only list of :class:`TimelineEvent` with listeners.

    ``t0_ns`` is the clock value that ``t_ms`` is measured from (set at creation, reset by :meth:`clear`).
    Listeners are plain callables ``listener(event)`` called synchronously on every :meth:`record`;
    a listener that raises is removed from neither side: the exception is swallowed so the recording side
    (a socket handler) never fails because of a view.
    """

    def __init__(self) -> None:
        self.t0_ns = now_ns()
        self.events: list[TimelineEvent] = []
        self._listeners: list[Callable[[TimelineEvent], None]] = []
        self._lock = threading.Lock()

    def record(self, source: str, kind: str, *, window: str | None = None, sid: str | None = None,
               client_id: str | None = None, t_ns: int | None = None, **detail: Any) -> TimelineEvent:
        """Stamp and append one event; returns it. ``t_ns`` defaults to :func:`now_ns`. ``kind``: an
        :class:`EventKind` (or its value); with :data:`strict_kinds` another kind raises :class:`UnknownEventKind`."""
        if strict_kinds and kind not in KIND_VALUES:
            raise UnknownEventKind(f'unknown event kind {kind!r}: add it to clientsim.simulator.event_kinds.EventKind')
        event = TimelineEvent(now_ns() if t_ns is None else t_ns, source, kind, window, sid, client_id, detail)
        with self._lock:
            self.events.append(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not break the server
                pass
        return event

    def subscribe(self, listener: Callable[[TimelineEvent], None]) -> Callable[[], None]:
        """Call ``listener(event)`` for every new event; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def clear(self) -> None:
        """Drop all events and restart the relative clock at now."""
        with self._lock:
            self.events.clear()
            self.t0_ns = now_ns()

    def t_ms(self, event: TimelineEvent) -> float:
        """Milliseconds of ``event`` since ``t0_ns``."""
        return (event.t_ns - self.t0_ns) / 1e6

    def of_kind(self, *kinds: str) -> list[TimelineEvent]:
        """Events whose kind is one of ``kinds``, in time order."""
        return [e for e in self.events if e.kind in kinds]

    def to_dicts(self, events: Iterable[TimelineEvent] | None = None) -> list[dict[str, Any]]:
        """Events as JSON-safe dicts with ``t_ms``."""
        return [e.to_dict(self.t0_ns) for e in (self.events if events is None else events)]

    def to_jsonl(self) -> str:
        """All events as JSON lines (one object per line, see :meth:`TimelineEvent.to_dict`)."""
        return ''.join(json.dumps(d, default=str) + '\n' for d in self.to_dicts())

    def write_jsonl(self, path: str) -> None:
        """Write :meth:`to_jsonl` to ``path``. Raises OSError if the file cannot be written."""
        with open(path, 'w', encoding='utf-8') as f:
            f.write(self.to_jsonl())
