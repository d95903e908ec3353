"""Output files that never clobber input (issue 20, item 6).

Before a run, :func:`check_outputs` refuses, with a :class:`~.errors.BadInputError` (exit 2) naming the file and the
flag:

* an output path that is also a file the run reads (``play X.yaml --events X.yaml`` replaced the scenario);
* the same path for two outputs (``--report a.json --events a.json`` left an invalid ``.json``);
* an existing file, unless ``--force`` (reports were overwritten silently).

:func:`write_atomic` writes a temporary file in the same folder and renames it over the target (``os.replace``),
so an interrupted or failed write never leaves half a report. ``explore --shrink`` already picks a free name
(``NAME.min-2.yaml``, :func:`clientsim.simulator.shrink.minimal_path`) and prints it. No Qt import.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Iterable, Mapping, Optional

from .errors import BadInputError


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_outputs(outputs: Mapping[str, Optional[str]], inputs: Iterable[str | Path] = (),
                  force: bool = False) -> None:
    """``outputs``: flag → path (None: not asked for); ``inputs``: files the run reads. Raises
    :class:`BadInputError` for an output that is an input, a path given twice, or an existing file without
    ``force`` (see the module)."""
    given = [(flag, Path(path)) for flag, path in outputs.items() if path]
    read = [Path(p) for p in inputs]
    for i, (flag, path) in enumerate(given):
        for source in read:
            if _same(path, source):
                raise BadInputError(f'{flag} {path}: that is a file this run reads ({source}); write elsewhere')
        for other_flag, other in given[:i]:
            if _same(path, other):
                raise BadInputError(f'{other_flag} and {flag} name the same file {path}; give each its own')
        if path.exists() and not force:
            raise BadInputError(f'{flag} {path}: the file exists; add --force to replace it, or choose another name')
        if path.exists() and not path.is_file():
            raise BadInputError(f'{flag} {path}: not a regular file')


def write_atomic(path: str | Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (UTF-8; a string, or chunks streamed one by one) to ``path`` through a temporary file in the
    same folder and ``os.replace``: readers see the old file or the whole new one, never a part. Raises OSError."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else '.', prefix=f'.{path.name}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            if isinstance(text, str):
                f.write(text)
            else:
                f.writelines(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
