"""The GC out of the way while windows open (issue 24, simulator.gcbatches): a lab freezes the objects alive after
every batch of timeline events and unfreezes (and restores the thresholds) when it stops; a lab handed the GUI's
server leaves the collector alone."""
from __future__ import annotations

import asyncio
import gc

from clientsim.server.app import EmbeddedServer
from clientsim.simulator import gcbatches
from clientsim.simulator.lab import Lab


def test_lab_freezes_per_batch_and_unfreezes_on_stop():
    thresholds = gc.get_threshold()

    async def main() -> None:
        async with Lab() as lab:
            await asyncio.gather(*(lab.open(f'w{i}', '/private') for i in range(40)))
            assert lab._gc_freezer is not None and lab._gc_freezer.freezes >= 1
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
    gc.unfreeze()
    asyncio.run(main())


def test_lab_with_a_given_server_leaves_the_collector_alone():
    async def main() -> None:
        server = EmbeddedServer()
        async with Lab(server=server) as lab:
            await asyncio.gather(*(lab.open(f'w{i}', '/') for i in range(40)))
            assert lab._gc_freezer is None and gc.get_freeze_count() == 0
        await server.stop()
    gc.unfreeze()
    asyncio.run(main())
    assert gcbatches._active == 0
