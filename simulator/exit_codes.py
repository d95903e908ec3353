"""The exit codes of every ``clientsim`` command (a leaf: no imports), with what each means for ``--help``."""
from __future__ import annotations

EXIT_OK = 0
"""Every expectation held (``play``, ``explore``: every run passed; ``matrix``: every version as expected)."""
EXIT_FAILED = 1
"""An expectation failed (each one is printed; ``explore``: the failing share is printed)."""
EXIT_BAD_INPUT = 2
"""Bad input: an invalid scenario file (``file:line: location: message``) or option."""
EXIT_TARGET = 3
"""The scenario's target app cannot start (its command, exit code and the tail of its output are printed)."""

EXIT_INTERRUPTED = 130
"""Interrupted (Ctrl+C): 128 + SIGINT, as shells report it; what was written before is kept."""

#: code → one line, for ``--help``
EXIT_CODES = {EXIT_OK: 'every expectation holds', EXIT_FAILED: 'an expectation failed (each one is printed)',
              EXIT_BAD_INPUT: 'bad input: an invalid scenario file (file:line: location: message) or option',
              EXIT_TARGET: "the scenario's target app cannot start (its command, exit code and output tail)",
              EXIT_INTERRUPTED: 'interrupted (Ctrl+C); files written before are kept'}
