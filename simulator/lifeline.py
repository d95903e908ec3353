"""Child processes that die with clientsim, even when clientsim is SIGKILLed (issue 20, item 7).

A target app runs in its own session (``start_new_session=True``, so Ctrl+C in the terminal reaches clientsim,
which stops the app cleanly). SIGKILL gives clientsim no chance to stop it, so the app was orphaned. On Linux
:func:`die_with_parent` is a ``preexec_fn`` that asks the kernel for ``PR_SET_PDEATHSIG`` = SIGTERM (prctl(2)):
when the thread that started the child ends, the child gets SIGTERM. The race where clientsim dies between fork
and prctl is closed by comparing ``getppid()`` with clientsim's pid afterwards. Elsewhere it does nothing.

The signal goes to the direct child only: an app started through a wrapper that forks (``sh -c 'cmd; other'``)
leaves its grandchildren to the wrapper; ``exec`` wrappers (``sh -c 'exec …'``, ``uv run``) keep it. No Qt.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
from typing import Callable, Optional

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent() -> Optional[Callable[[], None]]:
    """A ``preexec_fn`` for subprocess / asyncio that makes the child get SIGTERM when this process dies; None off
    Linux (or without libc's prctl)."""
    if not sys.platform.startswith('linux'):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # clientsim died before prctl: nobody will stop this child
            os._exit(1)
    return preexec
