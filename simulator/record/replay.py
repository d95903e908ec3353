"""One recorded window played as N windows at once: :func:`multiply` (``clientsim play FILE --windows N``).

The scenario's single window becomes ``w01`` … ``wNN`` (same page and latency); each step that names it is played in
every window concurrently (:class:`FanOutStep`), so the N sessions run side by side step after step, each with its
own client_id, tab_id, sid and download URLs from its own page and connection. The expectations of the window
(``expect.windows.<window>``) hold for every copy. Matching stays per element: a ``check`` step and the final
``elements`` wait until each window's elements reached the recorded state, in whatever order the updates came.
No Qt import here.
"""
from __future__ import annotations

import asyncio
from typing import Any

from ..errors import BadInputError
from ..scenario import Scenario
from ..steps import Step, StepRunner

MAX_WINDOWS = 1000
SHOWN_FAILURES = 5
"""How many windows' errors a failed fan-out step quotes (the rest are counted)."""


def window_names(n: int) -> list[str]:
    """``['w01', …, 'wNN']`` (zero-padded to at least two digits)."""
    width = max(2, len(str(n)))
    return [f'w{i:0{width}d}' for i in range(1, n + 1)]


class FanOutStep(Step):
    """A step of the recorded window played in each of ``names`` at once; fails (RuntimeError) when any window
    fails, quoting the first :data:`SHOWN_FAILURES` windows' errors and counting the rest."""
    names: list[str]
    original: str

    def describe(self) -> str:
        text = super().describe()
        return text.replace(f' {self.original}', f' {self.names[0]}..{self.names[-1]}', 1) if len(
            self.names) > 1 else text.replace(f' {self.original}', f' {self.names[0]}', 1)

    async def play(self, player: StepRunner) -> None:
        async def one(name: str) -> None:
            args = self.args
            if getattr(args, 'window', None) == self.original:
                args = args.model_copy(update={'window': name})
            elif getattr(args, 'windows', None) is not None:
                args = args.model_copy(update={'windows': [name if w == self.original else w
                                                           for w in args.windows]})
            await Step(kind=self.kind, args=args, index=self.index, line=self.line).play(player)
        results = await asyncio.gather(*(one(n) for n in self.names), return_exceptions=True)
        failed = [(n, r) for n, r in zip(self.names, results, strict=True) if isinstance(r, BaseException)]
        for _name, error in failed:
            if not isinstance(error, (LookupError, RuntimeError, ValueError, OSError, asyncio.TimeoutError)):
                raise error
        if failed:
            lines = [f'{n}: {type(e).__name__}: {e}' if not isinstance(e, RuntimeError) else str(e)
                     for n, e in failed[:SHOWN_FAILURES]]
            more = f'\n… and {len(failed) - SHOWN_FAILURES} more windows' if len(failed) > SHOWN_FAILURES else ''
            raise RuntimeError(f'{len(failed)} of {len(self.names)} windows:\n' + '\n'.join(lines) + more)


def multiply(scenario: Scenario, n: int) -> Scenario:
    """A copy of ``scenario`` (one window) played by ``n`` windows ``w01``…: windows, steps and expectations
    copied per window (see the module docstring). Raises :class:`BadInputError` when the scenario has more than
    one window or ``n`` is not in 1..:data:`MAX_WINDOWS`."""
    if not 1 <= n <= MAX_WINDOWS:
        raise BadInputError(f'--windows must be 1 to {MAX_WINDOWS}, got {n}')
    if len(scenario.windows) != 1:
        raise BadInputError(f'{scenario.path}: --windows N multiplies a scenario with one window (a recorded '
                            f'session); this one has {len(scenario.windows)}: '
                            f'{", ".join(w.name for w in scenario.windows)}')
    spec = scenario.windows[0]
    names = window_names(n)
    windows = [spec.model_copy(update={'name': name}) for name in names]
    steps = [FanOutStep(kind=s.kind, args=s.args, index=s.index, line=s.line, names=names, original=spec.name)
             for s in scenario.parsed_steps]
    expect = scenario.expect
    if spec.name in expect.windows:
        one = expect.windows[spec.name]
        expect = expect.model_copy(update={'windows': {name: one for name in names}})
    data: dict[str, Any] = {'windows': windows, 'steps': steps, 'expect': expect,
                            'name': f'{scenario.name} ×{n}' if n > 1 else scenario.name}
    return scenario.model_copy(update=data)
