"""Fusion with its checkpoint database out of reach reports itself down with the reason in
words (README, ops endpoints: "database unreachable", never raw exception text), retries,
and applies nothing past what it could not load."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bus.base import Outgoing
from bus.memory import MemoryBus
from fusion.service import FusionService
from schemas.health import ComponentHealth
from schemas.topics import Topic
from store.checkpoints import PostgresCheckpointStore
from tests.fusion.support import scaled_settings
from tests.fusion.test_detectors import LAT, LON, position
from tests.store.support import wait_for


async def test_no_checkpoint_database_is_down_saying_database_unreachable(tmp_path: Path) -> None:
    # A socket directory with no server in it: what a stopped PostgreSQL leaves.
    checkpoints = PostgresCheckpointStore(f"postgresql://postgres@/postgres?host={tmp_path}")
    bus = MemoryBus(source="/tests")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    service = FusionService(bus, scaled_settings(retry_initial_s=0.05), checkpoints)
    task = asyncio.create_task(service.run())
    health: list[ComponentHealth] = []
    try:
        await bus.publish_many(
            [Outgoing(Topic.AIS_POSITIONS, "525000001", position(525_000_001, 0, LAT, LON))]
        )

        async def down() -> bool:
            health.append(await service.health())
            return health[-1].status == "down"

        await wait_for(down, 30, "fusion to report the checkpoint store down")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await checkpoints.close()
    assert health[-1].detail == "load checkpoint failed: database unreachable", health[-1]
    assert service.fusion.states == {}  # nothing applied without its checkpoint
