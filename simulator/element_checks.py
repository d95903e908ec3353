"""What a page must show: element expectations (``text`` and ``value`` per element) checked as a diff.

Used by recorded scenarios (:mod:`clientsim.simulator.record`): the final page's elements go into
``expect.windows.<window>.elements``; the pages left before the end are checked by a ``check`` step placed before
the step that leaves them::

    - check: {window: user, elements: [{id: 8, was: 'no answer yet', text: 'Hello, bob!', step: '5 click Greet'}]}
    expect:
      windows:
        user:
          elements:
            - {label: Name, value: bob, step: '2 set Name'}

An element is found as steps find it (``label``, ``content`` or ``id``, :func:`clientsim.simulator.browser.finding
.find_element`); ``was`` (what it showed when the page loaded) and ``step`` (the recorded step whose answer set the
final state) only make the diff readable. Matching is by element, not message order: a check waits (up to
``timeout_ms``) until every element reached its expected state, whatever order the server's updates came in.
A divergence is one line per element: ``w07: element #8 (was 'no answer yet') text: expected 'Hello, bob!', seen
'Hi, bob!' (after step 5 click Greet)``. No Qt import here.
"""
from __future__ import annotations

import asyncio
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .browser import elements as el
from .browser import finding


class ElementExpect(BaseModel):
    """One element's expected final state: found by ``label`` / ``content`` / ``id``; ``text`` (its text) and/or
    ``value`` (its value as a person sees it: option labels for select, radio and toggle); ``was`` and ``step``
    are for the diff only."""
    model_config = ConfigDict(extra='forbid')
    label: Optional[str] = None
    content: Optional[str] = None
    id: Optional[str] = None
    was: Optional[str] = None
    step: Optional[str] = None
    text: Optional[str] = None
    value: Any = None  # checked only when the file gives it (``value: null`` expects no value)

    @field_validator('id', mode='before')
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v

    def model_post_init(self, _context: Any) -> None:
        if self.label is None and self.content is None and self.id is None:
            raise ValueError('an element needs label, content or id')

    def name(self) -> str:
        """``'Name'`` / ``#8 (was 'no answer yet')`` / ``content 'abc'``: how the diff names the element."""
        if self.label is not None:
            return repr(self.label)
        if self.id is not None:
            return f'#{self.id}' + (f' (was {self.was!r})' if self.was is not None else '')
        return f'content {self.content!r}'


class CheckStep(BaseModel):
    """The ``check`` step: wait until ``window`` shows every element of ``elements`` in its expected state; fail
    after ``timeout_ms`` with the diff."""
    model_config = ConfigDict(extra='forbid')
    window: str
    elements: list[ElementExpect] = Field(min_length=1)
    timeout_ms: float = Field(10000.0, gt=0, le=600000)


def _shown(elements: dict[str, dict], spec: ElementExpect, window: str) -> tuple[Optional[str], Any]:
    """``(text, value)`` the element shows; LookupError when it is not there."""
    element_id, element = finding.find_element(elements, window, label=spec.label, content=spec.content,
                                               element_id=spec.id)
    text = element.get('text')
    return (None if text is None else str(text)), el.describe_element(element_id, element)['value']


def element_diffs(browser: Any, specs: list[ElementExpect]) -> list[str]:
    """One line per element of ``specs`` that ``browser`` (a window: ``name``, ``elements``) does not show as
    expected (empty when all match): element, field, expected, seen, the step."""
    lines = []
    for spec in specs:
        after = f' (after step {spec.step})' if spec.step else ''
        try:
            text, value = _shown(browser.elements, spec, browser.name)
        except (LookupError, ValueError):
            lines.append(f'{browser.name}: element {spec.name()} not found on the page{after}')
            continue
        if spec.text is not None and text != spec.text:
            lines.append(f'{browser.name}: element {spec.name()} text: expected {spec.text!r}, seen {text!r}{after}')
        if 'value' in spec.model_fields_set and value != spec.value:
            lines.append(f'{browser.name}: element {spec.name()} value: expected {spec.value!r}, seen '
                         f'{value!r}{after}')
    return lines


async def wait_elements(browser: Any, specs: list[ElementExpect], timeout_s: float) -> list[str]:
    """Wait up to ``timeout_s`` seconds until ``browser`` shows every element of ``specs`` as expected; returns the
    remaining diff lines (empty: all match)."""
    try:
        await browser.wait_for(lambda b: not element_diffs(b, specs), timeout_s)
    except asyncio.TimeoutError:
        pass
    return element_diffs(browser, specs)


async def run_check(player: Any, args: CheckStep) -> None:
    """The ``check`` step's handler. Raises RuntimeError with the diff (one line per element)."""
    browser = player.browsers[args.window]
    diffs = await wait_elements(browser, args.elements, args.timeout_ms / 1000)
    if diffs:
        raise RuntimeError('\n'.join(diffs))
