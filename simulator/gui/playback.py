"""Playing scenarios in the main window: one scenario with its windows in the windows area, or a file's bug and
its fix side by side (the ``fix:`` block, :meth:`clientsim.simulator.scenario.Scenario.variants`) in the
:class:`~simulator.gui.compare_view.CompareView`. A mixin of :class:`~simulator.gui.main_window.MainWindow`
(it uses the main window's server, views and task group); split out so that each module shows one thing."""
from __future__ import annotations

import shlex
from typing import Any, Callable, Optional, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from clientsim.simulator.run_report import RunReport
from clientsim.simulator.scenario import Scenario, ScenarioError, load_scenario
from clientsim.simulator.trust import trust, untrusted

from .compare_view import hand_variant
from .scenario_library import play_notice


class ScenarioPlayback:
    """Scenario playback for :class:`~simulator.gui.main_window.MainWindow` (a mixin, no state of its own)."""

    # ---- scenarios ------------------------------------------------------------------------------------------
    def _load(self, path: str, then: Optional[Callable[[], None]] = None) -> Optional[Scenario]:
        """The scenario in ``path``; None (its error shown under Play) when it is broken, and None while the user
        is asked whether an untrusted ``target.command`` may run (:meth:`ask_trust`; ``then`` runs again after a
        yes)."""
        try:
            scenario = load_scenario(path)
        except ScenarioError as e:
            self.show_load_error(str(e))
            return None
        refused = untrusted([scenario])
        if refused:
            self.ask_trust(path, refused[0][1], then)
            return None
        return scenario

    def ask_trust(self, path: str, command: list[str], then: Optional[Callable[[], None]] = None) -> None:
        """Ask once, showing the command, whether the file at ``path`` may run it (simulator.trust). Yes stores
        the file's hash (as ``clientsim trust``) and calls ``then``; No plays nothing. The box is window-modal but
        does not block the asyncio loop (``open()``, not ``exec()``)."""
        box = QMessageBox(QMessageBox.Icon.Warning, 'Run this command?',
                          f'{path} starts its app with:\n\n{shlex.join(command)}\n\nThis file is not in the scenario '
                          'library and you have not trusted it. Run the command only if you have read the file.',
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, self)
        box.button(QMessageBox.StandardButton.Yes).setText('Trust and play')
        box.setDefaultButton(QMessageBox.StandardButton.No)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        def answered(button: int) -> None:
            if button == QMessageBox.StandardButton.Yes:
                trust(path)
                self.timeline.record('clientsim', 'scenario_trusted', file=path, command=shlex.join(command))
                if then is not None:
                    then()
        box.finished.connect(answered)
        box.open()
        self.trust_box = box

    def show_load_error(self, message: str) -> None:
        """A scenario that cannot load: ``message`` (``file:line: location: message``, as ``clientsim play``
        prints it) in a dialog, under Play and in the event log (a ``load_error`` event of source ``clientsim``)."""
        self.library.show_error(message)
        self.timeline.record('clientsim', 'load_error', message=message)
        box = QMessageBox(QMessageBox.Icon.Critical, 'Scenario cannot be loaded', message,
                          QMessageBox.StandardButton.Ok, self)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.open()  # not modal to the loop: playing windows keep running
        self.load_error_box = box

    def _selected(self, then: Optional[Callable[[], None]] = None) -> Optional[Scenario]:
        """The scenario selected in the library, loaded; None when nothing is selected, a scenario is playing or
        the file is broken (its error shown under Play)."""
        path = self.library.current_path()
        if path is None or self.playing:
            return None
        return self._load(path, then=then)

    def play_selected(self) -> None:
        """Play the scenario selected in the library; a file with a ``fix:`` block plays its shipped and fixed
        variants side by side (:meth:`play_side_by_side`)."""
        scenario = self._selected(then=self.play_selected)
        if scenario is not None:
            self._play(scenario)

    def _play(self, scenario: Scenario) -> None:
        variants = scenario.variants()
        if len(variants) == 2:
            (_, shipped), (_, fixed) = variants
            notes = ('as shipped', f'fix: {fixed.policy_summary()}')
            self.tasks.spawn(self.play_side_by_side(shipped, fixed, ('shipped', 'fixed'), notes),
                             name='play side by side')
        else:
            self.tasks.spawn(self.play_scenario(scenario), name='play scenario')

    def play_selected_side_by_side(self) -> None:
        """Play the selected scenario twice at once: its shipped variant (above) and its ``fix:`` variant, or
        without one the policy fields changed by hand in the policy panel (below). Without either it says what
        to do."""
        scenario = self._selected(then=self.play_selected_side_by_side)
        if scenario is None:
            return
        if scenario.fix is not None:
            self._play(scenario)
            return
        if not self.policy_panel.hand_changes:
            self.library.show_error('This file has no fix: block. Change a policy field first (e.g. '
                                    'download_target → sender): the lower run plays the scenario with your changes.')
            return
        fixed, labels, notes = hand_variant(scenario, self.policy_panel.hand_changes)
        self.tasks.spawn(self.play_side_by_side(scenario, fixed, labels, notes), name='play side by side')

    def _open_scenario_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, 'Open scenario', '', 'Scenarios (*.yaml *.yml)')
        if not path:
            return
        from .session_file import add_recent
        add_recent(path)
        self._load_and_play(path)

    def _load_and_play(self, path: str) -> None:
        """Load ``path`` and play it (after the trust question, when it asks one)."""
        scenario = self._load(path, then=lambda: self._load_and_play(path))
        if scenario is not None:
            self._play(scenario)

    async def play_scenario(self, scenario: Scenario) -> RunReport:
        """Close the windows, restart the server with the scenario's policy (hand changes in the policy panel
        kept or reported, see :meth:`PolicyPanel.resolve`), play it with a window per browser in the windows
        area, and show the result; returns the report."""
        from clientsim.simulator.player import ScenarioPlayer
        self.playing = True
        self.library.play_button.setEnabled(False)
        progress = self.library.scenario_progress
        try:
            closed = len(self.windows)
            await self.close_all_windows()
            self.show_live()
            policy, kept, overridden = self.policy_panel.resolve(scenario.policy)
            notice = play_notice(scenario, closed, kept, overridden)
            if kept:
                scenario = scenario.model_copy(update={'policy': policy})
            title = f'{scenario.name} ({scenario.policy_summary()})'
            await self.restart_server(policy, title)
            self.timeline_view.from_first_action = False  # a scenario: from its t = 0
            self.follow_box.setChecked(True)  # Follow live is back on at every Play
            self.timeline_view.title = f'clientsim timeline — {title}'
            steps = scenario.parsed_steps
            self.library.start(scenario.name, scenario.path, len(steps),
                               notice)
            player = ScenarioPlayer(scenario, server=self.server, on_window=self.adopt_browser,
                                    on_step=lambda _s, i, _n: progress.setValue(i))
            self.target = player.target
            self.policy_panel.set_disabled_reason(
                None if self.target is None else 'This scenario runs against a real app (target:), not the embedded '
                'server, so the policy switches do not apply.')
            self._update_status()
            report = await player.run()
            progress.setValue(len(steps))
            self.last_report = report
            self.library.show_result(report)
            self.set_verdict(report)
            if any(e.kind == 'models' or e.kind.startswith('job_') for e in self.timeline.events):
                self.tabs.setCurrentWidget(self.state_panel)  # problems 4 and 5 show their evidence there
            return report
        finally:
            self.playing = False
            self.library.play_button.setEnabled(True)
            self.log_model.flush()
            self.timeline_view.redraw()
            self.policy_panel.refresh()
            self._update_status()

    async def play_side_by_side(self, shipped: Scenario, fixed: Scenario,
                                labels: Sequence[str] = ('shipped', 'fixed'),
                                notes: Sequence[str] = ('', '')) -> list[RunReport]:
        """The bug ⇄ fix view: close the live windows, play ``shipped`` (above) and ``fixed`` (below) at the same
        time, each on its own embedded server and timeline, in :attr:`compare`; returns ``[shipped_report,
        fixed_report]``. ``labels`` title the two runs, ``notes`` follow their PASS/FAIL. A scenario's ``fix:``
        block feeds it with ``scenario.variants()`` (Play on such a file)."""
        if self.playing:
            raise RuntimeError('a scenario is playing')
        self.playing = True
        self.library.play_button.setEnabled(False)
        try:
            self.right.setCurrentWidget(self.compare)
            steps = len(shipped.parsed_steps)
            self.library.start(shipped.name, shipped.path, steps, 'side by side: the same steps with two policies, '
                               'each on its own server; the live server and its windows keep running behind '
                               '(← Back to live shows them)')
            reports = await self.compare.play([shipped, fixed], labels, notes,
                                              on_step=lambda i: self.library.scenario_progress.setValue(
                                                  max(self.library.scenario_progress.value(), i)))
            self.library.scenario_progress.setValue(steps)
            self.library.show_result(reports[0], reports[1], labels)
            self.last_report = reports[0]
            return reports
        finally:
            self.playing = False
            self.library.play_button.setEnabled(True)
            self._update_status()

    # ---- recording (File ▸ Record a session…) ------------------------------------------------------------
    def open_record(self) -> Any:
        """File ▸ Record a session… (Ctrl+Shift+R): the Record dialog (:mod:`.record_dialog`), with the embedded
        server's URL as the app to record; a written scenario joins the library (``rec:``) and the recent files."""
        from .record_dialog import RecordDialog
        dialog = getattr(self, 'record_dialog', None)
        if dialog is None:
            dialog = self.record_dialog = RecordDialog(self, self._recorded, self.replay_recording,  # type: ignore
                                                       url=(self.server.url or '') + '/')
        dialog.show()
        dialog.raise_()
        return dialog

    def _recorded(self, path: str) -> None:
        from .session_file import add_recent
        add_recent(path)
        self.library.insert_recorded(path)

    def replay_recording(self, path: str, windows: int) -> None:
        """Play the recorded one-window scenario ``path`` in ``windows`` windows at once (``clientsim play
        --windows N``, :func:`clientsim.simulator.record.replay.multiply`); errors show under Play."""
        from clientsim.simulator.errors import BadInputError
        from clientsim.simulator.record.replay import multiply
        scenario = self._load(path, then=lambda: self.replay_recording(path, windows))
        if scenario is None:
            return
        try:
            scenario = multiply(scenario, windows)
        except BadInputError as e:
            self.show_load_error(str(e))
            return
        self._play(scenario)
