"""BrowserWindow: the top-level Qt window of one :class:`SimulatedBrowser`.

It shows the window's name, an address bar, the connection state, client_id and sid, the page's elements
as Qt widgets (a person can click the button), and a downloads shelf. The download outcome colours the
whole window: green when the file arrived, red when every GET failed (with the status), neutral otherwise.
"""
from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any, Callable, Optional

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from clientsim.simulator import browser as b
from clientsim.simulator.outcome import FAILED, OUTCOMES, RECEIVED, window_state_colour
from clientsim.simulator.tasks import TaskGroup

from .throttle import Throttle


class LatencyEditors(QWidget):
    """Three spin boxes (ms) editing a :class:`~simulator.browser.Latency` in place: page GET, handshake,
    download. ``LatencyEditors(latency)``; changes apply to the next page load, handshake or download."""

    FIELDS = (('page_get_ms', 'GET'), ('handshake_ms', 'handshake'), ('download_ms', 'download'))

    def __init__(self, latency: b.Latency, title: str = 'latency ms', caption_above: bool = False) -> None:
        super().__init__()
        self.latency = latency
        self.spins: dict[str, QSpinBox] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(1)
        row = QHBoxLayout()
        row.setSpacing(3)
        caption = QLabel(title)
        caption.setStyleSheet('color: #616161; font-size: 11px;')
        (outer if caption_above else row).addWidget(caption)
        outer.addLayout(row)
        for field_name, label in self.FIELDS:
            spin = QSpinBox()
            spin.setObjectName(f'latency-{field_name}')
            spin.setRange(0, 60000)
            spin.setSingleStep(10)
            spin.setPrefix(f'{label} ')
            spin.setValue(int(getattr(latency, field_name)))
            spin.setToolTip(f'{field_name}: {label} delay in ms')
            # never clip "download 100": room for the prefix, four digits and the arrows
            spin.setMinimumWidth(spin.fontMetrics().horizontalAdvance(f'{label} 9999') + 28)
            spin.valueChanged.connect(lambda v, f=field_name: setattr(self.latency, f, float(v)))
            self.spins[field_name] = spin
            row.addWidget(spin, 1)

    def set_values(self, page_get_ms: float, handshake_ms: float, download_ms: float) -> None:
        """Set all three (ms) in the boxes and in the latency."""
        for (field_name, _label), value in zip(self.FIELDS, (page_get_ms, handshake_ms, download_ms), strict=False):
            self.spins[field_name].setValue(int(value))


def _human_bytes(n: int) -> str:
    return f'{n} B' if n < 1024 else f'{n / 1024:.1f} KiB'


class BrowserWindow(QWidget):
    """One simulated browser as a top-level window. ``closed_by_user`` fires when the person closes it
    (the owner then closes the browser and awaits ``tasks.cancel_all()``). The browser actions a person starts
    here (reload, go, click, type, tick) run in ``tasks``, a :class:`TaskGroup` on the qasync loop; an action
    that fails with LookupError, RuntimeError, ValueError or OSError shows its message as the page error."""
    closed_by_user = Signal(object)
    inspect_requested = Signal(object)
    detach_requested = Signal(object)

    def __init__(self, browser: b.SimulatedBrowser, base_url: Callable[[], Optional[str]] | None = None) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.browser = browser
        self._base_url = base_url or (lambda: None)
        self._closing_programmatically = False
        self.tasks = TaskGroup(f'window {browser.name}', on_error=self._action_failed)
        self.setWindowTitle(f'{browser.name} — clientsim window')
        self.setObjectName('BrowserWindow')
        self.resize(380, 440)
        self.setMinimumSize(220, 230)

        self.name_label = QLabel(browser.name)
        self.name_label.setStyleSheet('font-size: 15px; font-weight: 600;')
        self.state_label = QLabel()
        self.state_label.setTextFormat(Qt.TextFormat.RichText)
        self.detach_button = QPushButton('Detach')
        self.detach_button.setToolTip('Open this window in full as its own top-level window (Dock brings it back)')
        self.detach_button.clicked.connect(lambda: self.detach_requested.emit(self))
        self.close_button = QPushButton('✕')
        self.close_button.setToolTip('Close this window (Ctrl+W)')
        self.close_button.setFixedWidth(28)
        self.close_button.clicked.connect(self.close)
        top = QHBoxLayout()
        top.addWidget(self.name_label)
        top.addStretch(1)
        top.addWidget(self.state_label)
        top.addWidget(self.detach_button)
        top.addWidget(self.close_button)

        self.address = QLineEdit()
        self.address.setPlaceholderText('URL or path, e.g. / or /private')
        self.address.returnPressed.connect(self._go)
        self.go_button = QPushButton('Go')
        self.go_button.clicked.connect(self._go)
        self.reload_button = QPushButton('⟳')
        self.reload_button.setToolTip('Reload (F5)')
        self.reload_button.clicked.connect(lambda: self.tasks.spawn(self.browser.reload()))
        self.inspect_button = QPushButton('Frames')
        self.inspect_button.setToolTip('Frame inspector: every socket.io message of this window (Ctrl+I)')
        self.inspect_button.clicked.connect(lambda: self.inspect_requested.emit(self))
        bar = QHBoxLayout()
        bar.addWidget(self.reload_button)
        bar.addWidget(self.address, 1)
        bar.addWidget(self.go_button)
        bar.addWidget(self.inspect_button)

        self.ids_label = QLabel()
        self.ids_label.setStyleSheet('color: #555; font-family: monospace; font-size: 11px;')
        self.ids_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.outcome_label = QLabel()
        self.outcome_label.setObjectName('outcome')
        self.outcome_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.outcome_label.setWordWrap(True)

        self.page = QFrame()
        self.page.setObjectName('page')
        self.page.setFrameShape(QFrame.Shape.StyledPanel)
        self.page_layout = QVBoxLayout(self.page)
        self.page_layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.page)
        scroll.setMinimumHeight(50)

        self.shelf = QListWidget()
        self.shelf.setMaximumHeight(60)
        self.shelf.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

        self.latency_editors = LatencyEditors(browser.latency, 'ms')
        self.latency_editors.setToolTip('This window\'s latency in ms: before its page GET, before it sends the '
                                        'handshake, before it fetches a download after the download event')

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(3)
        layout.addLayout(top)
        layout.addLayout(bar)
        layout.addWidget(self.latency_editors)
        layout.addWidget(self.ids_label)
        layout.addWidget(self.outcome_label)
        layout.addWidget(scroll, 1)
        layout.addWidget(QLabel('Downloads'))
        layout.addWidget(self.shelf)

        QShortcut(QKeySequence.StandardKey.Refresh, self, activated=lambda: self.tasks.spawn(self.browser.reload()))
        QShortcut(QKeySequence('Ctrl+L'), self, activated=self.address.setFocus)
        QShortcut(QKeySequence('Ctrl+I'), self, activated=lambda: self.inspect_requested.emit(self))
        QShortcut(QKeySequence.StandardKey.Close, self, activated=self.close)

        self._stale = False
        self._rendered_elements: Any = None
        self._throttle = Throttle(self.refresh, 50, self)
        browser.listeners.append(self._on_browser_changed)
        self.refresh()

    # ---- browser → view -------------------------------------------------------------------------------------
    def _on_browser_changed(self, _browser: b.SimulatedBrowser) -> None:
        if self.isHidden():  # a tile in the workspace: redraw when shown, not for every change
            self._stale = True
        else:
            self._throttle()

    def showEvent(self, event: Any) -> None:  # noqa: N802
        if self._stale:
            self._stale = False
            self.refresh()
        super().showEvent(event)

    def refresh(self) -> None:
        """Redraw state, ids, outcome, elements and shelf from the browser."""
        br = self.browser
        colour = window_state_colour(br.state)
        self.state_label.setText(f'<span style="color:{colour}; font-size:14px">●</span> {br.state}')
        self.state_label.setToolTip(br.page_error or '')
        if not self.address.hasFocus():
            self.address.setText(br.url or '')
            self.address.setCursorPosition(0)
        self.ids_label.setText(f'client_id {br.client_id or "—"}\nsid {br.sid or "—"}   tab {br.tab_id[:8]}')
        self._refresh_outcome()
        self._refresh_elements()
        self._refresh_shelf()

    def _refresh_outcome(self) -> None:
        br = self.browser
        outcome = br.download_outcome
        style = OUTCOMES[outcome]
        if outcome == RECEIVED:
            d = next(d for d in br.downloads if d.ok)
            text = f'✔ received {d.filename} ({_human_bytes(d.bytes)})'
        elif outcome == FAILED:
            d = br.downloads[-1]
            text = f'✘ download failed: {d.status or d.error} ({d.filename})'
        elif br.download_events:
            text = 'download event received, fetching…'
        elif br.page_error:
            text = br.page_error
        else:
            text = style.label
        if br.clicks:
            text += f'  ·  clicked here{f" ×{br.clicks}" if br.clicks > 1 else ""}'
        self.outcome_label.setText(text)
        if self.property('outcome') == outcome:
            return  # restyling re-polishes the whole window: only when the outcome changes
        self.outcome_label.setStyleSheet(
            f'QLabel#outcome {{ background: {style.banner}; color: {style.banner_text}; font-weight: 600; '
            'padding: 6px; border-radius: 4px; }')
        self.setStyleSheet(f'QWidget#BrowserWindow {{ background: {style.background}; }}'
                           f'QFrame#page {{ background: white; border: 2px solid {style.colour}; '
                           'border-radius: 4px; }')
        self.setProperty('outcome', outcome)

    def _refresh_shelf(self) -> None:
        downloads = self.browser.downloads
        if self.shelf.count() == len(downloads):
            return
        self.shelf.clear()
        for d in downloads:
            text = (f'✔ {d.filename}  {_human_bytes(d.bytes)}  200  sha256 {d.sha256[:12]}…' if d.ok
                    else f'✘ {d.filename}  {d.status or d.error}')
            item = QListWidgetItem(text)
            item.setForeground(Qt.GlobalColor.darkGreen if d.ok else Qt.GlobalColor.red)
            item.setToolTip(f'{d.url}\nstatus {d.status}\n{d.bytes} bytes\nsha256 {d.sha256}\nat {d.t_ms:.1f} ms')
            self.shelf.addItem(item)

    def _refresh_elements(self) -> None:
        elements = self.browser.elements
        snapshot = repr(elements)
        if snapshot == self._rendered_elements:
            return
        self._rendered_elements = snapshot
        while self.page_layout.count():
            item = self.page_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        if not elements:
            placeholder = QLabel('(no page)' if self.browser.state in (b.CLOSED, b.LOAD_FAILED) else '(empty page)')
            placeholder.setStyleSheet('color: #9e9e9e;')
            self.page_layout.addWidget(placeholder)
            return
        for item in self.browser.widgets():
            widget = self._widget_for(item)
            if widget is not None:
                self.page_layout.addWidget(widget)

    def _widget_for(self, item: dict) -> Optional[QWidget]:
        """A Qt widget for one element of :meth:`SimulatedBrowser.widgets` (button, label, input, checkbox/switch,
        progress); any other element as a box showing its tag. Inputs and checkboxes send what a person types
        or ticks, as the real page would (``set_value`` / ``set_checked``)."""
        kind, label, value, element_id = item['kind'], item.get('label'), item.get('value'), item['id']
        if kind == 'button':
            button = QPushButton(str(label or item['tag']))
            button.setObjectName(f'element-{element_id}')
            button.clicked.connect(lambda _=False, eid=element_id: self.tasks.spawn(self.browser.click_element(eid)))
            return button
        if kind == 'progress':
            bar = QProgressBar()
            number = float(value) if isinstance(value, (int, float)) else 0.0
            bar.setRange(0, 1000)
            bar.setValue(int(number * 1000))
            bar.setFormat(f'{number * 100:.0f} %')
            return bar
        if kind == 'input':
            edit = QLineEdit('' if value is None else str(value))
            edit.setPlaceholderText(str(label or ''))
            edit.setToolTip(f'{label}: press Enter to send the value')
            if label:
                edit.editingFinished.connect(
                    lambda e=edit, lb=label: self.tasks.spawn(self.browser.set_value(lb, e.text())))
            else:
                edit.setReadOnly(True)
            return edit
        if kind in ('checkbox', 'switch'):
            box = QCheckBox(str(label or ''))
            box.setChecked(bool(value))
            if label:
                box.toggled.connect(lambda checked, lb=label: self.tasks.spawn(self.browser.set_checked(lb, checked)))
            else:
                box.setEnabled(False)
            return box
        if kind == 'label':
            return QLabel(str(label if label is not None else ''))
        box = QLabel(f'<{item["tag"]}>' + (f' {label}' if label else ''))
        box.setStyleSheet('color: #777; border: 1px dashed #bbb; padding: 2px;')
        return box

    # ---- view → browser -------------------------------------------------------------------------------------
    def _action_failed(self, exc: BaseException, task: asyncio.Task) -> None:
        if isinstance(exc, (LookupError, RuntimeError, ValueError, OSError)):
            self.browser.page_error = str(exc)
            self.refresh()
        else:
            logging.getLogger('clientsim.gui').warning('%s: action %s failed: %r', self.browser.name,
                                                       task.get_name(), exc)

    def _go(self) -> None:
        text = self.address.text().strip() or '/'
        base = self.browser.url or (self._base_url() or '') + '/'
        self.tasks.spawn(self.browser.navigate(urllib.parse.urljoin(base, text)))

    def set_docked(self, docked: bool) -> None:
        """Label the Detach/Dock button for a window inside the workspace (``docked``) or on its own."""
        self.detach_button.setText('Detach' if docked else 'Dock')
        self.detach_button.setToolTip('Open this window in full as its own top-level window' if docked
                                      else 'Put this window back into the main window\'s windows area')

    def close_programmatically(self) -> None:
        """Close the Qt window without emitting ``closed_by_user``."""
        self._closing_programmatically = True
        self.close()

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        if self._on_browser_changed in self.browser.listeners:
            self.browser.listeners.remove(self._on_browser_changed)
        if not self._closing_programmatically:
            self.closed_by_user.emit(self)
        super().closeEvent(event)
