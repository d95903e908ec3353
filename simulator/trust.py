"""Untrusted scenario files do not run commands unasked (issue 20, item 5).

A scenario's ``target.command`` starts a program. A file from a bug report or a colleague could run anything, so
a scenario with a command target runs only when it is

* in the installed scenario library (:func:`clientsim.simulator.scenario.library_dir`, sub-folders included), or
* trusted by its current content: ``clientsim trust FILE`` stores the file's SHA-256 (as ``direnv allow`` does);
  change one byte (the command, say) and it must be trusted again, or
* played with ``--trust`` (this run only).

Otherwise :func:`require_trusted` raises :class:`UntrustedScenarioError` (exit 2) showing the command. The GUI asks
once, showing the command, and a yes is stored the same way.

The store is JSON ``{"<resolved path>": "<sha256 hex>"}`` at ``$CLIENTSIM_TRUST_STORE``, else
``<platformdirs user data dir>/trusted.json`` (``~/.local/share/clientsim/trusted.json`` on Linux), written under a
file lock (filelock) by a temporary file and ``os.replace``, so concurrent ``clientsim trust`` calls lose nothing.
No Qt import.
"""
from __future__ import annotations

import hashlib
import json
import os
import shlex
import tempfile
from pathlib import Path
from typing import Any, Iterable, Optional

from .errors import BadInputError


class UntrustedScenarioError(BadInputError):
    """A scenario file with a ``target.command`` that is neither in the library nor trusted. Exit code 2."""


def store_path() -> Path:
    """The trust store: ``$CLIENTSIM_TRUST_STORE``, else ``<user data dir>/trusted.json`` (platformdirs)."""
    if os.environ.get('CLIENTSIM_TRUST_STORE'):
        return Path(os.environ['CLIENTSIM_TRUST_STORE'])
    from platformdirs import user_data_dir
    return Path(user_data_dir('clientsim')) / 'trusted.json'


def digest(path: str | Path) -> str:
    """SHA-256 (hex) of the file's bytes. Raises OSError when it cannot be read."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _read_store() -> dict[str, str]:
    try:
        data = json.loads(store_path().read_text(encoding='utf-8'))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def is_library_file(path: str | Path) -> bool:
    """True when ``path`` lies in the installed scenario library (its resolved path is under the library's)."""
    from .scenario import library_dir
    try:
        Path(path).resolve().relative_to(library_dir().resolve())
    except ValueError:
        return False
    return True


def is_trusted(path: str | Path) -> bool:
    """True for a library file, or a file whose current SHA-256 is the one stored for it."""
    if is_library_file(path):
        return True
    try:
        return _read_store().get(str(Path(path).resolve())) == digest(path)
    except OSError:
        return False


def trust(path: str | Path) -> str:
    """Store the current SHA-256 of ``path`` as trusted; returns it. Raises :class:`BadInputError` when the file
    cannot be read or the store cannot be written."""
    from filelock import FileLock
    resolved = Path(path).resolve()
    try:
        sha = digest(resolved)
    except OSError as e:
        raise BadInputError(f'{path}: cannot read: {e.strerror or e}') from None
    store = store_path()
    try:
        store.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(store) + '.lock', timeout=30):
            data = _read_store()
            data[str(resolved)] = sha
            fd, tmp = tempfile.mkstemp(dir=store.parent, prefix='.trusted-', suffix='.json')
            with os.fdopen(fd, 'w', encoding='utf-8') as f:
                json.dump(data, f, indent=1, sort_keys=True)
            os.replace(tmp, store)
    except OSError as e:
        raise BadInputError(f'cannot write the trust store {store}: {e.strerror or e}') from None
    return sha


def command_of(scenario: Any) -> Optional[list[str]]:
    """The ``target.command`` argv of a scenario model, or None (no target, or a URL target)."""
    target = getattr(scenario, 'target', None)
    command = getattr(target, 'command', None)
    return list(command) if command else None


def untrusted(scenarios: Iterable[Any]) -> list[tuple[str, list[str]]]:
    """``(file, command)`` of every scenario with a command target whose file is not trusted (one per file)."""
    seen: dict[str, list[str]] = {}
    for scenario in scenarios:
        command, path = command_of(scenario), getattr(scenario, 'path', None)
        if command and path and path not in seen and not is_trusted(path):
            seen[path] = command
    return list(seen.items())


def require_trusted(scenarios: Iterable[Any], allow: bool = False) -> None:
    """Raise :class:`UntrustedScenarioError` naming each untrusted file and showing its command, unless ``allow``
    (``--trust``)."""
    if allow:
        return
    refused = untrusted(scenarios)
    if refused:
        lines = [f'{file}: target.command would run `{shlex.join(command)}`; this file is not in the scenario '
                 f'library and not trusted. Read it, then run `clientsim trust {shlex.quote(file)}` (or add --trust '
                 f'for this run)' for file, command in refused]
        raise UntrustedScenarioError('\nerror: '.join(lines))
