"""A scenario does not pass or fail by where it is played (issue 19, item 2): every variant of every library
scenario gets the same verdict in the GUI (offscreen, real sockets, the windows on screen) as headless, or the
GUI run says "timing distorted" with the measured loop lag (simulator.loop_lag) — never a wrong bare PASS/FAIL."""
from __future__ import annotations

import json
import subprocess
import time

import pytest

from clientsim.simulator.loop_lag import distortion_of
from clientsim.simulator.scenario import library, load_scenario

from .conftest import CLI

PARTS = 3  # the library in three parts, so pytest-xdist plays them on different workers


@pytest.mark.parametrize('part', range(PARTS))
def test_every_library_scenario_same_verdict_in_gui_and_headless(clientsim_gui, tmp_path, part):
    gui = clientsim_gui
    main = gui.main
    files = [str(p) for p in library()][part::PARTS]
    assert files
    report_path = tmp_path / 'headless.json'
    started = time.perf_counter()
    # headless in a subprocess while the GUI plays: the test takes the longer of the two, not the sum
    proc = subprocess.Popen([*CLI, 'play', '--headless', '--report', str(report_path), *files],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    in_gui: dict[tuple[str, str], tuple[bool, object]] = {}
    failures: dict[tuple[str, str], list] = {}
    try:
        for path in files:
            for _variant, scenario in load_scenario(path).variants():
                report = gui.run(main.play_scenario(scenario), timeout_s=60)
                in_gui[(path.rsplit('/', 1)[-1], report.variant)] = (report.passed, distortion_of(report))
                failures[(path.rsplit('/', 1)[-1], report.variant)] = [
                    (c.name, c.expected, c.actual) for c in report.failed] + [report.loop_lag, report.max_lag_ms]
                assert main.session_verdict.split()[0] in ('PASS', 'FAIL', 'TIMING')
                if distortion_of(report):  # shown, with the measured lag, where the verdict is
                    assert 'TIMING DISTORTED' in main.run_header.text() and 'loop lag' in main.run_header.text()
        gui_s = time.perf_counter() - started
        _out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode in (0, 1), err[-2000:]
    headless = {(r['file'].rsplit('/', 1)[-1], r['variant']): r['passed']
                for r in json.loads(report_path.read_text())['scenarios']}  # the JSON report (simulator.report)
    assert set(in_gui) == set(headless)
    differing = {key: (headless[key], in_gui[key]) for key in headless
                 if in_gui[key][0] != headless[key] and not in_gui[key][1]}
    assert not differing, ('same scenario, other verdict in the GUI (and not marked distorted): '
                           f'{differing}; {[failures[k] for k in differing]}')
    print(f'GUI {gui_s:.1f} s, headless done after {time.perf_counter() - started:.1f} s; distorted in the GUI: '
          f'{sorted(k for k, v in in_gui.items() if v[1])}')
