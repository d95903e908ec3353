"""``clientsim conform``: clientsim windows against real headless Chromium on real NiceGUI 2.11.0 and 3.18.0 apps.

Needs the Debian packages ``chromium chromium-driver`` (skipped with that reason without them) and network for the
NiceGUI venvs on first use. Each version's run takes ~25-50 s (Chromium is slow on a busy machine; every wait in the
suite is a deadline, not a sleep).
"""
from __future__ import annotations

import asyncio
import json
import re

import pytest

from clientsim.simulator.conform.chromium import missing_reason
from clientsim.simulator.conform.command import conform_version, write_report

from .conftest import nicegui_python_or_skip, run_cli

pytestmark = [pytest.mark.network, pytest.mark.xdist_group('chromium'),  # one Chromium test at a time
              pytest.mark.skipif(missing_reason() is not None, reason=f'real Chromium: {missing_reason()}')]
TIMING_ROW = 'page GET → handshake (median)'
TIMING_ROWS = (TIMING_ROW, 'navigation timing', 'reload timing')
"""Rows that compare durations with the Chromium measured in the same run (the others compare what was sent)."""
CHROMIUM_IDLE_HANDSHAKE_MS = {'2.11.0': 1434.0, '3.18.0': 575.0}
"""The slowest page GET → handshake of real Chromium 156 on an idle 2-core machine (measured: 787-1434 ms on 2.11.0,
436-575 ms on 3.18.0). A run whose Chromium median is over twice that was slowed by load: its durations are no
reference, so the timing rows are not judged (the rest still are)."""


def _ratio(text: str) -> float:
    match = re.search(r'\(([\d.]+)×\)', text)
    assert match, text
    return float(match.group(1))


@pytest.mark.parametrize('version', ['2.11.0', '3.18.0'])
def test_windows_conform_to_chromium(version, tmp_path):
    nicegui_python_or_skip(version)
    result = asyncio.run(conform_version(version, seed=1))
    table = '\n'.join(f"{r['check']}: Chromium {r['chromium']} | clientsim {r['clientsim']}"
                      for r in result['rows'])
    timing = next(r for r in result['rows'] if r['check'] == TIMING_ROW)
    chromium_ms = float(re.match(r'([\d.]+) ms', timing['chromium']).group(1))
    chromium_loaded = chromium_ms > 2 * CHROMIUM_IDLE_HANDSHAKE_MS[version]
    different = [r['check'] for r in result['rows'] if not r['same'] and r['check'] != TIMING_ROW
                 and not (chromium_loaded and r['check'] in TIMING_ROWS)]
    assert not different, f'{different} differ from Chromium:\n{table}'
    if not chromium_loaded:
        # the median rule (0.5-2x) is the CLI's; Chromium's own load time doubles on a busy 2-core machine while
        # the modelled boot does not, so the test allows 0.25-4x (clientsim is still ~100x off without the model)
        # against the spread of Chromium's own samples: on 2.11.0 its median ranged 270-1434 ms between runs here
        # (the modelled boot sits in that range), so one fast Chromium run must not fail a model that is in it
        samples = [float(v) for v in re.search(r'\[([^\]]*)\]', timing['chromium']).group(1).split(',')]
        clientsim_ms = float(re.match(r'([\d.]+) ms', timing['clientsim']).group(1))
        assert 0.25 * min(samples) <= clientsim_ms <= 4.0 * max(samples), table
        assert _ratio(timing['clientsim']) <= 8.0, table
    assert not [w for w in result['warnings'] if 'clock' in w], result['warnings']
    out = tmp_path / 'conform.json'
    write_report([result], str(out))
    assert json.loads(out.read_text())[0]['version'] == version


def test_conform_rejects_a_bad_report_suffix(tmp_path):
    proc = run_cli('conform', '--nicegui', '3.18.0', '--report', str(tmp_path / 'out.txt'))
    assert proc.returncode == 2
    assert 'write .json or .html' in proc.stderr
