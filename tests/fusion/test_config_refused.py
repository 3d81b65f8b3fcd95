"""A zone put straight on config.geofences (not through `lookout config load`) whose edges
cross is refused by the running service with a logged reason and a metric; the zones after
it still apply (memory bus: the refusal is the table reader's and the schema's, not the
broker's; the Tansu test beside it covers an out-of-range zone)."""

from __future__ import annotations

import asyncio

from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from bus.base import Outgoing
from bus.memory import MemoryBus
from fusion.checkpoint import MemoryCheckpointStore
from fusion.service import FusionService
from schemas.topics import Topic
from tests.fusion.support import scaled_settings
from tests.fusion.test_detectors import LAT, LON, zone
from tests.fusion.test_live_config import bad_copy
from tests.store.support import wait_for

BOW_TIE = [[[LON, LAT], [LON + 0.1, LAT - 0.1], [LON + 0.1, LAT], [LON, LAT - 0.1], [LON, LAT]]]


def refused(topic: str) -> float:
    sample = REGISTRY.get_sample_value("lookout_fusion_config_refused_total", {"topic": topic})
    return sample or 0.0


async def test_a_crossing_zone_on_the_topic_is_refused_and_the_next_zone_applies() -> None:
    def crossing(body: dict[str, object]) -> None:
        body["geometry"] = {"type": "Polygon", "coordinates": BOW_TIE}

    bus = MemoryBus(source="/tests")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    topic = Topic.CONFIG_GEOFENCES.value
    before = refused(topic)
    service = FusionService(bus, scaled_settings(), MemoryCheckpointStore())
    with capture_logs() as logs:
        task = asyncio.create_task(service.run())
        try:
            await bus.publish_many(
                [
                    bad_copy(Outgoing(topic, "bow", zone("bow")), "/tests", crossing),
                    Outgoing(topic, "z1", zone("z1")),
                ]
            )

            async def only_the_good_zone() -> bool:
                return service.fusion.zones.ids == ["z1"]

            await wait_for(only_the_good_zone, 30, "the zone after the refused one to apply")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert refused(topic) == before + 1
    reasons = [e["reason"] for e in logs if e.get("topic") == topic and e.get("key") == "bow"]
    assert len(reasons) == 1 and "Self-intersection at" in reasons[0], logs
