"""The scenario library, the demo NiceGUI apps and the files the download page serves (package data).

Read them through :func:`path`, never through ``Path(__file__)`` of another module: in an installed wheel this
folder is ``site-packages/clientsim/assets``, in a checkout it is ``assets/`` (``clientsim/assets`` links to it).
"""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def path(*parts: str) -> Path:
    """The file or folder ``parts`` below this package, as a filesystem ``Path`` (it may not exist).

    clientsim is installed unzipped (a wheel or an editable install), so the package's resources are real
    files: ``importlib.resources.files`` gives their location, which this turns into a resolved ``Path`` (no
    ``clientsim/assets`` link in it) for ``glob`` and subprocess arguments.
    """
    return Path(str(files(__name__).joinpath(*parts))).resolve()
