"""Server-side expectations against a probed ``target:`` app: ``clients_alive``, ``private_clients_alive``,
``models_finalized`` and ``pinned_clients`` read from the probe's events (``server_errors`` go through
:meth:`clientsim.simulator.target.ExternalTarget.error_counts`). Called by
``clientsim.simulator.player.ScenarioPlayer.check_expectations``; it takes the player duck-typed (``.target``,
``.scenario``) so that it imports nothing from the player. No Qt import.
"""
from __future__ import annotations

from typing import Any

from ..checks import describe_pinned

#: expectations a probed target can answer besides ``windows`` and ``server_errors``
PROBED_EXPECTATIONS = {'clients_alive', 'private_clients_alive', 'models_finalized', 'pinned_clients'}


def check_probed_target(player: Any) -> list[dict[str, Any]]:
    """``{name, expected, actual, passed}`` for each of :data:`PROBED_EXPECTATIONS` the scenario sets, when it
    plays against a target. A target whose probe fell back fails them with the reason as ``actual``.
    ``models_finalized`` counts the app's ``FINALIZED`` lines seen so far: put a ``gc`` step before the end."""
    target = getattr(player, 'target', None)
    if target is None:
        return []
    expect = player.scenario.expect
    wanted = {'clients alive': (expect.clients_alive, lambda: target.clients_alive()),
              'private clients alive': (expect.private_clients_alive, lambda: target.clients_alive(private_only=True)),
              'models finalized (FINALIZED lines)': (expect.models_finalized, lambda: target.models_finalized),
              'pinned clients': (expect.pinned_clients, lambda: target.probe.pinned())}
    checks = []
    for name, (count, read) in wanted.items():
        if count is None:
            continue
        if not target.probed:
            reason = target.probe.reason if target.probe is not None else 'probe: false'
            checks.append({'name': f'{name} (app server)', 'expected': str(count),
                           'actual': f'not probed: {reason}', 'passed': False})
            continue
        actual = read()
        if isinstance(actual, list):  # pinned clients: the count decides, the report names each one
            checks.append({'name': f'{name} (app server)', 'expected': str(count), 'actual': describe_pinned(actual),
                           'passed': bool(count.check(len(actual)))})
            continue
        checks.append({'name': f'{name} (app server)', 'expected': str(count), 'actual': actual,
                       'passed': bool(count.check(actual))})
    return checks
