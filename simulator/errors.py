"""The one base of clientsim's errors, each carrying the exit code the CLI gives it (a leaf: imports only exit codes).

Engines raise these; only ``clientsim.simulator.cli`` turns them into an exit code (``ClientsimError.exit_code``)
and a message on stderr. Library users catch ``ClientsimError`` (or a subclass) and read ``str(error)``.
"""
from __future__ import annotations

from .exit_codes import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_TARGET


class ClientsimError(Exception):
    """Base of every error clientsim raises on purpose. ``exit_code``: what ``clientsim`` exits with (int)."""

    exit_code: int = EXIT_FAILED


class BadInputError(ClientsimError):
    """Bad input: an invalid scenario file, option, policy or path. Exit code 2; the message names file and field."""

    exit_code = EXIT_BAD_INPUT


class TargetError(ClientsimError):
    """The app under test (a scenario's ``target:``) cannot start or be reached. Exit code 3."""

    exit_code = EXIT_TARGET
