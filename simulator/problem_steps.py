"""Steps and expectation checks for problems 2–5 (connection loss, bindable models, long jobs, storms).

Registered on import into :data:`simulator.player.STEP_HANDLERS` and :data:`simulator.player.EXTRA_CHECKS`
(``simulator.player`` imports this module). The step models live in :mod:`simulator.scenario`
(``drop``, ``reconnect``, ``gc``, ``wait_progress``, ``storm``). No Qt import.
"""
from __future__ import annotations

import asyncio
import gc
import random
import re
from typing import Any, Optional

from .browser import SimulatedBrowser
from .probe.checks import check_probed_target
from .player import EXTRA_CHECKS, Checks, ScenarioPlayer, step_handler

_SKIPPED_RE = re.compile(r'\bskipped (\d+) chunks\b')


def player_rng(player: ScenarioPlayer) -> random.Random:
    """The player's random generator, seeded with the scenario's ``seed`` (created on first use)."""
    rng = getattr(player, 'rng', None)
    if rng is None:
        rng = player.rng = random.Random(player.scenario.seed)  # type: ignore[attr-defined]
    return rng


# ---- steps ----------------------------------------------------------------------------------------------------
@step_handler('drop')
async def _drop(player: ScenarioPlayer, args: Any) -> None:
    await asyncio.gather(*(b.drop_connection() for b in player.windows(args.windows)))


@step_handler('reconnect')
async def _reconnect(player: ScenarioPlayer, args: Any) -> None:
    await asyncio.gather(*(b.reconnect(wait=args.wait) for b in player.windows(args.windows)))


@step_handler('gc')
async def _gc(player: ScenarioPlayer, args: Any) -> None:
    if player.target is not None:  # a real app: gc.collect() in its process, through the probe (simulator.probe)
        await player.target.gc()
        return
    gc.collect()
    await asyncio.sleep(0.01)  # let deferred ``model_finalized`` events reach the timeline


@step_handler('wait_progress')
async def _wait_progress(player: ScenarioPlayer, args: Any) -> None:
    browser = player.browsers[args.window]
    try:
        await browser.wait_for(lambda b: (b.progress or 0.0) >= args.at_least, args.timeout_ms / 1000)
    except asyncio.TimeoutError:
        raise RuntimeError(f'window {browser.name!r}: progress stayed at {browser.progress} '
                           f'(< {args.at_least}) for {args.timeout_ms:.0f} ms') from None


@step_handler('storm')
async def _storm(player: ScenarioPlayer, args: Any) -> None:
    browsers = player.windows(args.windows)
    url = player.url_for(args.url)
    rng = player_rng(player)
    low, high = args.handshake_ms
    # draw every delay up front, round by round in window order, so the seed fixes each one
    delays = [[rng.uniform(low, high) for _ in browsers] for _ in range(args.rounds)]
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


# ---- expectation checks -----------------------------------------------------------------------------------------
def first_client_id(player: ScenarioPlayer, window: str) -> Optional[str]:
    """The client_id of the window's first accepted handshake (from the timeline), or None."""
    for event in player.timeline.events:
        if event.source == window and event.kind == 'handshake_acked' and event.detail.get('ok'):
            return event.client_id
    return None


def skipped_chunks_shown(browser: SimulatedBrowser) -> Optional[int]:
    """The number in the window's visible label ``skipped K chunks``, or None if no such label."""
    for element in browser.elements.values():
        match = _SKIPPED_RE.search(str(element.get('text') or '')) if isinstance(element, dict) else None
        if match:
            return int(match.group(1))
    return None


def progress_shown_after_open(browser: SimulatedBrowser, at_least: float) -> Optional[float]:
    """Milliseconds from the last page load (HTML arrived) until the progress bar first showed ``>= at_least``,
    or None if it never did."""
    if browser.page_loaded_ns is None:
        return None
    for t_ns, value in browser.progress_history:
        if t_ns >= browser.page_loaded_ns and value >= at_least:
            return (t_ns - browser.page_loaded_ns) / 1e6
    return None


def check_problems(player: ScenarioPlayer) -> list[dict[str, Any]]:
    """Expectation checks of the fields added for problems 2–5 (see :class:`simulator.scenario.WindowExpect`
    and :class:`simulator.scenario.Expectations`). Runs ``gc.collect()`` before checking model counts."""
    checks = Checks()
    add = checks.add

    expect = player.scenario.expect
    for name, w in expect.windows.items():
        b = player.browsers[name]
        if w.handshakes_rejected is not None:
            add(f'{name}: handshakes rejected', str(w.handshakes_rejected), b.handshakes_rejected,
                w.handshakes_rejected.check(b.handshakes_rejected))
        if w.client_id_kept is not None:
            kept = b.client_id is not None and b.client_id == first_client_id(player, name)
            add(f'{name}: kept its client_id', w.client_id_kept, kept, kept == w.client_id_kept)
        progress = b.progress
        if w.progress_min is not None:
            add(f'{name}: progress at the end >=', w.progress_min, progress,
                progress is not None and progress >= w.progress_min - 1e-9)
        if w.progress_max is not None:
            add(f'{name}: progress at the end <=', w.progress_max, progress,
                progress is not None and progress <= w.progress_max + 1e-9)
        if w.progress_at_open is not None:
            spec = w.progress_at_open
            ms = progress_shown_after_open(b, spec.at_least)
            add(f'{name}: progress >= {spec.at_least} shown after reopening',
                f'within {spec.within_ms:g} ms', 'never' if ms is None else f'{ms:.1f} ms',
                ms is not None and ms <= spec.within_ms)
        if w.skipped_chunks is not None:
            shown = skipped_chunks_shown(b)
            add(f'{name}: skipped chunks shown', str(w.skipped_chunks), shown,
                shown is not None and w.skipped_chunks.check(shown))
    server = player.server
    if server is None:  # an external target: no server-side counts to check
        return checks
    if expect.models_alive is not None or expect.models_finalized is not None:
        gc.collect()
        if expect.models_alive is not None:
            add('models alive (after gc)', str(expect.models_alive), server.models_alive(),
                expect.models_alive.check(server.models_alive()))
        if expect.models_finalized is not None:
            add('models finalized', str(expect.models_finalized), server.models_finalized,
                expect.models_finalized.check(server.models_finalized))
    if expect.jobs_finished is not None:
        n = server.jobs.count('finished')
        add('jobs finished', str(expect.jobs_finished), n, expect.jobs_finished.check(n))
    if expect.jobs_cancelled is not None:
        n = server.jobs.count('cancelled')
        add('jobs cancelled', str(expect.jobs_cancelled), n, expect.jobs_cancelled.check(n))
    return checks


def report_extras(player: ScenarioPlayer) -> dict[str, Any]:
    """Report keys for problems 2–5: ``models`` ({created, alive, finalized}), ``jobs`` (list of job dicts),
    ``window_extras`` (name → {progress, handshakes_rejected, reconnects, skipped_chunks})."""
    server = player.server
    if server is None:
        return {}
    return {
        'models': {'created': server.models_created, 'alive': server.models_alive(),
                   'finalized': server.models_finalized},
        'jobs': server.jobs.summary(),
        'window_extras': {name: {'progress': b.progress, 'handshakes_rejected': b.handshakes_rejected,
                                 'reconnects': b.reconnects, 'skipped_chunks': skipped_chunks_shown(b)}
                          for name, b in player.browsers.items()},
    }


if check_problems not in EXTRA_CHECKS:
    EXTRA_CHECKS.append(check_problems)
if check_probed_target not in EXTRA_CHECKS:  # clients_alive / models_finalized of a probed target app
    EXTRA_CHECKS.append(check_probed_target)
