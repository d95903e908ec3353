"""Untrusted scenario files do not run commands unasked (issue 20, item 5, simulator.trust): a file outside the
library with a ``target.command`` is refused (exit 2, the command shown) unless trusted by its content
(``clientsim trust FILE``) or played with ``--trust``; the GUI asks once. The trust store is the test session's
own (``CLIENTSIM_TRUST_STORE``, tests/conftest.py)."""
from __future__ import annotations

import os

import yaml
from PySide6.QtWidgets import QMessageBox

from clientsim.simulator.scenario import library_dir
from clientsim.simulator.trust import is_library_file, is_trusted

from .conftest import run_cli


def _scenario(tmp_path, marker) -> str:
    """A scenario whose command writes ``marker`` and exits (so the run fails with exit 3 once it runs)."""
    path = tmp_path / 'from_a_bug_report.yaml'
    path.write_text(yaml.safe_dump({
        'name': 'a file from a bug report',
        'target': {'command': ['{python}', '-c', f'open({str(marker)!r}, "w").close()'],
                   'url': 'http://127.0.0.1:{port}/', 'ready_timeout_s': 5},
        'windows': [{'name': 'alice'}], 'steps': [{'open': 'alice'}]}))
    return str(path)


def test_untrusted_command_is_refused_then_trusted_by_content(tmp_path):
    marker = tmp_path / 'ran'
    path = _scenario(tmp_path, marker)
    refused = run_cli('play', '--headless', path)
    assert refused.returncode == 2 and not marker.exists(), refused.stderr
    assert 'target.command would run' in refused.stderr and "-c 'open(" in refused.stderr
    assert f'clientsim trust {path}' in refused.stderr and 'Traceback' not in refused.stderr
    for command in (('explore', path, '--runs', '1'), ('matrix', path, '--nicegui', '2.11.0')):
        other = run_cli(*command)
        assert other.returncode == 2 and 'target.command would run' in other.stderr and not marker.exists()

    once = run_cli('play', '--headless', '--trust', path)  # this run only
    assert once.returncode == 3 and marker.exists(), once.stderr  # it ran: the app exits, so the target fails
    marker.unlink()
    assert run_cli('play', '--headless', path).returncode == 2 and not marker.exists()

    trusted = run_cli('trust', path)
    assert trusted.returncode == 0 and f'trusted {path}' in trusted.stdout
    assert os.environ['CLIENTSIM_TRUST_STORE'] in trusted.stdout  # the test session's store, not the user's
    assert run_cli('play', '--headless', path).returncode == 3 and marker.exists()
    marker.unlink()

    with open(path, 'a') as f:  # the content changed (a colleague's edit): trust again
        f.write('# edited\n')
    again = run_cli('play', '--headless', path)
    assert again.returncode == 2 and not marker.exists(), again.stderr


def test_library_files_are_trusted():
    real = library_dir() / 'real' / 'problem1_download_auto_index.yaml'
    assert is_library_file(real) and is_trusted(real)
    assert not is_library_file(__file__)


def test_gui_asks_once_showing_the_command(clientsim_gui, tmp_path, qtbot):
    main = clientsim_gui.main
    marker = tmp_path / 'ran'
    path = _scenario(tmp_path, marker)
    assert main._load(path) is None  # asked, not loaded
    box = main.trust_box
    assert box.isVisible() and "-c 'open(" in box.text() and path in box.text()
    box.done(QMessageBox.StandardButton.No)
    assert not is_trusted(path) and not marker.exists()

    played = []
    main._load(path, then=lambda: played.append(True))
    main.trust_box.done(QMessageBox.StandardButton.Yes)
    assert played == [True] and is_trusted(path)
    assert any(e.kind == 'scenario_trusted' and e.detail.get('file') == path for e in main.timeline.events)
    assert main._load(path) is not None  # trusted now: no question
