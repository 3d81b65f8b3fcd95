"""Config published before positions applies to them: a zone put on config.geofences and,
right after it, a position inside the zone raise the enter alert at that position, although
the running service was waiting for positions when both arrived (``lookout up``'s demo
publishes its zones and then its feed at once: seen raising loitering and gap alerts for
vessels in the demo's anchorage, whose zone applied only after the first batch)."""

from __future__ import annotations

import asyncio

from bus.base import Outgoing
from bus.memory import MemoryBus
from fusion.checkpoint import MemoryCheckpointStore
from fusion.service import FusionService
from schemas.alerts import AlertRule
from schemas.topics import Topic
from tests.fusion.support import alerts_of, read_all, scaled_settings, wait_drained
from tests.fusion.test_detectors import LAT, LON, T0, position, zone


async def test_a_zone_published_just_before_a_position_applies_to_it() -> None:
    bus = MemoryBus(source="/tests")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    # A long poll: the service sits waiting for positions when the zone and the position come.
    service = FusionService(bus, scaled_settings(poll_timeout_s=1.0), MemoryCheckpointStore())
    task = asyncio.create_task(service.run())
    try:
        far = position(525_000_002, 0, LAT + 1.0, LON)
        await bus.publish_many([Outgoing(Topic.AIS_POSITIONS, "525000002", far)])
        await wait_drained(service)

        inside = position(525_000_001, 60, LAT, LON)
        await bus.publish_many(
            [
                Outgoing(Topic.CONFIG_GEOFENCES, "z1", zone("z1")),
                Outgoing(Topic.AIS_POSITIONS, "525000001", inside),
            ]
        )
        await wait_drained(service)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    alerts = alerts_of(await read_all(bus, Topic.FUSION_ALERTS))
    assert [(a.rule, a.subject, a.started_at) for a in alerts] == [
        (AlertRule.GEOFENCE_ENTER, "525000001:z1", inside.event_time)
    ], alerts
    assert inside.event_time > T0
