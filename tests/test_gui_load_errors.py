"""Load errors where the eye is (issue 19, item 3): a broken scenario opens a dialog with the ``file:line``
message, the same text goes under Play and into the event log; ``clientsim gui --play BAD.yaml`` exits 2 with
the message ``clientsim play`` prints."""
from __future__ import annotations

import os

from .conftest import run_cli

BAD = ('name: bad\nwindows:\n  - {name: alice, page: /}\nsteps:\n  - open: alice\n'
       '  - clik: {window: alice, label: Download}\n')


def test_gui_play_of_a_broken_file_exits_2_like_play(tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text(BAD)
    env = {**os.environ, 'QT_QPA_PLATFORM': 'offscreen'}
    played = run_cli('play', '--headless', str(bad), env=env)
    in_gui = run_cli('gui', '--play', str(bad), env=env)
    assert played.returncode == in_gui.returncode == 2
    assert 'Traceback' not in in_gui.stderr
    assert f'{bad}:6' in played.stderr and in_gui.stderr.strip() == played.stderr.strip()


def test_a_broken_file_opens_a_dialog_and_logs_the_message(clientsim_gui, tmp_path):
    main = clientsim_gui.main
    bad = tmp_path / 'bad.yaml'
    bad.write_text(BAD)
    assert main._load(str(bad)) is None
    message = main.load_error_box.text()
    assert main.load_error_box.isVisible() and message.startswith(f'{bad}:6')
    assert message in main.library.result_label.text()
    main.log_model.flush()
    logged = [e for e in main.timeline.events if e.kind == 'load_error']
    assert [e.detail['message'] for e in logged] == [message]
    assert main.log_model.rowCount() >= 1
