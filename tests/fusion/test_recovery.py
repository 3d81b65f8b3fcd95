"""Recovery on Tansu and PostgreSQL: a fusion instance that dies between publishing and
checkpointing, and its successor, end with exactly the alerts of an uninterrupted run:
same ids, same final states, no event that the uninterrupted run did not publish (a
republished event is byte-identical, so receivers deduplicate it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from bus import BusSettings
from bus.base import Record
from bus.kafka import KafkaBus
from fusion.processor import FusionTopics
from fusion.service import FusionService
from ingest.scenario import build_scenario
from schemas.alerts import AlertRule
from schemas.topics import Topic
from store.checkpoints import PostgresCheckpointStore
from tests.fusion.support import (
    THRESHOLDS,
    alerts_of,
    final_states,
    publish_config,
    read_all,
    renamed,
    scaled_settings,
    scenario_records,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


class SimulatedCrash(RuntimeError):
    """The process dies here: alerts published, state not yet checkpointed."""


def topics_for(unique: str, alerts: str) -> FusionTopics:
    return FusionTopics(
        positions=f"{Topic.AIS_POSITIONS.value}.{unique}",
        static=f"{Topic.AIS_STATIC.value}.{unique}",
        geofences=f"{Topic.CONFIG_GEOFENCES.value}.{unique}",
        watchlist=f"{Topic.CONFIG_WATCHLIST.value}.{unique}",
        alerts=f"{Topic.FUSION_ALERTS.value}.{unique}.{alerts}",
    )


async def prepare(bus: KafkaBus, unique: str) -> None:
    scenario = build_scenario(thresholds=THRESHOLDS)
    topics = topics_for(unique, "x")
    await bus.ensure_topics([topics.positions, topics.static, topics.geofences, topics.watchlist])
    await publish_config(bus, scenario, topics.geofences, topics.watchlist)
    names = {Topic.AIS_POSITIONS.value: topics.positions, Topic.AIS_STATIC.value: topics.static}
    await bus.publish_many(renamed(await scenario_records(scenario), names))


def distinct_events(records: Sequence[Record]) -> dict[tuple[str | None, bytes], bytes | None]:
    """(alert id, ce_id) -> value; a republished event must have the same bytes."""
    events: dict[tuple[str | None, bytes], bytes | None] = {}
    for r in records:
        ce_id = dict(r.headers)["ce_id"]
        key = (r.key, ce_id)
        assert events.setdefault(key, r.value) == r.value, f"event {key} republished changed"
        events[key] = r.value
    return events


async def run_to_end(services: list[FusionService], timeout_s: float = 90) -> None:
    tasks = [asyncio.create_task(s.run()) for s in services]
    try:
        deadline = time.monotonic() + timeout_s
        while not all([await s.drained() for s in services]):
            for task in tasks:
                if task.done():
                    task.result()
            assert time.monotonic() < deadline, "fusion did not drain"
            await asyncio.sleep(0.05)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def compare(reference: Sequence[Record], recovered: Sequence[Record]) -> None:
    ref_alerts, rec_alerts = alerts_of(reference), alerts_of(recovered)
    assert final_states(ref_alerts) == final_states(rec_alerts)
    name_matched = {
        r.key
        for r, a in zip(reference, ref_alerts, strict=True)
        if a.rule is AlertRule.WATCHLIST and a.evidence.get("matched_field") == "name"
    }
    ref = {k: v for k, v in distinct_events(reference).items() if k[0] not in name_matched}
    rec = {k: v for k, v in distinct_events(recovered).items() if k[0] not in name_matched}
    assert ref == rec


async def test_an_instance_dying_before_its_checkpoint_resumes_without_loss_or_doubles(
    kafka_settings: BusSettings, db_url: str, unique: str
) -> None:
    checkpoints = PostgresCheckpointStore(db_url)
    async with KafkaBus(kafka_settings, source="/lookout/fusion") as bus:
        await prepare(bus, unique)
        plain = topics_for(unique, "plain")
        await run_to_end(
            [
                FusionService(
                    bus, scaled_settings(group=f"plain-{unique}"), checkpoints, topics=plain
                )
            ]
        )
        reference = await read_all(bus, plain.alerts, f"read-{unique}")

        crashing = topics_for(unique, "crash")
        batches = 0

        async def crash_on_sixth_batch(records: Sequence[Record]) -> None:
            nonlocal batches
            batches += 1
            if batches == 6:
                raise SimulatedCrash

        settings = scaled_settings(group=f"crash-{unique}", checkpoint_every_records=700)
        first = FusionService(
            bus, settings, checkpoints, topics=crashing, after_publish=crash_on_sixth_batch
        )
        with pytest.raises(SimulatedCrash):
            await first.run()
        second = FusionService(bus, settings, checkpoints, topics=crashing)
        await run_to_end([second])
        recovered = await read_all(bus, crashing.alerts, f"read2-{unique}")
    await checkpoints.close()
    assert batches == 6
    compare(reference, recovered)
