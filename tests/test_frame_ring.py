"""A window's frame history is a bounded ring (issue 24): the last FRAME_HISTORY frames, every frame once an
inspector asked; positions survive trimming (``appended`` / ``since``). Real window, real socket for the last test."""
from __future__ import annotations

import asyncio

from clientsim.simulator.browser.state import FRAME_HISTORY, Frame, FrameRing
from clientsim.simulator.lab import Lab


def frame(i: int) -> Frame:
    return Frame(i, 'received', f'e{i}', {'i': i})


def test_ring_keeps_the_last_frames_and_counts_all():
    ring = FrameRing(limit=5)
    for i in range(12):
        ring.append(frame(i))
    assert [f.t_ns for f in ring] == [7, 8, 9, 10, 11] and ring.appended == 12
    mark = ring.appended
    ring.append(frame(12))
    ring.append(frame(13))
    assert [f.t_ns for f in ring.since(mark)] == [12, 13]
    assert ring.since(ring.appended) == []
    ring.keep_all()
    for i in range(14, 30):
        ring.append(frame(i))
    assert len(ring) == 5 - 2 + 2 + 16 and ring[-1].t_ns == 29  # nothing dropped any more
    ring.clear()
    assert len(ring) == 0 and ring.appended == 30


def test_window_frames_are_bounded():
    async def main() -> None:
        async with Lab() as lab:
            window = await lab.open('w', '/')
            assert isinstance(window.frames, FrameRing) and window.frames.limit == FRAME_HISTORY
            for _ in range(FRAME_HISTORY // 2 + 10):  # each emit is one sent frame, each answer one received
                await window.click('Download')
            await window.wait_for(lambda w: w.frames.appended > FRAME_HISTORY, 10)
            assert len(window.frames) == FRAME_HISTORY
    asyncio.run(main())
