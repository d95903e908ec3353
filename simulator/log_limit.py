"""Rate-limited logging: one line per distinct message per second, with a repeat count (issue 20, item 2).

At the open-files limit asyncio logs ``socket.accept() out of system resource`` with a traceback for every
attempt: ``clientsim serve`` wrote 544 MB (7.8 million lines) of them in about 100 s. :class:`RateLimit` is a
:class:`logging.Filter`: the first record of a kind (logger name, level, message template) in each window of
``interval_s`` **seconds** passes, the rest are counted, and the next record that passes says how many were left
out (``... (1234 more like this in the last 1.0 s)``). Its traceback is kept only on the first record of a kind.
No Qt import.
"""
from __future__ import annotations

import logging
import time


class RateLimit(logging.Filter):
    """``RateLimit(interval_s=1.0)``: let one record per kind per ``interval_s`` through (see the module)."""

    def __init__(self, interval_s: float = 1.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self._last: dict[tuple[str, int, str], float] = {}
        self._dropped: dict[tuple[str, int, str], int] = {}
        self._seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit ``record`` (its message then carries the count of records left out since)."""
        key = (record.name, record.levelno, str(record.msg)[:200])
        now = time.monotonic()
        if now - self._last.get(key, -1e9) < self.interval_s:
            self._dropped[key] = self._dropped.get(key, 0) + 1
            return False
        self._last[key] = now
        dropped = self._dropped.pop(key, 0)
        if dropped:
            record.msg = f'{record.msg} ({dropped} more like this in the last {self.interval_s:.1f} s)'
        if key in self._seen:
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        self._seen.add(key)
        return True


def rate_limit(interval_s: float = 1.0) -> RateLimit:
    """Install one :class:`RateLimit` on the root logger's handlers (``cli.configure_logging`` routes every
    library's logging there), so each record is counted once whichever logger sent it; returns it."""
    limit = RateLimit(interval_s)
    for handler in logging.getLogger().handlers:
        handler.addFilter(limit)
    return limit
