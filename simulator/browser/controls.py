"""What a person does in a page: :class:`ElementControls`, the element half of ``SimulatedBrowser`` (a mixin).

Clicks, value changes of every element kind (see :mod:`.finding` for the values and how elements are found), typing,
and uploads. Each change is the ``event`` message NiceGUI 2.11.0 / 3.x ``nicegui/static/nicegui.js`` emits for the
component's Vue event (``{id, client_id, listener_id, args: stringifyEventArgs(...)}``, :mod:`.elements`); an
upload is the XHR of Quasar's QUploader that ``nicegui-upload`` wraps: ``POST prefix + props.url`` as
``multipart/form-data`` with one part per file, named after the file (QUploader ``fieldName`` default), one
request per file unless ``batch`` (NiceGUI 3.18.0 ``nicegui/elements/upload.py`` reads every part).
"""
from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import aiohttp

from . import elements as el
from . import finding
from .dialect import download_url

if TYPE_CHECKING:
    from .connection import Connection
    from .state import WindowView

    _Base = WindowView
else:
    _Base = object

UploadFile = Union[str, Path, tuple[str, bytes]]
"""A file to upload: a path, or ``(file name, content bytes)``."""


class ElementControls(_Base):
    """Element lookup and interaction; mixed into ``SimulatedBrowser`` (uses its ``elements``, ``client_id``,
    ``_connection``, ``_session``, ``_record``, ``_frame`` and ``_changed``)."""
    elements: dict[str, dict[str, Any]]
    clicks: int
    uploads: list[dict[str, Any]]
    _connection: Connection

    # ---- finding ------------------------------------------------------------------------------------------------
    def widgets(self) -> list[dict[str, Any]]:
        """The page's elements as simple widgets, in element-id order: ``{'id': str, 'kind': str, 'tag': str,
        'label': str | None, 'value': Any}`` where ``kind`` is one of :data:`~.elements.WIDGET_KINDS`; an element
        without a label of its own gets the text just before it (see :func:`.finding.captions`); select, radio and
        toggle values are option labels. Layout containers without text are left out."""
        caps = finding.captions(self.elements)
        items = el.widgets(self.elements)
        for item in items:
            if item['label'] is None and item['id'] in caps and item['kind'] not in ('label', 'other'):
                item['label'] = caps[item['id']]
        return items

    def find(self, label: Optional[str] = None, *, content: Optional[str] = None, element_id: Optional[str] = None,
             kind: Optional[str] = None, need: Optional[str] = None) -> tuple[str, dict]:
        """``(element id, element)`` found by label, content, element id and/or kind (see
        :func:`.finding.find_element`). Raises LookupError naming the candidates, ValueError without criteria."""
        return finding.find_element(self.elements, self.name, label=label, content=content, element_id=element_id,
                                    kind=kind, need=need)

    def find_clickable(self, label: str) -> tuple[str, dict]:
        """The element id and element whose label or text is ``label`` and that has a click listener.
        Raises LookupError naming the window and the labels it has."""
        return el.find_clickable(self.elements, label, self.name)

    def find_value_element(self, label: str) -> tuple[str, dict, dict]:
        """``(element id, element, listener)`` of the element labelled ``label`` (its label, text or caption) that
        has an ``update:value`` or ``update:modelValue`` listener. Raises LookupError naming the candidates."""
        element_id, element = self.find(label, need='value')
        listener = el.value_listener(element)
        assert listener is not None
        return element_id, element, listener

    def value(self, label: str) -> Any:
        """The current value of the element labelled ``label`` as this window shows it (option labels for select,
        radio and toggle). Raises LookupError."""
        _, element, listener = self.find_value_element(label)
        return el.shown_value(element, (element.get('props') or {}).get(el.value_prop(listener)))

    # ---- interaction: what a person does in the page ---------------------------------------------------------
    async def click(self, label: str) -> None:
        """Click the element labelled ``label``: emit ``event {id, client_id, listener_id, args: []}``.
        Raises LookupError if there is no such element, RuntimeError if the socket is not connected."""
        element_id, _ = self.find_clickable(label)
        await self.click_element(element_id)

    async def click_element(self, element_id: str) -> None:
        """Click the element with this id (see :meth:`click`). Raises KeyError for an unknown id."""
        element = self.elements[str(element_id)]
        listener = el.click_listener(element)
        if not self._connection.connected:
            raise RuntimeError(f'window {self.name!r}: cannot click, the socket is {self.state}')
        msg = el.event_message(element_id, self.client_id, listener['listener_id'] if listener else None, [])
        self._record('event_sent', element=element_id,
                     label=(element.get('props') or {}).get('label') or element.get('text'))
        self._frame('sent', 'event', msg)
        self.clicks += 1
        await self._connection.emit('event', msg)

    async def set_value(self, label: Optional[str], value: Any, *, content: Optional[str] = None,
                        element_id: Optional[str] = None) -> None:
        """Change the value of the element found by ``label`` (or ``content`` / ``element_id``) the way a person
        does in the real page.

        The component emits its ``update:<prop>`` Vue event and NiceGUI 2.11.0 / 3.x nicegui.js turns it into
        ``event {id, client_id, listener_id, args: stringifyEventArgs([arg], listener.args)}`` — each argument
        JSON-encoded as a string; ``arg`` is ``value`` in the element's wire format (:func:`.finding.wire_value`:
        an option label becomes ``{value: index, label}`` for a select, an index for radio/toggle …). The local
        element keeps ``arg`` (``props.value`` or ``props['model-value']``), as the Vue component shows it before
        the server answers. Raises LookupError (no such element or option), ValueError (a value the element cannot
        take) or RuntimeError (socket not connected)."""
        found_id, element = self.find(label, content=content, element_id=element_id, need='value')
        listener = el.value_listener(element)
        assert listener is not None
        if not self._connection.connected:
            raise RuntimeError(f'window {self.name!r}: cannot change {label or content or found_id!r}, '
                               f'the socket is {self.state}')
        arg = finding.wire_value(self.elements, element, value, self.name)
        element.setdefault('props', {})[el.value_prop(listener)] = arg
        msg = el.event_message(found_id, self.client_id, listener.get('listener_id'),
                               el.stringify_event_args([arg], listener.get('args')))
        self._record('event_sent', element=found_id, label=el.label_of(element) or label,
                     type=listener.get('type'), value=repr(arg)[:200])
        self._frame('sent', 'event', msg)
        self._changed()
        await self._connection.emit('event', msg)

    async def type_text(self, label: str, text: str, *, per_key_ms: float | None = None) -> None:
        """Type ``text`` into the input labelled ``label``, replacing its value (like Playwright's ``fill``).

        Without ``per_key_ms`` one value change with the whole text is sent (a paste). With ``per_key_ms`` (ms)
        one change per character is sent, each with the text so far, ``per_key_ms`` apart — what NiceGUI's
        ``nicegui-input`` (q-input + ``watch: inputValue``) emits while a person types. The listener's
        ``throttle`` is not applied. Raises LookupError / RuntimeError like :meth:`set_value`."""
        if per_key_ms is None:
            await self.set_value(label, text)
            return
        for i in range(1, len(text) + 1):
            await self.set_value(label, text[:i])
            if i < len(text) and per_key_ms > 0:
                await asyncio.sleep(per_key_ms / 1000)

    async def set_checked(self, label: str, checked: bool = True) -> None:
        """Tick (or untick) the checkbox/switch labelled ``label`` (``update:modelValue`` with a bool)."""
        await self.set_value(label, bool(checked))

    async def upload(self, files: list[UploadFile], label: Optional[str] = None, *, content: Optional[str] = None,
                     element_id: Optional[str] = None) -> list[int]:
        """Choose ``files`` in the upload found by ``label`` (or ``content`` / ``element_id``; the first upload when
        none is given) and send them as QUploader does (see the module docstring); choosing the same file again
        sends it again. Returns the HTTP statuses (one per request; 200 with ``{"upload": "success"}`` from NiceGUI,
        403 when the element is disabled). Raises LookupError (no upload), OSError (unreadable file),
        RuntimeError (the window is closed)."""
        found_id, element = self.find(label, content=content, element_id=element_id,
                                      kind=None if label or content or element_id else 'upload', need='upload')
        props = element.get('props') or {}
        session = self._session
        if session is None or self.url is None:
            raise RuntimeError(f'window {self.name!r}: cannot upload, the window is closed')
        loaded = [(str(f[0]), bytes(f[1])) if isinstance(f, tuple) else (Path(f).name, Path(f).read_bytes())
                  for f in files]
        url = download_url(self.url, self.prefix, str(props.get('url') or ''))  # same prefix rule
        batches = [loaded] if props.get('batch') else [[f] for f in loaded]
        statuses = []
        for batch in batches:
            form = aiohttp.FormData()
            for name, data in batch:
                form.add_field(name, data, filename=name, content_type='application/octet-stream')
            names = [n for n, _ in batch]
            self._record('upload_sent', element=found_id, files=names, bytes=sum(len(d) for _, d in batch))
            try:
                with self.context.routing():
                    async with session.post(url, data=form) as response:
                        status = response.status
                        await response.read()
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
                status = 0
                self._record('upload_failed', element=found_id, error=str(e) or type(e).__name__)
            self.uploads.append({'element': found_id, 'files': names, 'status': status,
                                 'sha256': [hashlib.sha256(d).hexdigest()[:12] for _, d in batch]})
            self._record('upload_answered', element=found_id, status=status)
            statuses.append(status)
        self._changed()
        return statuses

    async def emit_raw(self, event: str, payload: Any) -> None:
        """Send any socket.io message as is (for malformed-input tests). Raises RuntimeError when not connected."""
        if not self._connection.connected:
            raise RuntimeError(f'window {self.name!r}: not connected')
        self._frame('sent', event, payload)
        await self._connection.emit(event, payload)
