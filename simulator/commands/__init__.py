"""The commands layer of ``clientsim``: one module per subcommand, each with ``add_parser(sub)`` (its argparse
options) and ``run(args) -> int``. A command parses its options, prints (tables, progress, notes) and calls the
engines with typed arguments (:mod:`clientsim.simulator.explore`, :mod:`clientsim.simulator.matrix`,
:mod:`clientsim.simulator.load.runner`, :mod:`clientsim.simulator.serve`, ...). Engines return values and raise
:class:`clientsim.simulator.errors.ClientsimError`; a command returns 0 or 1 (every expectation held or not) and
lets such errors through: only :func:`clientsim.simulator.cli.main` turns them into ``error: ...`` on stderr and
their ``exit_code``. No Qt import at module level (``play`` and ``gui`` import :mod:`clientsim.simulator.gui.app`
inside the function, so ``--headless`` loads no Qt).
"""
