"""Cached venvs with one NiceGUI release each: :func:`nicegui_python` (``~/.cache/clientsim/venv-nicegui-<v>``).

Used by ``clientsim matrix`` (:mod:`clientsim.simulator.matrix`, which re-exports these names) and by a target's
``nicegui: 2.11.0`` (:mod:`clientsim.simulator.target`: ``{python}`` is that venv's interpreter). No Qt import.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

from .errors import TargetError

CACHE_ENV = 'CLIENTSIM_CACHE_DIR'
"""Environment variable that relocates the venv cache (default: ``~/.cache/clientsim``, see :func:`cache_dir`)."""

INSTALLED_MARKER = '.clientsim-installed'


class VenvError(TargetError, RuntimeError):
    """A NiceGUI venv could not be created (no network, no such version); the message ends with pip's output."""


def cache_dir() -> Path:
    """Where NiceGUI venvs are cached: ``$CLIENTSIM_CACHE_DIR``, else the user's cache folder
    (``$XDG_CACHE_HOME/clientsim``, default ``~/.cache/clientsim``), so that every checkout and every fresh clone
    on the machine (CI included) shares one venv per NiceGUI version instead of installing it again (~27 s)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache').expanduser() / 'clientsim'


def nicegui_python(version: str, *, timeout_s: float = 600.0) -> str:
    """The interpreter of a venv with ``nicegui==version``, created on first use under :func:`cache_dir` and
    reused afterwards (a finished install leaves ``.clientsim-installed`` with its duration). Raises
    :class:`VenvError` when venv or pip fails or takes longer than ``timeout_s`` **seconds**."""
    venv = cache_dir() / f'venv-nicegui-{version}'
    python = venv / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')
    done = venv / INSTALLED_MARKER
    if done.exists():
        return str(python)
    venv.parent.mkdir(parents=True, exist_ok=True)
    with _locked(venv.parent / f'venv-nicegui-{version}.lock'):  # two processes must not build one venv at once
        if done.exists():  # the other process built it while we waited
            return str(python)
        return _install(version, venv, python, done, timeout_s)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes (``fcntl.flock``; no lock where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: installs of one version must not overlap
        yield
        return
    with open(path, 'w') as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _install(version: str, venv: Path, python: Path, done: Path, timeout_s: float) -> str:
    started = time.perf_counter()
    try:
        subprocess.run([sys.executable, '-m', 'venv', '--clear', str(venv)], check=True, capture_output=True,
                       text=True, timeout=120)
        subprocess.run([str(python), '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check',
                        f'nicegui=={version}'], check=True, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.CalledProcessError as e:
        raise VenvError(f'cannot install nicegui=={version} into {venv} (no network? no such version?): '
                        f'{(e.stderr or "")[-800:]}') from None
    except (subprocess.TimeoutExpired, OSError) as e:
        raise VenvError(f'cannot install nicegui=={version} into {venv}: {e}') from None
    done.write_text(f'{time.perf_counter() - started:.1f} s\n')
    return str(python)
