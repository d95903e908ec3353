"""Bug ⇄ fix in one scenario file: the ``fix:`` block and the two variants it gives.

A scenario file describes the behaviour that shipped (its ``policy`` and ``expect``). A ``fix:`` block adds the
fixed variant: the same windows and steps, with the policy changes of the fix and the expectations that hold with
it::

    policy: {download_target: room, single_use_grace_s: 0}
    expect: {windows: {bob: {downloads: [404]}}}
    fix:
      description: only the clicker gets the event    # optional; the fixed variant's description
      policy: {download_target: sender}                # applied on top of the shipped policy; required
      expect: {windows: {bob: {downloads: [200]}}}     # replaces expect for the fixed variant; required

The variant names are :data:`SHIPPED` and :data:`FIXED` (``variant`` in every report). A file without ``fix:``
has only the shipped variant. :func:`fix_problems` validates a ``fix:`` block against its file (the loader in
:mod:`clientsim.simulator.scenario` turns each problem into a located ``ScenarioError``); :func:`fixed_policy` builds
the
fixed variant's policy. ``Scenario.variants()`` (in :mod:`clientsim.simulator.scenario`) returns both variants as
scenarios. No Qt import here.
"""
from __future__ import annotations

from typing import Any, Optional

from pydantic import Field

from clientsim.server.policy import ServerPolicy

from .checks import Expectations
from .steps import StrictModel

SHIPPED, FIXED = 'shipped', 'fixed'
#: the variants a scenario can have, in play order
VARIANTS = (SHIPPED, FIXED)
#: ``clientsim play --variant`` choices
VARIANT_CHOICES = (SHIPPED, FIXED, 'both')


class FixSpec(StrictModel):
    """The ``fix:`` block: ``policy`` (ServerPolicy fields the fix changes, applied on top of the file's
    ``policy``), ``expect`` (the fixed variant's expectations; they replace the file's ``expect``) and an optional
    ``description`` of the fixed variant."""
    policy: ServerPolicy
    expect: Expectations
    description: Optional[str] = Field(None, min_length=1)


def fixed_policy(shipped: ServerPolicy, fix: FixSpec) -> ServerPolicy:
    """The fixed variant's policy: ``shipped`` with the fields ``fix.policy`` sets. The fields set in either count as
    set (``model_fields_set``), so ``Scenario.policy_summary()`` shows both. Raises pydantic.ValidationError."""
    return ServerPolicy.model_validate({**shipped.model_dump(exclude_unset=True),
                                        **fix.policy.model_dump(exclude_unset=True)})


def fix_problems(fix: FixSpec, shipped: ServerPolicy, window_names: set[str],
                 has_target: bool) -> list[tuple[tuple[Any, ...], str]]:
    """What is wrong with a ``fix:`` block, as ``(location, message)`` pairs; ``location`` is a key path from the
    file's root such as ``('fix', 'policy')``. Empty when the block is valid. Checked: a ``target`` scenario has no
    policy to fix; ``fix.policy`` must change at least one field of the shipped policy; ``fix.expect`` must set at
    least one expectation and name only the file's windows."""
    if has_target:
        return [(('fix',), 'fix switches the policy of the embedded server; with target (a real app) there is none')]
    problems: list[tuple[tuple[Any, ...], str]] = []
    changed = {k for k in fix.policy.model_fields_set if getattr(fix.policy, k) != getattr(shipped, k)}
    if not changed:
        same = ', '.join(sorted(fix.policy.model_fields_set)) or 'no field'
        problems.append((('fix', 'policy'), f'the fix changes nothing: it sets {same}, equal to the shipped policy '
                                            '(set at least one field to its fixed value)'))
    if not fix.expect.model_fields_set:
        problems.append((('fix', 'expect'), 'the fixed variant needs expectations (they replace expect; '
                                            'without them it would pass vacuously)'))
    for name in fix.expect.windows:
        if name not in window_names:
            known = ', '.join(sorted(window_names))
            problems.append((('fix', 'expect', 'windows', name),
                             f'unknown window {name!r} in expectations (windows are: {known})'))
    return problems


def select_variants(scenarios: list[Any], variant: str) -> tuple[list[Any], list[Any]]:
    """Expand loaded scenarios (``clientsim.simulator.scenario.Scenario``) into the variants to play, in file order,
    shipped before fixed: ``variant`` is ``shipped``, ``fixed`` or ``both``. Returns ``(to_play, without_fix)``, where
    ``without_fix`` lists the files skipped because ``fixed`` was asked and they have no ``fix:`` block. Raises
    ValueError for another ``variant``."""
    if variant not in VARIANT_CHOICES:
        raise ValueError(f'variant must be one of {", ".join(VARIANT_CHOICES)}, got {variant!r}')
    to_play, without_fix = [], []
    for scenario in scenarios:
        pairs = [(name, s) for name, s in scenario.variants() if variant in ('both', name)]
        if not pairs:
            without_fix.append(scenario)
        to_play += [s for _name, s in pairs]
    return to_play, without_fix
