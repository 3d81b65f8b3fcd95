"""The demo's own traffic (``ingest.demo_traffic``) through ingest and fusion with the demo's
zones: the fishing boat enters the Nusa Penida marine protected area, dwells past the
kind's 2 h, and leaves (both alerts closed); the AIS-SART raises distress. Nothing else."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from bus.base import Outgoing
from bus.memory import MemoryBus
from fusion.checkpoint import MemoryCheckpointStore
from fusion.service import FusionService
from fusion.settings import FusionSettings
from ingest.demo_traffic import FISHER_MMSI, SART_MMSI, with_demo_traffic
from ingest.scenario import Scenario
from lookout.demo_config import bali_zones
from schemas.topics import Topic
from tests.fusion.support import alerts_of, feed, final_states, read_all, wait_drained

END = datetime(2026, 1, 5, 12, tzinfo=UTC)


async def test_the_demo_boat_enters_dwells_and_leaves_the_mpa_and_the_sart_is_distress() -> None:
    scenario = Scenario(END, END, [], [], {}, [], [])
    lines = with_demo_traffic([], END.timestamp())
    bus = MemoryBus(source="/tests")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    await bus.publish_many(
        [Outgoing(Topic.CONFIG_GEOFENCES, z.geofence_id, z) for z in bali_zones(scenario)]
    )
    await feed(bus, lines, END)
    service = FusionService(
        bus, FusionSettings(poll_timeout_s=0.05, allowed_lateness_s=5.0), MemoryCheckpointStore()
    )
    task = asyncio.create_task(service.run())
    try:
        await wait_drained(service)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    states = final_states(alerts_of(await read_all(bus, Topic.FUSION_ALERTS)))
    assert sorted((rule, subject, status) for rule, subject, _, status, _ in states.values()) == [
        ("distress", f"distress:mmsi:{SART_MMSI}", "open"),
        ("geofence_dwell", f"{FISHER_MMSI}:bali-nusa-penida-mpa", "closed"),
        ("geofence_enter", f"{FISHER_MMSI}:bali-nusa-penida-mpa", "closed"),
    ]
