"""The simulated-browser package's public names (its import rules are the ``browser-parts-below-facade`` contract in
pyproject.toml, checked by test_architecture.py)."""
from __future__ import annotations

import clientsim.simulator.browser as browser


def test_public_names_still_importable_from_the_package():
    for name in ('SimulatedBrowser', 'Latency', 'Download', 'Frame', 'PageError', 'parse_page', 'js_query_value',
                 'describe_element', 'stringify_event_args', 'WIDGET_KINDS', 'VALUE_EVENTS', 'STATES', 'CLOSED',
                 'LOADING', 'CONNECTING', 'CONNECTED', 'HANDSHAKE_DONE', 'DISCONNECTED', 'LOAD_FAILED'):
        assert hasattr(browser, name), name
    assert browser.SimulatedBrowser.__module__ == 'clientsim.simulator.browser.window'
