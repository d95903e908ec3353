"""Helpful scenario errors: the valid names for an unknown field or step with the closest match ("did you mean
'click'?", :func:`difflib.get_close_matches`), and the expected YAML form of a step (``wait: 100`` or
``wait: {ms: 100}``). Used by :mod:`clientsim.simulator.scenario`; no I/O."""
from __future__ import annotations

import difflib
import typing
from typing import Any, Iterable, Optional

from pydantic import BaseModel

from .steps import STEP_TYPES, _ms, _names, _no_fields, _storm_windows


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`` — did you mean 'click'?`` for the closest of ``valid`` to ``name`` (ratio ≥ 0.6), else ``''``."""
    close = difflib.get_close_matches(str(name), list(valid), n=1)
    return f" — did you mean {close[0]!r}?" if close else ''


def unknown_name(what: str, name: str, valid: Iterable[str]) -> str:
    """``unknown step 'clik' — did you mean 'click'? (steps are: open, click, …)``."""
    valid = list(valid)
    return f'unknown {what} {name!r}{did_you_mean(name, valid)} (valid: {", ".join(valid)})'


def _model_in(annotation: Any) -> Optional[type[BaseModel]]:
    """The pydantic model inside ``annotation`` (``X``, ``Optional[X]``, ``list[X]``, ``dict[str, X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the model reached from ``model`` along ``loc`` (field names; list indexes skipped);
    ``[]`` when ``loc`` leaves the models."""
    current: Optional[type[BaseModel]] = model
    for part in loc:
        if isinstance(part, int):
            continue
        if current is None or part not in current.model_fields:
            return []
        current = _model_in(current.model_fields[part].annotation)
    return [] if current is None else list(current.model_fields)


def expected_form(kind: str) -> str:
    """The YAML forms step ``kind`` accepts, e.g. ``wait: 100 or wait: {ms: 100}``."""
    step = STEP_TYPES[kind]
    required = [n for n, f in step.model.model_fields.items() if f.is_required()]
    names = required or list(step.model.model_fields)[:1]
    mapping = f'{kind}: {{' + ', '.join(f'{n}: {100 if n.endswith("ms") else "…"}' for n in names) + '}'
    short = {_ms: f'{kind}: 100', _names: f'{kind}: alice or {kind}: [alice, bob]', _no_fields: f'{kind}: {{}}',
             _storm_windows: f'{kind}: [alice, bob]'}.get(step.normalise)
    return f'{short} or {mapping}' if short else mapping
