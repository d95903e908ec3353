"""``clientsim trust FILE...``: remember that these scenario files may run their ``target.command`` (their SHA-256
in the trust store, see :mod:`clientsim.simulator.trust`)."""
from __future__ import annotations

import argparse
import shlex

from ..exit_codes import EXIT_OK
from ..scenario import load_scenario
from ..trust import command_of, is_library_file, store_path, trust


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``clientsim trust``."""
    p = sub.add_parser('trust', help="let scenario files run their target.command (remembers each file's content)",
                       description='Remember the SHA-256 of each file, so that play, explore, matrix and bisect run '
                                   'its target.command. Changing the file (its command, say) needs trusting again.')
    p.add_argument('files', nargs='+', metavar='FILE', help='scenario YAML files (read them first)')


def run(args: argparse.Namespace) -> int:
    """Validate each file (a bad one raises :class:`~..scenario.ScenarioError`, nothing is stored), then store its
    hash and print the command it may now run."""
    scenarios = [load_scenario(file) for file in args.files]
    for file, scenario in zip(args.files, scenarios, strict=True):
        command = command_of(scenario)
        if is_library_file(file):
            print(f'{file}: in the scenario library, trusted already')
            continue
        sha = trust(file)
        what = f'may run `{shlex.join(command)}`' if command else 'has no target.command'
        print(f'trusted {file} (sha256 {sha[:12]}…): {what}')
    print(f'trust store: {store_path()}')
    return EXIT_OK
