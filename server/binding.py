"""Bindable properties, modelled on NiceGUI ``nicegui/binding.py``, with the registry of owners as a policy.

NiceGUI 2.11.0 keeps ``bindable_properties[(id(owner), name)] = owner`` — a strong reference to every object
that ever set a bindable property, so per-client model objects live for ever and their ``weakref.finalize``
callbacks never run (#4109). The fix, released in 2.11.1 (PR #4122), holds no strong reference to owners (it
stores ``weakref.finalize`` objects; PR #4619 in 2.15.0 swapped them for a ``weakref.WeakValueDictionary``, which
``weak`` models). ``keys`` (a set of keys only) models PR #4332, which was closed unmerged.
:class:`BindingRegistry` implements all three, chosen by
``ServerPolicy.bindable_registry`` (``strong`` / ``weak`` / ``keys``) at the moment a property is first set.

Unlike NiceGUI the registry is an object (one per :class:`clientsim.server.app.EmbeddedServer`), found through the
owner's ``_binding_registry`` attribute, so several servers can live in one process.
"""
from __future__ import annotations

import weakref
from collections import defaultdict
from typing import Any, Callable, Optional

Key = tuple[int, str]
"""``(id(owner), property name)``, the key NiceGUI uses for a bindable property."""


class BindingRegistry:
    """The owners of bindable properties and the one-way bindings ``(owner, name) → callbacks``.

    ``BindingRegistry(mode_getter)`` where ``mode_getter()`` returns ``'strong'``, ``'weak'`` or ``'keys'``
    (read at every registration, so a live policy change applies to objects registered afterwards).

    * ``strong``: ``self.strong[key] = owner`` (NiceGUI 2.11.0 ``bindable_properties``) — owners never die;
    * ``weak``: ``self.weak[key] = owner`` in a ``WeakValueDictionary`` (the 2.11.1 fix, PR #4122, in the form
      PR #4619 gave it in 2.15.0);
    * ``keys``: ``self.keys.add(key)`` (PR #4332, closed unmerged).

    ``bindings[key]`` lists ``(callback, tag)``: ``callback(value)`` runs on every change of the property;
    ``tag`` (e.g. a client_id) lets :meth:`remove_tag` drop the bindings of a deleted client, as NiceGUI
    ``binding.remove(elements)`` does on client delete. Callbacks must not reference the owner strongly.
    """

    def __init__(self, mode_getter: Callable[[], str]) -> None:
        self._mode_getter = mode_getter
        self.strong: dict[Key, Any] = {}
        self.weak: weakref.WeakValueDictionary[Key, Any] = weakref.WeakValueDictionary()
        self.keys: set[Key] = set()
        self.bindings: defaultdict[Key, list[tuple[Callable[[Any], None], Optional[str]]]] = defaultdict(list)

    def register(self, owner: Any, name: str) -> None:
        """Record that ``owner.name`` is a bindable property (NiceGUI ``BindableProperty.__set__``).
        Raises ValueError for an unknown mode; TypeError in ``weak`` mode if ``owner`` cannot be weakly
        referenced."""
        key = (id(owner), name)
        mode = self._mode_getter()
        if mode == 'strong':
            self.strong[key] = owner
        elif mode == 'weak':
            self.weak[key] = owner
        elif mode == 'keys':
            self.keys.add(key)
        else:
            raise ValueError(f'unknown bindable_registry mode {mode!r}')

    def bind(self, owner: Any, name: str, callback: Callable[[Any], None], tag: str | None = None) -> None:
        """Call ``callback(value)`` whenever ``owner.name`` changes (``bind_text_from`` in NiceGUI)."""
        self.bindings[(id(owner), name)].append((callback, tag))

    def propagate(self, owner: Any, name: str, value: Any) -> None:
        """Run the callbacks bound to ``owner.name`` with the new ``value``. A callback that raises is skipped
        (the exception propagates after all callbacks ran, so the caller can record it)."""
        first_error: Optional[BaseException] = None
        for callback, _tag in list(self.bindings.get((id(owner), name), ())):
            try:
                callback(value)
            except Exception as e:  # pragma: no cover - defensive
                first_error = first_error or e
        if first_error is not None:
            raise first_error

    def remove_tag(self, tag: str) -> int:
        """Drop every binding with ``tag`` (a deleted client's); returns how many were removed."""
        removed = 0
        for key in list(self.bindings):
            kept = [b for b in self.bindings[key] if b[1] != tag]
            removed += len(self.bindings[key]) - len(kept)
            if kept:
                self.bindings[key] = kept
            else:
                del self.bindings[key]
        return removed

    def owners_held(self) -> int:
        """How many owners the registry keeps alive: ``len(strong)`` (weak and keys hold none)."""
        return len(self.strong)

    def __len__(self) -> int:
        """Number of registered bindable properties, whatever the mode."""
        return len(self.strong) + len(self.weak) + len(self.keys)

    def clear(self) -> None:
        """Forget everything (server stop)."""
        self.strong.clear()
        self.weak.clear()
        self.keys.clear()
        self.bindings.clear()


class BindableProperty:
    """A data descriptor like NiceGUI ``binding.BindableProperty``.

    The value is stored as ``owner.___<name>``. Setting a different value registers ``(id(owner), name)`` in
    the owner's ``_binding_registry`` (a :class:`BindingRegistry`) and propagates the value to the bound
    callbacks; setting an equal value does nothing. ``on_change(owner, value)`` runs after propagation.
    An owner without ``_binding_registry`` just stores the value.
    """

    def __init__(self, on_change: Callable[[Any, Any], Any] | None = None) -> None:
        self._change_handler = on_change
        self.name = ''

    def __set_name__(self, _owner_type: type, name: str) -> None:
        self.name = name

    def __get__(self, owner: Any, _owner_type: type | None = None) -> Any:
        if owner is None:
            return self
        return getattr(owner, '___' + self.name, None)

    def __set__(self, owner: Any, value: Any) -> None:
        has_attr = hasattr(owner, '___' + self.name)
        if has_attr and getattr(owner, '___' + self.name) == value:
            return
        setattr(owner, '___' + self.name, value)
        registry: Optional[BindingRegistry] = getattr(owner, '_binding_registry', None)
        if registry is not None:
            registry.register(owner, self.name)
            registry.propagate(owner, self.name, value)
        if self._change_handler is not None:
            self._change_handler(owner, value)
