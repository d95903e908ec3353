"""The download outcome rule and the one style table: every colour and label the GUI, the HTML report and the
console give a window state, a lane state, a download outcome or a verdict (a leaf: no imports from clientsim).

**Where is the download colour decided?** Here: :func:`download_outcome` decides ``received`` / ``failed`` /
``none`` from a window's download statuses ("received = any 200", problem 1's question), and :data:`OUTCOMES`
gives each its colours and label. The GUI tiles and windows (:mod:`clientsim.simulator.gui.workspace`,
:mod:`clientsim.simulator.gui.browser_window`), the timeline's grouping (:mod:`clientsim.simulator.gui.timeline_view`),
the checks (``received:``), explore's signature, shrink, the load engine and the HTML report use them; nobody
else compares a status with 200 to decide an outcome.

Colours are ``#rrggbb`` strings (Qt's ``QColor`` and CSS read them alike).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

#: the HTTP status of a download that delivered the file (a single-use route answers 404 once it is gone)
OK_STATUS = 200

RECEIVED, FAILED, NO_DOWNLOAD = 'received', 'failed', 'none'


def received(status: int | None) -> bool:
    """Whether one download attempt with HTTP ``status`` (0 or None when the request failed) delivered the
    file."""
    return status == OK_STATUS


def download_outcome(statuses: Iterable[int | None]) -> str:
    """A window's download outcome from the HTTP statuses of its download GETs, in any order:
    :data:`RECEIVED` when any got 200, :data:`FAILED` when there were attempts and none did, :data:`NO_DOWNLOAD`
    (``'none'``) when there was no attempt."""
    seen = False
    for status in statuses:
        if received(status):
            return RECEIVED
        seen = True
    return FAILED if seen else NO_DOWNLOAD


# ---- verdicts ------------------------------------------------------------------------------------------------------
PASS_COLOUR = '#2e7d32'   # green: passed, received, handshake done, running
FAIL_COLOUR = '#c62828'   # red: failed, download failed, server errors
NEUTRAL_COLOUR = '#757575'  # grey: unknown states
WARN_COLOUR = '#ef6c00'   # orange: dropped or odd messages


def verdict_label(passed: bool) -> str:
    """``PASS`` or ``FAIL``."""
    return 'PASS' if passed else 'FAIL'


def verdict_colour(passed: bool) -> str:
    """:data:`PASS_COLOUR` or :data:`FAIL_COLOUR`."""
    return PASS_COLOUR if passed else FAIL_COLOUR


def verdict_rgb(passed: bool) -> tuple[int, int, int]:
    """:func:`verdict_colour` as an ``(r, g, b)`` tuple (0..255, for pyqtgraph brushes)."""
    colour = verdict_colour(passed)
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


# ---- download outcomes ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutcomeStyle:
    """How a download outcome looks: ``background`` (a tile's or window's fill), ``colour`` (their border),
    ``banner`` and ``banner_text`` (the window's outcome line: fill and text), ``status_text`` (a tile's last
    status line) and ``label`` (the name shown for the outcome, e.g. a timeline group)."""
    background: str
    colour: str
    banner: str
    banner_text: str
    status_text: str
    label: str


#: download outcome → style (:func:`download_outcome`)
OUTCOMES: dict[str, OutcomeStyle] = {
    RECEIVED: OutcomeStyle('#e8f5e9', PASS_COLOUR, PASS_COLOUR, 'white', PASS_COLOUR, 'received'),
    FAILED: OutcomeStyle('#ffebee', FAIL_COLOUR, FAIL_COLOUR, 'white', FAIL_COLOUR, 'download failed'),
    NO_DOWNLOAD: OutcomeStyle('#fafafa', '#bdbdbd', '#eeeeee', '#616161', '#424242', 'no download'),
}


# ---- a window's connection state (clientsim.simulator.browser.state) ------------------------------------------------
#: browser state (``SimulatedBrowser.state``) → the colour of its dot in windows and tiles
WINDOW_STATES: dict[str, str] = {
    'closed': '#9e9e9e', 'loading': '#f9a825', 'connecting': '#f9a825', 'connected': '#fb8c00',
    'handshake done': PASS_COLOUR, 'disconnected': NEUTRAL_COLOUR, 'load failed': FAIL_COLOUR,
}


def window_state_colour(state: str) -> str:
    """The dot colour of browser ``state`` (:data:`NEUTRAL_COLOUR` for an unknown one)."""
    return WINDOW_STATES.get(state, NEUTRAL_COLOUR)


# ---- timeline lanes (clientsim.simulator.lanes) --------------------------------------------------------------------
@dataclass(frozen=True)
class StateStyle:
    """How a lane's span state looks: ``colour`` (``#rrggbb`` fill) and ``label`` (legend text)."""
    colour: str
    label: str


#: lane span state → style, in the order of a page's life (the legend's order; see clientsim.simulator.lanes)
LANE_STATES: dict[str, StateStyle] = {
    'page load': StateStyle('#90caf9', 'page load'),
    'handshake pending': StateStyle('#ffb74d', 'handshake pending (socket connected)'),
    'handshake done': StateStyle('#81c784', 'handshake done'),
    'disconnected': StateStyle('#cfd8dc', 'disconnected (client waits for reconnect)'),
    'deleted': StateStyle('#9575cd', 'client deleted'),
    'failed': StateStyle('#e57373', 'failed (page load, socket or handshake rejected)'),
}
