"""The policy panel: one editable control per :class:`ServerPolicy` field, built from the model itself,
each with its one-line description and the real issue/PR number. Edits apply live to the running server."""
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

from server.policy import ServerPolicy


class PolicyPanel(QScrollArea):
    """``PolicyPanel(get_policy, set_field)``: ``set_field(name, value)`` applies a change and raises
    ``pydantic.ValidationError`` to reject it. ``message`` carries feedback for the status bar."""
    message = Signal(str)

    def __init__(self, get_policy: Callable[[], ServerPolicy], set_field: Callable[[str, Any], None]) -> None:
        super().__init__()
        self._get_policy, self._set_field = get_policy, set_field
        self._editors: dict[str, QWidget] = {}
        self._updating = False
        inner = QWidget()
        form = QVBoxLayout(inner)
        form.setSpacing(2)
        policy = get_policy()
        for name, switch in policy.switches().items():
            field = type(policy).model_fields[name]
            editor = self._editor_for(name, field.annotation)
            self._editors[name] = editor
            row = QHBoxLayout()
            row.setContentsMargins(0, 6, 0, 0)
            title = QLabel(f'<b>{name}</b>')
            title.setToolTip(switch.description)
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
            self.message.emit(f'policy: {name} = {value}')
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
