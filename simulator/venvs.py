"""Cached venvs of real NiceGUI releases, and the list of releases the package index serves.

One cache for ``clientsim matrix``, ``clientsim bisect``, the probe tests and the pytest helpers:
``<user cache>/venv-nicegui-<version>`` (platformdirs: ``$XDG_CACHE_HOME/clientsim``, default
``~/.cache/clientsim``; ``$CLIENTSIM_CACHE_DIR`` relocates it), each built once under a file lock (filelock), so
two processes never build one venv and every checkout on the machine shares them.

Venvs are created with uv when it is installed (the ``uv`` PyPI package ships its binary; about 3-5 s for a
release against about 27 s with pip, see the README's bisect section), else with ``python -m venv`` + pip.

The release list comes from the package index through pip (``pip index versions`` for the installable
releases, pip's "from versions" list for every file the index knows): a release the index lists but will not
install by default is *yanked* (PEP 592) and is reported, never tested.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .errors import TargetError

CACHE_ENV = 'CLIENTSIM_CACHE_DIR'
"""Environment variable that relocates the venv cache (default: the user cache folder, see :func:`cache_dir`)."""

INSTALLED_MARKER = '.clientsim-installed'
"""A finished venv holds this file: the installer (``uv`` or ``pip``) and the install time in seconds."""


class VenvError(TargetError, RuntimeError):
    """A NiceGUI venv could not be created (no network, no such version); the message ends with the installer's
    output. Exit code 3 (the target cannot start)."""


class ReleaseError(TargetError, ValueError):
    """The release list cannot be read, or a named release is not served by the package index."""


def cache_dir() -> Path:
    """Where NiceGUI venvs are cached: ``$CLIENTSIM_CACHE_DIR``, else platformdirs' user cache folder for
    ``clientsim`` (on Linux ``$XDG_CACHE_HOME/clientsim``, default ``~/.cache/clientsim``)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    from platformdirs import user_cache_dir
    return Path(user_cache_dir('clientsim', appauthor=False))


def uv_binary() -> Optional[str]:
    """The uv executable (the ``uv`` package's binary, else one on PATH), or None."""
    try:
        from uv import find_uv_bin
        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which('uv')


def nicegui_python(version: str, *, timeout_s: float = 600.0, extras: str = '', installer: str = 'auto') -> str:
    """The interpreter (a path) of a venv with ``nicegui[extras]==version``, created on first use under
    :func:`cache_dir` and reused afterwards. ``extras``: e.g. ``'redis'`` (a separate venv per extras set).
    ``installer``: ``'auto'`` (uv when installed, else pip), ``'uv'`` or ``'pip'``. Raises :class:`VenvError`
    when the venv or the install fails or takes longer than ``timeout_s`` seconds."""
    name = f'venv-nicegui-{version}' + (f'-{extras.replace(",", "-")}' if extras else '')
    venv = cache_dir() / name
    python = venv / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')
    done = venv / INSTALLED_MARKER
    if done.exists():
        return str(python)
    venv.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock
    with FileLock(str(venv.parent / f'{name}.lock')):  # two processes must not build one venv at once
        if done.exists():  # the other process built it while we waited
            return str(python)
        requirement = f'nicegui[{extras}]=={version}' if extras else f'nicegui=={version}'
        seconds, used = install(requirement, venv, timeout_s=timeout_s, installer=installer)
        done.write_text(f'{used} {seconds:.1f} s\n')
    return str(python)


def install(requirement: str, venv: Path, *, timeout_s: float = 600.0, installer: str = 'auto') -> tuple[float, str]:
    """Create ``venv`` afresh and install ``requirement`` into it. Returns (seconds taken, installer used:
    ``'uv'`` or ``'pip'``). Raises :class:`VenvError`."""
    uv = uv_binary() if installer in ('auto', 'uv') else None
    if installer == 'uv' and uv is None:
        raise VenvError('uv is not installed (pip install uv)')
    python = venv / ('Scripts/python.exe' if os.name == 'nt' else 'bin/python')
    started = time.perf_counter()
    if uv:
        steps = [[uv, 'venv', '--quiet', '--clear', '--python', sys.executable, str(venv)],
                 [uv, 'pip', 'install', '--quiet', '--python', str(python), requirement]]
    else:
        steps = [[sys.executable, '-m', 'venv', '--clear', str(venv)],
                 [str(python), '-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', requirement]]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.CalledProcessError as e:
        shutil.rmtree(venv, ignore_errors=True)
        raise VenvError(f'cannot install {requirement} into {venv} (no network? no such version?): '
                        f'{((e.stderr or "") + (e.stdout or ""))[-800:]}') from None
    except (subprocess.TimeoutExpired, OSError) as e:
        shutil.rmtree(venv, ignore_errors=True)
        raise VenvError(f'cannot install {requirement} into {venv}: {e}') from None
    return time.perf_counter() - started, 'uv' if uv else 'pip'


def version_key(version: str) -> tuple:
    """A sort key for release numbers like ``2.11.1`` or ``3.0.0rc1`` (PEP 440 through ``packaging`` when
    installed, else numeric parts)."""
    try:
        from packaging.version import Version
        return (Version(version),)
    except Exception:  # noqa: BLE001 - no packaging, or not PEP 440: compare the numbers in it
        return tuple(int(p) for p in re.findall(r'\d+', version))


@dataclass
class Releases:
    """The releases of a package on the index, oldest first. ``installable``: what pip installs by default;
    ``yanked``: listed by the index but yanked (PEP 592), never tested."""

    installable: list[str]
    yanked: list[str] = field(default_factory=list)

    def between(self, low: str, high: str) -> list[str]:
        """The installable releases from ``low`` to ``high`` inclusive, oldest first. Raises
        :class:`ReleaseError` when either bound is not an installable release (naming the newest served)."""
        for bound in (low, high):
            if bound not in self.installable:
                newest = self.installable[-1] if self.installable else 'none'
                if bound in self.yanked:
                    raise ReleaseError(f'nicegui {bound} is yanked on the package index; pick another bound')
                if self.installable and version_key(bound) > version_key(newest):
                    raise ReleaseError(f'nicegui {bound} is newer than any release the package index serves '
                                       f'(newest: {newest})')
                raise ReleaseError(f'nicegui {bound} is not a release the package index serves (newest: {newest})')
        i, j = self.installable.index(low), self.installable.index(high)
        if i > j:
            i, j = j, i
        return self.installable[i:j + 1]


def releases(package: str = 'nicegui', *, timeout_s: float = 120.0) -> Releases:
    """Ask the package index (through this interpreter's pip and its configuration) which releases of
    ``package`` it serves. Pre-releases are left out. Raises :class:`ReleaseError` when pip cannot tell, or when
    this interpreter has no pip (a uv-made venv), saying so."""
    env = {**os.environ, 'PIP_DISABLE_PIP_VERSION_CHECK': '1'}
    try:
        listed = subprocess.run([sys.executable, '-m', 'pip', 'index', 'versions', package], capture_output=True,
                                text=True, timeout=timeout_s, env=env)
        every = subprocess.run([sys.executable, '-m', 'pip', 'install', '--dry-run', '--no-deps',
                                f'{package}==0.0.0.dev0'], capture_output=True, text=True, timeout=timeout_s, env=env)
    except (subprocess.TimeoutExpired, OSError) as e:
        raise ReleaseError(f'cannot list the releases of {package}: {e}') from None
    match = re.search(r'Available versions: (.*)', listed.stdout)
    if not match and 'No module named pip' in listed.stderr:
        raise ReleaseError(f'cannot list the releases of {package}: {sys.executable} has no pip (a venv made by '
                           f'uv?); install it there with `uv pip install pip` or `python -m ensurepip`')
    if not match:
        raise ReleaseError(f'cannot list the releases of {package} (no network?): '
                           f'{(listed.stderr or listed.stdout)[-500:]}')
    stable = re.compile(r'^\d+(\.\d+)*$')
    installable = sorted({v.strip() for v in match.group(1).split(',') if stable.match(v.strip())}, key=version_key)
    known = re.search(r'from versions: ([^)]*)\)', every.stdout + every.stderr)
    all_versions = {v.strip() for v in known.group(1).split(',')} if known else set(installable)
    yanked = sorted((v for v in all_versions - set(installable) if stable.match(v)), key=version_key)
    return Releases(installable, yanked)
