"""Finding an element the way a person (or NiceGUI's ``User`` fixture) names it, and turning a value into what the
element's Vue component emits.

Finding (:func:`find_element`): by **label** (``props.label``, ``text``, or — for elements that carry no label on
the wire, such as ``ui.radio``, ``ui.toggle`` and ``ui.slider`` — the text of the label element just before it in
its parent, its *caption*), by **content** (a substring of the label, caption, text, option labels, value or table
rows, as NiceGUI 3.18.0 ``ElementFilter(content=...)`` matches ``_displayed_contents``) or by **element id**. A
search that finds nothing raises LookupError naming the candidates. NiceGUI **markers** (``.mark()``) cannot be
used: they never reach the browser (3.18.0 ``Element._to_dict`` sends no ``_markers``), so the wire does not show
them; an app can expose a name with ``.props('data-testid=...')``, which content matching then finds.

Values (:func:`wire_value`), read from NiceGUI 3.18.0 ``nicegui/elements/*.py`` and checked against a real app
(``assets/apps/elements_app.py``):

=================  ===============================  ==========================================================
element            a person picks                   the ``update:modelValue`` / ``update:value`` argument
=================  ===============================  ==========================================================
select             an option label (a list if       ``{value: index, label}`` (a list of them); a string the
                   ``multiple``)                    options lack is sent raw only with ``new-value-mode``
radio, toggle      an option label                  the option's index
slider             a number within ``min``..``max`` the number
number (q-input)   a number                         the number as a string (the server does ``float()``)
input, textarea    text                             the text
switch, checkbox,  true / false                     the bool
expansion
tabs               a tab's label or name            the tab's ``name``
=================  ===============================  ==========================================================
"""
from __future__ import annotations

from typing import Any, Optional

from .elements import (
                       Elements,
                       click_listener,
                       describe_element,
                       label_of,
                       options_of,
                       value_listener,
)

NEEDS = ('value', 'click', 'upload', None)
"""What a found element must have: a value listener, a click listener, be an upload, or anything (None)."""


def captions(elements: Elements) -> dict[str, str]:
    """Element id → the text of the text element right before it in its parent (``ui.label('volume')`` followed
    by ``ui.slider``), for elements without a label of their own."""
    result: dict[str, str] = {}
    for parent in elements.values():
        previous_text: Optional[str] = None
        for child in parent.get('children') or []:
            child_id = str(child)
            element = elements.get(child_id)
            if element is None:
                continue
            if label_of(element) is None and previous_text is not None:
                result[child_id] = previous_text
            text = element.get('text')
            previous_text = str(text) if text is not None and not (element.get('props') or {}).get('label') else None
    return result


def _fits(element: dict, need: Optional[str]) -> bool:
    if need == 'value':
        return value_listener(element) is not None
    if need == 'click':
        return click_listener(element) is not None
    if need == 'upload':
        return element.get('tag') in ('nicegui-upload', 'q-uploader')
    return True


def _contents(element: dict, caption: Optional[str]) -> list[str]:
    props = element.get('props') or {}
    texts = [label_of(element), caption, props.get('placeholder')]
    texts += [str(o.get('label')) for o in options_of(element)]
    value = props.get('value', props.get('model-value'))
    if value is not None and not isinstance(value, (dict, list)):
        texts.append(str(value))
    for row in props.get('rows') or []:
        if isinstance(row, dict):
            texts += [str(v) for v in row.values()]
    for key in ('data-testid', 'name'):
        if props.get(key) is not None:
            texts.append(str(props[key]))
    return [t for t in texts if t]


def describe_candidates(elements: Elements, need: Optional[str], limit: int = 30) -> str:
    """``#5 select 'Fruit', #12 slider 'volume' …`` for the elements that fit ``need`` (see :data:`NEEDS`)."""
    caps = captions(elements)
    items = []
    for element_id, element in elements.items():
        if not _fits(element, need) or (need is None and element.get('text') is None and not element.get('props')):
            continue
        kind = describe_element(element_id, element)['kind']
        name = label_of(element) or caps.get(element_id)
        items.append(f'#{element_id} {kind}' + (f' {name!r}' if name else ''))
    more = f' … and {len(items) - limit} more' if len(items) > limit else ''
    return ', '.join(items[:limit]) + more or 'none'


def find_element(elements: Elements, window_name: str, *, label: Optional[str] = None,
                 content: Optional[str] = None, element_id: Optional[str] = None, kind: Optional[str] = None,
                 need: Optional[str] = None) -> tuple[str, dict]:
    """``(element id, element)`` of the first element (in page order) that matches every given criterion: ``label``
    (equal to its label or caption), ``content`` (a substring of what it shows), ``element_id``, ``kind`` (a
    ``WIDGET_KINDS`` value) and ``need`` (see :data:`NEEDS`). Raises ValueError when no criterion is given and
    LookupError naming ``window_name`` and the candidates when nothing matches."""
    if label is None and content is None and element_id is None and kind is None:
        raise ValueError(f'window {window_name!r}: give a label, content, element id or kind to find an element')
    caps = captions(elements)
    ids = [str(element_id)] if element_id is not None else list(elements)
    for eid in ids:
        element = elements.get(eid)
        if element is None or not _fits(element, need):
            continue
        if label is not None and label not in (label_of(element), caps.get(eid)):
            continue
        if content is not None and not any(content in text for text in _contents(element, caps.get(eid))):
            continue
        if kind is not None and describe_element(eid, element)['kind'] != kind:
            continue
        return eid, element
    wanted = ' '.join(f'{k} {v!r}' for k, v in (('label', label), ('content', content), ('id', element_id),
                                                ('kind', kind)) if v is not None)
    what = {'value': 'element with a value', 'click': 'clickable element', 'upload': 'upload'}.get(need or '',
                                                                                                  'element')
    raise LookupError(f'window {window_name!r}: no {what} with {wanted} '
                      f'(candidates: {describe_candidates(elements, need)})')


def wire_value(elements: Elements, element: dict, value: Any, window_name: str) -> Any:
    """The argument ``element`` (one of ``elements``) emits when a person sets ``value`` (see the module table).
    Raises LookupError naming the options for an unknown option, ValueError for a slider value out of range or a
    non-number for a number/slider."""
    tag = str(element.get('tag'))
    props = element.get('props') or {}
    kind = describe_element('0', element)['kind']
    name = label_of(element) or tag
    if kind in ('select', 'radio', 'toggle'):
        options = options_of(element)

        def pick(item: Any) -> Any:
            if isinstance(item, dict):
                return item
            for option in options:
                if str(option.get('label')) == str(item):
                    return option if kind == 'select' else option.get('value')
            if kind == 'select' and props.get('new-value-mode'):
                return item  # a new value, added by the server (new_value_mode)
            labels = ', '.join(repr(str(o.get('label'))) for o in options)
            raise LookupError(f'window {window_name!r}: {kind} {name!r} has no option {item!r} (options: {labels})')
        if value is None:
            return None
        if kind == 'select' and props.get('multiple'):
            return [pick(v) for v in (value if isinstance(value, list) else [value])]
        return pick(value)
    if kind == 'slider' or (tag == 'q-input' and props.get('type') == 'number'):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f'window {window_name!r}: {name!r} takes a number, got {value!r}') from None
        number_value = int(number) if number.is_integer() else number
        if kind == 'slider':
            low, high = props.get('min', 0), props.get('max', 100)
            if not low <= number <= high:
                raise ValueError(f'window {window_name!r}: slider {name!r} goes from {low} to {high}, got {value!r}')
            return number_value
        return str(value)
    if kind == 'tabs':
        return tab_name(elements, element, value)
    if kind in ('checkbox', 'switch', 'expansion'):
        return bool(value)
    return value


def tab_name(elements: Elements, tabs: dict, value: Any) -> Any:
    """The ``name`` of the child ``q-tab`` of ``tabs`` whose label or name is ``value`` (``value`` if none)."""
    for child in tabs.get('children') or []:
        props = (elements.get(str(child)) or {}).get('props') or {}
        if str(value) in (str(props.get('label')), str(props.get('name'))):
            return props.get('name')
    return value
