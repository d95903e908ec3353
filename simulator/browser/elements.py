"""A page's elements: find and describe them, read their listeners, build the ``event`` messages a click or a
value change sends, apply ``update`` messages.

Pure functions on the element dicts of a page (``{str id: element dict}``, as :func:`~.page.parse_page` and
``update`` messages give them); no socket, no window. Models NiceGUI 2.11.0 ``nicegui/static/nicegui.js``
(``renderRecursively()`` turns each listener into a Vue handler that emits ``event``; ``stringifyEventArgs()``;
the ``update`` handler) and the element shapes of NiceGUI 2.11.0 ``nicegui/elements/*.py`` (``VALUE_PROP`` of
``nicegui/elements/mixins/value_element.py``), which 3.x keeps.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from .dialect import preserve_props

#: listener types of value elements (NiceGUI ValueElement: ``self.on(f'update:{VALUE_PROP}', ...)``)
VALUE_EVENTS = ('update:value', 'update:modelValue')
#: ``kind`` values of :meth:`SimulatedBrowser.widgets`
WIDGET_KINDS = ('button', 'label', 'input', 'checkbox', 'switch', 'progress', 'select', 'radio', 'toggle', 'slider',
                'tabs', 'expansion', 'table', 'upload', 'other')
_TAG_KINDS = {
    'nicegui-select': 'select', 'q-select': 'select', 'q-option-group': 'radio', 'q-btn-toggle': 'toggle',
    'q-slider': 'slider', 'q-tabs': 'tabs', 'nicegui-expansion': 'expansion', 'q-expansion-item': 'expansion',
    'nicegui-table': 'table', 'q-table': 'table', 'nicegui-upload': 'upload', 'q-uploader': 'upload',
    'q-btn': 'button', 'nicegui-button': 'button',
    'nicegui-input': 'input', 'q-input': 'input', 'nicegui-textarea': 'input', 'nicegui-number': 'input',
    'q-checkbox': 'checkbox', 'nicegui-checkbox': 'checkbox',
    'q-toggle': 'switch', 'nicegui-switch': 'switch',
    'q-linear-progress': 'progress', 'q-circular-progress': 'progress',
    'div': 'label', 'span': 'label', 'q-label': 'label', 'nicegui-label': 'label',
}

Elements = dict[str, dict[str, Any]]
"""A page's elements: element id (a string of digits) → NiceGUI element dict (``tag``, ``props``, ``text``,
``events`` …)."""


# ---- listeners ------------------------------------------------------------------------------------------------
def click_listener(element: dict) -> Optional[dict]:
    """The element's first ``click`` listener dict (``{'type': 'click', 'listener_id': str, ...}``) or None."""
    for listener in element.get('events') or []:
        if isinstance(listener, dict) and listener.get('type') == 'click':
            return listener
    return None


def value_listener(element: dict) -> Optional[dict]:
    """The element's ``update:value`` / ``update:modelValue`` listener dict, or None (also for progress bars,
    which NiceGUI gives such a listener although they only display a value)."""
    if element.get('tag') in ('q-linear-progress', 'q-circular-progress'):
        return None
    for listener in element.get('events') or []:
        if isinstance(listener, dict) and listener.get('type') in VALUE_EVENTS:
            return listener
    return None


def value_prop(listener: dict) -> str:
    """``update:value`` → ``value``; ``update:modelValue`` → ``model-value`` (NiceGUI's VALUE_PROP)."""
    return 'value' if listener.get('type') == 'update:value' else 'model-value'


def label_of(element: dict) -> Optional[str]:
    """``props.label``, else ``text``, as a string; None if the element has neither."""
    label = (element.get('props') or {}).get('label')
    if label is None:
        label = element.get('text')
    return None if label is None else str(label)


# ---- describing and finding -----------------------------------------------------------------------------------
def describe_element(element_id: str, element: dict) -> dict[str, Any]:
    """One element of a NiceGUI 2.x/3.x page as ``{'id', 'kind', 'tag', 'label', 'value'}``.

    Shapes read from real NiceGUI 2.11.0 pages: a button is ``q-btn`` with ``props.label``; a label is a ``div``
    with ``text`` (a number for the text inside a progress bar); ``ui.input`` is ``nicegui-input`` with
    ``props.value`` / ``props.label`` and an ``update:value`` listener; ``ui.checkbox`` is ``q-checkbox`` (label in
    ``text``, value in ``props['model-value']``, ``update:modelValue`` listener); ``ui.switch`` is ``q-toggle``;
    ``ui.linear_progress`` is ``q-linear-progress`` with ``props.value`` 0..1. Unknown tags are ``'other'``.
    """
    tag = str(element.get('tag'))
    props = element.get('props') or {}
    kind = _TAG_KINDS.get(tag, 'other')
    if kind == 'label' and element.get('text') is None:
        kind = 'other'  # a layout div
    if kind == 'other' and value_listener(element) is not None:
        kind = 'input'
    if kind in ('input', 'checkbox', 'switch', 'slider', 'tabs', 'expansion', 'select', 'radio', 'toggle'):
        listener = value_listener(element)
        value = props.get(value_prop(listener)) if listener else props.get('value', props.get('model-value'))
        value = shown_value(element, value)
    elif kind == 'progress':
        value = props.get('value')
    elif kind == 'table':
        value = props.get('rows')
    else:
        value = None
    return {'id': str(element_id), 'kind': kind, 'tag': tag, 'label': label_of(element), 'value': value}


def options_of(element: dict) -> list[dict[str, Any]]:
    """``props.options`` of a select / radio / toggle as NiceGUI 3.x sends them: ``[{'value': index, 'label': str}]``
    (NiceGUI 3.18.0 ``nicegui/elements/choice_element.py``); other shapes are wrapped the same way."""
    options = (element.get('props') or {}).get('options') or []
    return [o if isinstance(o, dict) and 'value' in o else {'value': i, 'label': str(o)} for i, o in enumerate(options)]


def shown_value(element: dict, value: Any) -> Any:
    """What a person sees as the value: option labels for select / radio / toggle (``{value: index, label}`` dicts
    or indexes on the wire), the value itself for anything else."""
    tag = element.get('tag')
    if _TAG_KINDS.get(str(tag)) not in ('select', 'radio', 'toggle'):
        return value
    by_index = {o.get('value'): o.get('label') for o in options_of(element)}

    def one(item: Any) -> Any:
        if isinstance(item, dict):
            return item.get('label', by_index.get(item.get('value')))
        return by_index.get(item, item)
    return [one(v) for v in value] if isinstance(value, list) else (None if value is None else one(value))


def widgets(elements: Elements) -> list[dict[str, Any]]:
    """The elements as :func:`describe_element` dicts in element-id order (numeric ids first, by number);
    layout containers without text are left out."""
    items = sorted(elements.items(), key=lambda kv: (not kv[0].isdigit(), int(kv[0]) if kv[0].isdigit() else 0))
    return [w for element_id, element in items
            if (w := describe_element(element_id, element))['kind'] != 'other' or w['label'] is not None]


def find_clickable(elements: Elements, label: str, window_name: str) -> tuple[str, dict]:
    """``(element id, element)`` of the first element whose ``props.label`` or ``text`` is ``label`` and that has
    a click listener. Raises LookupError naming ``window_name`` and the labels it has."""
    for element_id, element in elements.items():
        props = element.get('props') or {}
        if label in (props.get('label'), element.get('text')) and click_listener(element):
            return element_id, element
    have = sorted({str((e.get('props') or {}).get('label') or e.get('text'))
                   for e in elements.values() if click_listener(e)})
    raise LookupError(f'window {window_name!r}: no clickable element labelled {label!r} '
                      f'(clickable: {", ".join(have) or "none"})')


def find_value_element(elements: Elements, label: str, window_name: str) -> tuple[str, dict, dict]:
    """``(element id, element, listener)`` of the input/checkbox/switch labelled ``label`` (``props.label`` or
    ``text``) that has an ``update:value`` or ``update:modelValue`` listener. Raises LookupError naming
    ``window_name`` and the labels it has."""
    for element_id, element in elements.items():
        listener = value_listener(element)
        if listener is not None and label in ((element.get('props') or {}).get('label'), element.get('text')):
            return element_id, element, listener
    have = sorted({str(label_of(e)) for e in elements.values()
                   if value_listener(e) is not None and label_of(e) is not None})
    raise LookupError(f'window {window_name!r}: no input labelled {label!r} (inputs: {", ".join(have) or "none"})')


PROGRESS_TAG = 'q-linear-progress'
"""The tag of the element :func:`progress_of` reads (a page whose elements JSON lacks it has no progress)."""


def progress_of(elements: Elements) -> Optional[float]:
    """``props.value`` (0.0 … 1.0) of the first ``q-linear-progress`` element (the ``/convert`` page's bar);
    0.0 when it has no value, None when there is no such element or its value is not a number."""
    for element in elements.values():
        if isinstance(element, dict) and element.get('tag') == PROGRESS_TAG:
            value = (element.get('props') or {}).get('value')
            try:
                return float(value) if value is not None else 0.0
            except (TypeError, ValueError):
                return None
    return None


# ---- messages -------------------------------------------------------------------------------------------------
def stringify_event_args(args: list[Any], event_args: Optional[list]) -> list[str]:
    """Port of nicegui.js ``stringifyEventArgs`` (2.11.0 and 3.x): keep the first ``len(event_args)`` arguments
    (all when ``event_args`` is None), filter dict arguments to the keys listed in ``event_args[i]`` (all when it
    is None) and JSON-encode each one into a string."""
    result = []
    for i, arg in enumerate(args):
        if event_args is not None and i >= len(event_args):
            continue
        if isinstance(arg, dict):
            wanted = None if event_args is None else event_args[i]
            arg = {k: v for k, v in arg.items() if wanted is None or k in wanted}
        result.append(json.dumps(arg, separators=(',', ':')))
    return result


def event_message(element_id: str, client_id: Optional[str], listener_id: Any, args: list[str]) -> dict[str, Any]:
    """The ``event`` payload nicegui.js emits for a listener: ``{id, client_id, listener_id, args}`` with a
    numeric ``id`` as int (``args`` already stringified, see :func:`stringify_event_args`)."""
    return {'id': int(element_id) if str(element_id).isdigit() else element_id, 'client_id': client_id,
            'listener_id': listener_id, 'args': args}


def apply_update(elements: Elements, payload: dict[str, Any]) -> int:
    """Apply an ``update`` message ``{element id: element dict or None, '_id': int}`` to ``elements`` in place:
    None deletes, a dict replaces (keeping ``preserved_props``, NiceGUI 3.x). Returns the number of elements
    in the message (``_id`` not counted)."""
    for element_id, element in payload.items():
        if element_id == '_id':
            continue
        if element is None:
            elements.pop(str(element_id), None)
        elif isinstance(element, dict):
            preserve_props(elements.get(str(element_id)), element)
            elements[str(element_id)] = element
    return len(payload) - ('_id' in payload)
