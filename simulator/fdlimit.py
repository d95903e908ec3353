"""The open-files limit: raise it as far as the system allows and tell how many windows fit (no Qt).

Every open simulated window holds file descriptors: its websocket's client end and, when the embedded server runs
in the same process, the server's end of that socket (:data:`FDS_PER_WINDOW`). Linux's default soft
``RLIMIT_NOFILE`` is often 1,024 while the hard limit is far higher; once the soft limit is reached every
``socket()`` and ``open()`` fails with ``OSError: [Errno 24] Too many open files``. :func:`raise_open_files_limit`
lifts the soft limit to the hard one (as a process may without privileges) and returns a :class:`FdBudget`
whose :meth:`FdBudget.message` tells the user how many windows that allows.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from typing import Optional

try:
    import resource
except ImportError:  # Windows: no rlimits
    resource = None  # type: ignore[assignment]

FDS_PER_WINDOW = 2
"""Descriptors one open window holds with the embedded server in the process (client and server end of its
websocket; HTTP keep-alive connections of a browser context are shared, see :mod:`.browser.context`)."""
FDS_PER_EXTERNAL_WINDOW = 1
"""Descriptors one open window holds against a target in another process (the client end only)."""
RESERVED_FDS = 64
"""Descriptors kept for everything else: the interpreter, listening sockets, files, pipes, the GUI."""
UNLIMITED = 1 << 20
"""What an unlimited (``RLIM_INFINITY``) hard limit is capped to when raising the soft one (the kernel's usual
``nr_open``)."""


@dataclass(frozen=True)
class FdBudget:
    """The open-files limit after :func:`raise_open_files_limit`: ``soft`` (now in force), ``hard``, ``before``
    (the soft limit found at start) and ``open_now`` (descriptors open when measured; -1 when unknown)."""
    soft: int
    hard: int
    before: int
    open_now: int = -1

    def windows(self, fds_per_window: int = FDS_PER_WINDOW) -> int:
        """How many more windows fit before ``open()``/``socket()`` fail with Errno 24 (never negative)."""
        used = max(self.open_now, 0) + RESERVED_FDS
        return max(0, (self.soft - used) // max(1, fds_per_window))

    def message(self, fds_per_window: int = FDS_PER_WINDOW) -> str:
        """One line for the user: the limit, whether it was raised, and the windows it allows."""
        raised = f' (raised from {self.before})' if self.soft > self.before else ''
        capped = '' if self.soft >= self.hard else f', hard limit {self.hard}'
        return (f'open-files limit {self.soft}{raised}{capped}: room for about {self.windows(fds_per_window):,} '
                f'simultaneously open windows ({fds_per_window} descriptors each)')


def open_fds() -> int:
    """Descriptors this process has open now (counted in ``/proc/self/fd``); -1 where that cannot be read."""
    try:
        return len(os.listdir('/proc/self/fd')) - 1  # listdir's own descriptor
    except OSError:
        return -1


def raise_open_files_limit(target: Optional[int] = None) -> FdBudget:
    """Raise the soft ``RLIMIT_NOFILE`` to ``target`` (default: the hard limit; an unlimited hard limit counts as
    :data:`UNLIMITED`), never lowering it, and return the resulting :class:`FdBudget`. Never raises: where the
    limit cannot be read or set (Windows, a sandbox refusing ``setrlimit``) the budget reports what is in force."""
    if resource is None:
        return FdBudget(soft=UNLIMITED, hard=UNLIMITED, before=UNLIMITED, open_now=-1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = soft
    hard_value = UNLIMITED if hard == resource.RLIM_INFINITY else hard
    soft_value = UNLIMITED if soft == resource.RLIM_INFINITY else soft
    wanted = min(hard_value, target if target is not None else hard_value)
    if wanted > soft_value:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft_value = wanted
        except (ValueError, OSError):  # e.g. macOS caps at OPEN_MAX, a sandbox forbids it: keep what there is
            soft_value = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return FdBudget(soft=soft_value, hard=hard_value, before=UNLIMITED if before == resource.RLIM_INFINITY
                    else before, open_now=open_fds())


_startup: Optional[FdBudget] = None


def startup_budget() -> FdBudget:
    """:func:`raise_open_files_limit` once per process (the CLI's and the GUI's start paths call it); later calls
    return the first result with ``open_now`` measured again."""
    global _startup
    if _startup is None:
        _startup = raise_open_files_limit()
        return _startup
    return FdBudget(_startup.soft, _startup.hard, _startup.before, open_fds())


def too_many_windows(windows: int, budget: FdBudget, fds_per_window: int = FDS_PER_WINDOW) -> Optional[str]:
    """A warning when ``windows`` simultaneously open windows would exceed ``budget`` (None when they fit)."""
    room = budget.windows(fds_per_window)
    if windows <= room:
        return None
    return (f'{windows:,} windows need about {windows * fds_per_window + RESERVED_FDS:,} open files, the limit allows '
            f'{budget.soft:,} (about {room:,} windows); raise it with `ulimit -n` (hard limit {budget.hard:,}) '
            'or the windows beyond that fail with "Too many open files"')


def is_out_of_files(error: BaseException) -> bool:
    """Whether ``error`` (or an error it wraps, as aiohttp's connection errors do) is ``EMFILE``/``ENFILE``."""
    seen: set[int] = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.EMFILE, errno.ENFILE):
            return True
        current = getattr(current, 'os_error', None) or current.__cause__ or current.__context__
    return False
