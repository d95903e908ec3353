"""Scenario steps: each step's arguments model (pydantic) and its handler side by side, in one registry.

:data:`STEP_TYPES` maps a step keyword (``open``, ``click``, ``storm`` …) to a :class:`StepType`: the model that
validates the YAML value, the normaliser that turns the short forms (``open: alice``, ``wait: 500``) into the
model's fields, and the coroutine that plays it. It is built in exactly one place, at the end of this module;
:mod:`clientsim.simulator.scenario` validates with it and :mod:`clientsim.simulator.player` dispatches with it.

Handlers get the player through the :class:`StepRunner` protocol (what a step may use: windows by name, URLs,
the seeded random generator), so this module does not import :mod:`clientsim.simulator.player`. No Qt import here.
"""
from __future__ import annotations

import asyncio
import gc
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, NamedTuple, Optional, Protocol, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .element_checks import CheckStep, run_check
from .timeline import SERVER

if TYPE_CHECKING:
    from .browser import SimulatedBrowser


class StrictModel(BaseModel):
    """A model of a part of a scenario file: unknown fields are errors (``extra='forbid'``)."""
    model_config = ConfigDict(extra='forbid')


class StepRunner(Protocol):
    """What a step handler may use of the player (:class:`clientsim.simulator.player.ScenarioPlayer` implements it).

    ``browsers``: window name → its :class:`SimulatedBrowser`; ``rng``: the scenario's seeded random generator.
    """
    browsers: dict[str, SimulatedBrowser]
    rng: random.Random
    #: the real app (:class:`clientsim.simulator.target.ExternalTarget`) when the scenario has ``target:``, else None
    target: Any
    #: the :class:`clientsim.simulator.lab.Lab` (``duplicate`` adds an undeclared window with ``lab.add``)
    lab: Any

    def windows(self, names: list[str]) -> list[SimulatedBrowser]:
        """Browsers by name; ``all`` expands to every window. Raises KeyError for an unknown name."""
        ...

    def url_for(self, page: str) -> str:
        """Absolute URL of ``page`` (a path on the target, or already an http URL)."""
        ...

    def page_of(self, window: str) -> str:
        """The page the scenario gives ``window`` (``windows[].page``). Raises KeyError."""
        ...


# ---- argument models ----------------------------------------------------------------------------------------------
class OpenStep(StrictModel):
    """Open windows on their page (or ``page``) concurrently; ``wait`` for their handshakes."""
    windows: list[str]
    page: Optional[str] = None
    wait: bool = True


class ClickStep(StrictModel):
    """Click the element labelled ``label`` in ``window`` (or, with ``id``, the element with that id: what
    ``clientsim record`` writes when no label is unique)."""
    window: str
    label: str = 'Download'
    id: Optional[str] = None

    @field_validator('id', mode='before')
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class TypeStep(StrictModel):
    """Type ``text`` into the input labelled ``label`` in ``window`` (replacing its value); with ``per_key_ms``
    one value change per character, that many ms apart (see ``SimulatedBrowser.type_text``)."""
    window: str
    label: str
    text: str
    per_key_ms: Optional[float] = Field(None, ge=0, le=60000)


class WaitStep(StrictModel):
    """Wait ``ms`` milliseconds."""
    ms: float = Field(ge=0, le=600000)


class NavigateStep(StrictModel):
    """Navigate ``window`` to ``url``; with ``before_handshake`` leave the new page before its handshake."""
    window: str
    url: str
    before_handshake: bool = False


class ReloadStep(StrictModel):
    """Reload ``windows``."""
    windows: list[str]


class CloseStep(StrictModel):
    """Close ``windows`` (``all`` for every window)."""
    windows: list[str]


class DropStep(StrictModel):
    """Drop the connection of ``windows`` as on network loss (no close): the server notices after its
    engine.io ping timeout (policy ``ping_interval_s + ping_timeout_s``). See ``SimulatedBrowser.drop_connection``.
    Windows with auto-reconnect (those of a ``target``) notice the loss after ``notice_ms`` (default: the engine.io
    ping timeout) and reconnect with nicegui.js's backoff; ``auto_reconnect: false`` keeps the network down."""
    windows: list[str]
    notice_ms: Optional[float] = Field(None, ge=0, le=600000)
    auto_reconnect: Optional[bool] = None


class ReconnectStep(StrictModel):
    """socket.io reconnect of ``windows``: new sid, same client_id/document_id/tab_id, then the handshake;
    ``wait`` for its ack."""
    windows: list[str]
    wait: bool = True


class _Finder(StrictModel):
    """How an element is found: ``label`` (its label, text or the text just before it), ``content`` (a substring
    of what it shows) or ``id`` (the element id). NiceGUI markers (``.mark()``) never reach the browser."""
    window: str
    label: Optional[str] = None
    content: Optional[str] = None
    id: Optional[str] = None

    @field_validator('id', mode='before')
    @classmethod
    def _id_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class SetStep(_Finder):
    """Set the value of an element in ``window`` as a person does: an option label for select (a list for a
    multiple select), radio and toggle, a number for slider and number, text for input and textarea, true/false
    for switch, checkbox and expansion, a tab's label for tabs (see ``clientsim.simulator.browser.finding``)."""
    value: Any


class UploadStep(_Finder):
    """Choose ``files`` in an upload (the first one when no label/content/id is given) and send them as the
    browser does (one POST per file). A file is a path (relative to the scenario file) or ``{name, text}``."""
    files: list[Union[str, dict[str, str]]] = Field(min_length=1)

    @field_validator('files')
    @classmethod
    def _inline(cls, v: list) -> list:
        for f in v:
            if isinstance(f, dict) and set(f) != {'name', 'text'}:
                raise ValueError('an inline file is {name: ..., text: ...}')
        return v


class DuplicateStep(StrictModel):
    """The browser's "Duplicate tab" of ``window`` as the window ``as`` (declared in ``windows`` or new): nicegui.js
    2.5.0+ gives the copy a new tab_id and sends the original's as old_tab_id; before 2.5.0 it kept the tab_id."""
    model_config = ConfigDict(extra='forbid', populate_by_name=True)
    window: str
    as_: str = Field(alias='as', min_length=1, max_length=64)


class WaitTextStep(StrictModel):
    """Wait until ``window`` shows ``text`` (a substring of any element's label, text or value), or with
    ``absent`` until it shows it no more; the step fails after ``timeout_ms``."""
    window: str
    text: str = Field(min_length=1)
    absent: bool = False
    timeout_ms: float = Field(5000.0, gt=0, le=600000)


class GcStep(StrictModel):
    """Run ``gc.collect()`` in the server's process (finalizers of collectable models fire); no fields."""


class StallStep(StrictModel):
    """Hold every byte between a real app and its dependency for ``ms`` milliseconds from now (``target: {redis:
    true}``: the app's Redis, through :class:`clientsim.simulator.dependency.StallProxy`); the next steps run
    meanwhile (e.g. ``open``, so a socket connects during the stall — problem 6)."""
    ms: float = Field(gt=0, le=600000)


class WaitProgressStep(StrictModel):
    """Wait until ``window`` shows progress (its ``q-linear-progress`` value, 0..1) ``>= at_least``; the step
    fails after ``timeout_ms``."""
    window: str
    at_least: float = Field(ge=0.0, le=1.0)
    timeout_ms: float = Field(5000.0, gt=0, le=600000)


class StormStep(StrictModel):
    """Fast-navigation storm: ``rounds`` times, every window of ``windows`` navigates to ``url`` at once (not
    waiting for its handshake), with a handshake delay drawn uniformly from ``handshake_ms`` ``[min, max]`` by
    the scenario's seeded random generator (``seed``); each window navigates again ``interval_ms`` after its own
    socket connected, so a socket whose delay exceeds ``interval_ms`` is closed before its handshake (however
    loaded the machine). After the last round the windows get ``settle_ms`` to finish their handshakes."""
    windows: list[str] = ['all']
    rounds: int = Field(ge=1, le=1000)
    interval_ms: float = Field(ge=0, le=60000)
    handshake_ms: tuple[float, float] = (0.0, 0.0)
    url: str = '/private'
    settle_ms: float = Field(200.0, ge=0, le=60000)

    @field_validator('handshake_ms')
    @classmethod
    def _range(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 <= v[0] <= v[1] <= 60000:
            raise ValueError(f'handshake_ms must be [min, max] with 0 <= min <= max <= 60000, got {list(v)}')
        return v


# ---- normalisers of the short YAML forms ------------------------------------------------------------------------
def _same(value: Any) -> Any:
    return value


def _names(value: Any) -> Any:
    """``alice`` / ``[alice, bob]`` → ``{'windows': [...]}``; a mapping stays as it is."""
    if isinstance(value, str):
        return {'windows': [value]}
    if isinstance(value, list):
        return {'windows': value}
    return value


def _ms(value: Any) -> Any:
    """``wait: 500`` → ``{'ms': 500}``."""
    return {'ms': value} if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _no_fields(value: Any) -> Any:
    """``gc: {}``, ``gc: true`` or ``gc:`` → ``{}``."""
    return {} if value is None or value is True or value == {} else value


def _storm_windows(value: Any) -> Any:
    """``windows: all`` (a single name) → ``windows: [all]``."""
    return {**value, 'windows': [value['windows']]} if isinstance(value, dict) and isinstance(
        value.get('windows'), str) else value


# ---- handlers -----------------------------------------------------------------------------------------------------
async def _open(player: StepRunner, args: OpenStep) -> None:
    await asyncio.gather(*(b.open(player.url_for(args.page or player.page_of(b.name)), wait=args.wait)
                           for b in player.windows(args.windows)))


async def _click(player: StepRunner, args: ClickStep) -> None:
    if args.id is not None:
        browser = player.browsers[args.window]
        if args.id not in browser.elements:
            raise LookupError(f'window {args.window!r}: no element with id {args.id}')
        await browser.click_element(args.id)
        return
    await player.browsers[args.window].click(args.label)


async def _type(player: StepRunner, args: TypeStep) -> None:
    await player.browsers[args.window].type_text(args.label, args.text, per_key_ms=args.per_key_ms)


async def _wait(player: StepRunner, args: WaitStep) -> None:
    await asyncio.sleep(args.ms / 1000)


async def _navigate(player: StepRunner, args: NavigateStep) -> None:
    await player.browsers[args.window].navigate(player.url_for(args.url), before_handshake=args.before_handshake)


async def _reload(player: StepRunner, args: ReloadStep) -> None:
    await asyncio.gather(*(b.reload() for b in player.windows(args.windows)))


async def _close(player: StepRunner, args: CloseStep) -> None:
    await asyncio.gather(*(b.close() for b in player.windows(args.windows)))


async def _drop(player: StepRunner, args: DropStep) -> None:
    await asyncio.gather(*(b.drop_connection(args.notice_ms, auto_reconnect=args.auto_reconnect)
                           for b in player.windows(args.windows)))


async def _set(player: StepRunner, args: SetStep) -> None:
    await player.browsers[args.window].set_value(args.label, args.value, content=args.content, element_id=args.id)


async def _upload(player: StepRunner, args: UploadStep) -> None:
    scenario = getattr(player, 'scenario', None)
    base = Path(scenario.path).resolve().parent if scenario is not None and scenario.path and not str(
        scenario.path).startswith('<') else Path.cwd()
    files = [(f['name'], f['text'].encode()) if isinstance(f, dict) else base / f for f in args.files]
    statuses = await player.browsers[args.window].upload(files, args.label, content=args.content, element_id=args.id)
    if any(status != 200 for status in statuses):
        raise RuntimeError(f'window {args.window!r}: upload answered {statuses}')


async def _duplicate(player: StepRunner, args: DuplicateStep) -> None:
    source = player.browsers[args.window]
    copy = player.browsers.get(args.as_)
    if copy is None:
        copy = player.lab.add(args.as_, source.latency, context=getattr(source, 'context', None))  # same browser
    await copy.open_duplicate(source)


def shows_text(browser: SimulatedBrowser, text: str) -> bool:
    """Whether any element of the page shows ``text`` (in its label, text or value)."""
    return any(text in str(w.get('label') or '') or text in str(w.get('value') or '') for w in browser.widgets())


async def _wait_text(player: StepRunner, args: WaitTextStep) -> None:
    browser = player.browsers[args.window]
    try:
        await browser.wait_for(lambda b: shows_text(b, args.text) != args.absent, args.timeout_ms / 1000)
    except asyncio.TimeoutError:
        labels = ', '.join(str(w['label']) for w in browser.widgets() if w['label'])[:300]
        raise RuntimeError(f'window {browser.name!r} ({browser.state}): {args.text!r} '
                           f'{"still shown" if args.absent else "not shown"} after {args.timeout_ms:.0f} ms '
                           f'(labels: {labels})') from None


async def _reconnect(player: StepRunner, args: ReconnectStep) -> None:
    await asyncio.gather(*(b.reconnect(wait=args.wait) for b in player.windows(args.windows)))


async def _gc(player: StepRunner, args: GcStep) -> None:
    target = player.target
    if target is not None:  # a real app: gc.collect() in its process, through the probe (simulator.probe)
        await target.gc()
        return
    gc.unfreeze()  # objects a host froze (the GUI's GcFreezer) that became garbage are collectable again
    gc.collect()
    await asyncio.sleep(0.01)  # let deferred ``model_finalized`` events reach the timeline


async def _stall(player: StepRunner, args: StallStep) -> None:
    dependency = getattr(player.target, 'dependency', None)
    if dependency is None:
        raise RuntimeError('stall holds the bytes of a target\'s dependency: it needs target: {redis: true}')
    dependency.proxy.stall(args.ms)
    player.target.timeline.record(SERVER, 'dependency_stalled', stall_ms=args.ms, dependency='redis')


async def _wait_progress(player: StepRunner, args: WaitProgressStep) -> None:
    browser = player.browsers[args.window]
    try:
        await browser.wait_for(lambda b: (b.progress or 0.0) >= args.at_least, args.timeout_ms / 1000)
    except asyncio.TimeoutError:
        raise RuntimeError(f'window {browser.name!r}: progress stayed at {browser.progress} '
                           f'(< {args.at_least}) for {args.timeout_ms:.0f} ms') from None


async def _storm(player: StepRunner, args: StormStep) -> None:
    browsers = player.windows(args.windows)
    url = player.url_for(args.url)
    low, high = args.handshake_ms
    # draw every delay up front, round by round in window order, so the seed fixes each one
    delays = [[player.rng.uniform(low, high) for _ in browsers] for _ in range(args.rounds)]
    saved = {b.name: b.latency.handshake_ms for b in browsers}

    async def run(index: int, browser: SimulatedBrowser) -> None:
        # each window keeps its own beat: its next navigation comes interval_ms after its socket connected, so a
        # handshake delay above interval_ms loses the race however loaded the machine is
        for round_delays in delays:
            browser.latency.handshake_ms = round_delays[index]
            await browser.navigate(url, wait=False)
            await asyncio.sleep(args.interval_ms / 1000)
    try:
        await asyncio.gather(*(run(i, b) for i, b in enumerate(browsers)))
        await asyncio.sleep(args.settle_ms / 1000)
    finally:
        for b in browsers:
            b.latency.handshake_ms = saved[b.name]


# ---- the registry -------------------------------------------------------------------------------------------------
class StepType(NamedTuple):
    """One step keyword: ``model`` validates its arguments, ``normalise`` maps the YAML value (short forms) to
    the model's fields, ``handler(player, args)`` plays it. A handler raises LookupError, RuntimeError,
    ValueError or OSError for a step that cannot run (the player records it as a failed expectation)."""
    model: type[BaseModel]
    normalise: Callable[[Any], Any]
    handler: Callable[[StepRunner, Any], Awaitable[None]]


#: step keyword → :class:`StepType`; the one place the step registry is built.
STEP_TYPES: dict[str, StepType] = {
    'open': StepType(OpenStep, _names, _open),
    'click': StepType(ClickStep, _same, _click),
    'wait': StepType(WaitStep, _ms, _wait),
    'navigate': StepType(NavigateStep, _same, _navigate),
    'reload': StepType(ReloadStep, _names, _reload),
    'close': StepType(CloseStep, _names, _close),
    'type': StepType(TypeStep, _same, _type),
    # problems 2-5: connection loss, bindable models, long jobs, navigation storms
    'drop': StepType(DropStep, _names, _drop),
    'reconnect': StepType(ReconnectStep, _names, _reconnect),
    'gc': StepType(GcStep, _no_fields, _gc),
    'wait_progress': StepType(WaitProgressStep, _same, _wait_progress),
    'storm': StepType(StormStep, _storm_windows, _storm),
    # nicegui.js 3.x windows (issue 12): element values, uploads, duplicated tabs, waiting for what a page shows
    'set': StepType(SetStep, _same, _set),
    'upload': StepType(UploadStep, _same, _upload),
    'duplicate': StepType(DuplicateStep, _same, _duplicate),
    'wait_text': StepType(WaitTextStep, _same, _wait_text),
    # recorded sessions (clientsim record, issue 21): a page's elements reached their recorded state
    'check': StepType(CheckStep, _same, run_check),
    # problem 6: a dependency of a real app stalls (issue 26)
    'stall': StepType(StallStep, _ms, _stall),
}


class Step(BaseModel):
    """A parsed step: ``kind`` (a :data:`STEP_TYPES` key), ``args`` (its model), ``index`` and ``line``."""
    kind: str
    args: Any
    index: int
    line: Optional[int] = None

    def describe(self) -> str:
        """Short text such as ``click bob Download``."""
        fields = self.args.model_dump() if isinstance(self.args, BaseModel) else {}
        return f'{self.kind} ' + ' '.join(
            ','.join(map(str, v)) if isinstance(v, list) else str(v) for v in fields.values()
            if v not in (None, False) and not (isinstance(v, list) and v and isinstance(v[0], dict)))

    async def play(self, player: StepRunner) -> None:
        """Run this step's handler. Raises what the handler raises (see :class:`StepType`)."""
        await STEP_TYPES[self.kind].handler(player, self.args)
