"""The policy panel: one editable control per :class:`ServerPolicy` field, built from the model itself,
each with its one-line description and the real issue/PR number. Edits apply live to the running server.

It shows the policy in force: a field that differs from the shipped default (NiceGUI 2.11.0) is highlighted,
a field the playing scenario sets is tagged "scenario", a field the person changed by hand is tagged "yours".
When a scenario plays, the person's changes are kept if ``keep_box`` is ticked, else reported as overridden
(:meth:`PolicyPanel.resolve`) — never silently dropped."""
from __future__ import annotations

import typing
from typing import Any, Callable

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from clientsim.server.policy import ServerPolicy


class PolicyPanel(QScrollArea):
    """``PolicyPanel(get_policy, set_field)``: ``set_field(name, value)`` applies a change and raises
    ``pydantic.ValidationError`` to reject it. ``message`` carries feedback for the status bar."""
    message = Signal(str)

    def __init__(self, get_policy: Callable[[], ServerPolicy], set_field: Callable[[str, Any], None]) -> None:
        super().__init__()
        self._get_policy, self._set_field = get_policy, set_field
        self._editors: dict[str, QWidget] = {}
        self._titles: dict[str, QLabel] = {}
        self._updating = False
        #: field → value the person set by hand (kept until a scenario overrides it)
        self.hand_changes: dict[str, Any] = {}
        #: fields the scenario in force sets (empty in a manual session)
        self.scenario_fields: set[str] = set()
        inner = QWidget()
        form = QVBoxLayout(inner)
        form.setSpacing(2)
        self.keep_box = QCheckBox('Keep my changes when a scenario plays')
        self.keep_box.setToolTip('Ticked: fields you changed here stay in force when you press Play (the run '
                                 'then differs from the file). Unticked: the scenario\'s policy wins and the '
                                 'fields it overrode are listed under Play.')
        self.reason = QLabel('')
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet('color: #ef6c00;')
        self.reason.hide()
        form.addWidget(self.reason)
        form.addWidget(self.keep_box)
        self.key = QLabel('<span style="background:#fff3c4">&nbsp;highlighted&nbsp;</span> differs from shipped '
                          'NiceGUI 2.11.0 · <i>scenario</i>: set by the scenario · <i>yours</i>: changed by hand')
        self.key.setWordWrap(True)
        self.key.setStyleSheet('color: #616161; font-size: 11px;')
        form.addWidget(self.key)
        policy = get_policy()
        for name, switch in policy.switches().items():
            field = type(policy).model_fields[name]
            editor = self._editor_for(name, field.annotation)
            self._editors[name] = editor
            row = QHBoxLayout()
            row.setContentsMargins(0, 6, 0, 0)
            title = QLabel(f'<b>{name}</b>')
            title.setToolTip(switch.description)
            self._titles[name] = title
            editor.setMinimumWidth(110)
            row.addWidget(title)
            row.addStretch(1)
            row.addWidget(editor)
            form.addLayout(row)
            desc = QLabel(f'{switch.description} <span style="color:#1565c0">[{switch.reference}]</span>'
                          if switch.reference else switch.description)
            desc.setWordWrap(True)
            desc.setTextFormat(Qt.TextFormat.RichText)
            desc.setStyleSheet('color: #616161; font-size: 11px;')
            form.addWidget(desc)
        form.addStretch(1)
        self.setWidget(inner)
        self.setWidgetResizable(True)
        self.refresh()

    def _editor_for(self, name: str, annotation: Any) -> QWidget:
        origin = typing.get_origin(annotation)
        if annotation is bool:
            box = QCheckBox('fix' if name != 'idempotent_delete' else 'on')
            box.toggled.connect(lambda v, n=name: self._apply(n, v))
            return box
        if origin is typing.Literal:
            combo = QComboBox()
            combo.addItems([str(a) for a in typing.get_args(annotation)])
            combo.currentTextChanged.connect(lambda v, n=name: self._apply(n, v))
            return combo
        if annotation in (float, int):
            spin = QDoubleSpinBox()
            spin.setRange(0, 86400)
            spin.setDecimals(2)
            spin.setSingleStep(0.5)
            spin.setSuffix(' s' if name.endswith('_s') else (' ms' if name.endswith('_ms') else ''))
            spin.valueChanged.connect(lambda v, n=name, t=annotation: self._apply(n, t(v)))
            return spin
        edit = QLineEdit()
        edit.setPlaceholderText('comma-separated')
        edit.editingFinished.connect(lambda n=name, e=edit: self._apply(
            n, [s.strip() for s in e.text().split(',') if s.strip()]))
        return edit

    def _apply(self, name: str, value: Any) -> None:
        if self._updating:
            return
        try:
            self._set_field(name, value)
            self.hand_changes[name] = value
            self.message.emit(f'policy: {name} = {value}')
            self._highlight()
        except ValidationError as e:
            self.message.emit(f'policy {name}: {e.errors()[0]["msg"]}')
            self.refresh()

    def refresh(self) -> None:
        """Show the current policy's values (after a scenario set a new policy)."""
        self._updating = True
        try:
            policy = self._get_policy()
            for name, editor in self._editors.items():
                value = getattr(policy, name)
                if isinstance(editor, QCheckBox):
                    editor.setChecked(bool(value))
                elif isinstance(editor, QComboBox):
                    editor.setCurrentText(str(value))
                elif isinstance(editor, QDoubleSpinBox):
                    editor.setValue(float(value))
                elif isinstance(editor, QLineEdit):
                    editor.setText(', '.join(map(str, value)) if isinstance(value, (list, tuple, set)) else str(value))
        finally:
            self._updating = False
        self._highlight()

    def _highlight(self) -> None:
        policy = self._get_policy()
        shipped = type(policy)()
        for name, title in self._titles.items():
            tags = [t for t, on in (('scenario', name in self.scenario_fields), ('yours', name in self.hand_changes))
                    if on]
            changed = getattr(policy, name) != getattr(shipped, name)
            title.setText(f'<span style="{"background:#fff3c4" if changed else ""}"><b>{name}</b></span>'
                          + (f' <i style="color:#1565c0">{", ".join(tags)}</i>' if tags else ''))

    def resolve(self, scenario_policy: ServerPolicy) -> tuple[ServerPolicy, dict[str, Any], dict[str, tuple]]:
        """The policy a scenario run uses, given the scenario's: ``(policy, kept, overridden)``. ``kept``: the
        hand changes kept (``keep_box`` ticked; field → value); ``overridden``: the hand changes the scenario
        replaced (field → (yours, scenario's)). Overridden changes are forgotten; kept ones stay."""
        self.scenario_fields = set(scenario_policy.model_fields_set)
        if self.keep_box.isChecked() and self.hand_changes:
            kept = dict(self.hand_changes)
            policy = type(scenario_policy).model_validate({**scenario_policy.model_dump(exclude_unset=True), **kept})
            return policy, kept, {}
        overridden = {n: (v, getattr(scenario_policy, n)) for n, v in self.hand_changes.items()
                      if getattr(scenario_policy, n) != v}
        self.hand_changes.clear()
        return scenario_policy, {}, overridden

    def reset_to_shipped(self) -> None:
        """Every field back to shipped NiceGUI 2.11.0 (``ServerPolicy()``) on the live server; hand changes
        and scenario marks are forgotten."""
        shipped = type(self._get_policy())()
        for name in self._editors:
            if getattr(self._get_policy(), name) != getattr(shipped, name):
                self._set_field(name, getattr(shipped, name))
        self.hand_changes.clear()
        self.scenario_fields = set()
        self.refresh()
        self.message.emit('policy: reset to shipped NiceGUI 2.11.0')

    def set_disabled_reason(self, reason: str | None) -> None:
        """Disable every control with ``reason`` shown above them (target mode), or enable them (None)."""
        self.reason.setText(reason or '')
        self.reason.setVisible(bool(reason))
        for editor in self._editors.values():
            editor.setEnabled(not reason)
            editor.setToolTip(reason or '')
        self.keep_box.setEnabled(not reason)
