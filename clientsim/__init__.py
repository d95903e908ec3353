"""clientsim: a desktop lab for multi-client web UI bugs: the public API.

Everything the README uses is importable from here::

    from clientsim import Lab, SimulatedBrowser, Latency, ServerPolicy, EmbeddedServer, Timeline
    from clientsim import Scenario, load_scenario, play, play_headless, ScenarioPlayer, RunReport, explore

The distribution installs this one top-level package. Its sub-packages are mapped from the repository's fixed
folders by ``[tool.setuptools.package-dir]`` in pyproject.toml: ``clientsim.server`` is ``server/`` (the
embedded NiceGUI-protocol server), ``clientsim.simulator`` is ``simulator/`` (windows, scenarios, GUI, CLI) and
``clientsim.assets`` is ``assets/`` (the scenario library, the demo apps and files; package data, read with
:mod:`importlib.resources`). So an app's own ``server.py``, ``server/`` or ``simulator.py`` never shadows clientsim.
In a checkout, ``clientsim/server``, ``clientsim/simulator`` and ``clientsim/assets`` are symbolic links to those
folders, so the same names import from the source tree (and import-linter's graph, which follows links, sees them).

The names below are loaded lazily (PEP 562 ``__getattr__``), so ``import clientsim`` costs nothing and the pytest
plugin or the CLI import only what they use.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = '0.2.0'

_EXPORTS = {
    'EmbeddedServer': 'clientsim.server.app',
    'ServerPolicy': 'clientsim.server.policy',
    'Timeline': 'clientsim.simulator.timeline',
    'TimelineEvent': 'clientsim.simulator.timeline',
    'SimulatedBrowser': 'clientsim.simulator.browser',
    'Latency': 'clientsim.simulator.browser',
    'BrowserContext': 'clientsim.simulator.browser',
    'Lab': 'clientsim.simulator.lab',
    'Scenario': 'clientsim.simulator.scenario',
    'ScenarioError': 'clientsim.simulator.scenario',
    'load_scenario': 'clientsim.simulator.scenario',
    'parse_scenario': 'clientsim.simulator.scenario',
    'library': 'clientsim.simulator.scenario',
    'ScenarioPlayer': 'clientsim.simulator.player',
    'play': 'clientsim.simulator.player',
    'play_headless': 'clientsim.simulator.player',
    'RunReport': 'clientsim.simulator.run_report',
    'explore': 'clientsim.simulator.explore',
    'ClientsimError': 'clientsim.simulator.errors',
}

__all__ = [
    'BrowserContext',
    'ClientsimError',
    'EmbeddedServer',
    'Lab',
    'Latency',
    'RunReport',
    'Scenario',
    'ScenarioError',
    'ScenarioPlayer',
    'ServerPolicy',
    'SimulatedBrowser',
    'Timeline',
    'TimelineEvent',
    'explore',
    'library',
    'load_scenario',
    'parse_scenario',
    'play',
    'play_headless',
]


def __getattr__(name: str) -> Any:
    """Import a public name on first use (PEP 562). Raises AttributeError for names not in ``__all__``."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = importlib.import_module(module)
    if name != module.rsplit('.', 1)[-1]:
        value = getattr(value, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from clientsim.server.app import EmbeddedServer
    from clientsim.server.policy import ServerPolicy
    from clientsim.simulator import explore
    from clientsim.simulator.browser import Latency, SimulatedBrowser
    from clientsim.simulator.errors import ClientsimError
    from clientsim.simulator.lab import Lab
    from clientsim.simulator.player import ScenarioPlayer, play, play_headless
    from clientsim.simulator.run_report import RunReport
    from clientsim.simulator.scenario import Scenario, ScenarioError, library, load_scenario, parse_scenario
    from clientsim.simulator.timeline import Timeline, TimelineEvent
