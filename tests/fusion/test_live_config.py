"""Config changes on a running fusion instance (Tansu): a zone published on the geofence
topic mid-stream starts alerting without a restart, and its tombstone closes the alert; a
zone that does not validate and a report with an impossible position are refused with a
logged reason and a metric, and the stream goes on."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from bus import BusSettings
from bus.base import Outgoing, Record
from bus.kafka import KafkaBus
from fusion.checkpoint import MemoryCheckpointStore
from fusion.processor import FusionTopics
from fusion.service import FusionService
from schemas.alerts import Alert, AlertChange, AlertRule
from schemas.patrol import PatrolReport, ReporterKind
from schemas.topics import Topic
from tests.fusion.support import AlertWatch, scaled_settings, wait_drained
from tests.fusion.test_detectors import LAT, LON, T0, position, zone
from tests.store.support import wait_for

pytestmark = [pytest.mark.kafka]


def topics_for(unique: str) -> FusionTopics:
    return FusionTopics(
        positions=f"{Topic.AIS_POSITIONS.value}.{unique}",
        static=f"{Topic.AIS_STATIC.value}.{unique}",
        reports=f"{Topic.PATROL_REPORTS.value}.{unique}",
        safety=f"{Topic.AIS_SAFETY.value}.{unique}",
        geofences=f"{Topic.CONFIG_GEOFENCES.value}.{unique}",
        watchlist=f"{Topic.CONFIG_WATCHLIST.value}.{unique}",
        alerts=f"{Topic.FUSION_ALERTS.value}.{unique}",
        cells=f"{Topic.FUSION_CELLS.value}.{unique}",
    )


@asynccontextmanager
async def running(bus: KafkaBus, unique: str) -> AsyncIterator[FusionService]:
    topics = topics_for(unique)
    service = FusionService(
        bus, scaled_settings(group=f"live-{unique}"), MemoryCheckpointStore(), topics=topics
    )
    task = asyncio.create_task(service.run())
    try:
        yield service
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def positions(topic: str, start_s: float, count: int, lon: float) -> list[Outgoing]:
    return [
        Outgoing(topic, "525000001", position(525_000_001, start_s + 10 * i, LAT, lon))
        for i in range(count)
    ]


def is_change(rule: AlertRule, change: AlertChange) -> Callable[[Alert], bool]:
    return lambda a: a.rule is rule and a.change is change


def bad_copy(event: Outgoing, source: str, change: Callable[[dict[str, object]], None]) -> Outgoing:
    """``event``'s headers with a value no validator accepts (a producer that skipped
    validation, or another language's)."""
    value, headers = event.encode(source)
    assert value is not None
    body = json.loads(value)
    change(body)
    return Outgoing(
        event.topic, event.key, None, headers=tuple(headers), raw=json.dumps(body).encode()
    )


async def changes_until(
    watch: AlertWatch, condition: Callable[[Alert], bool], what: str
) -> list[Alert]:
    return await watch.until(lambda alerts: any(condition(a) for a in alerts), what)


async def test_a_zone_added_mid_stream_alerts_without_restart_and_its_tombstone_closes(
    kafka_settings: BusSettings, unique: str
) -> None:
    topics = topics_for(unique)
    async with KafkaBus(kafka_settings, source="/tests") as bus:
        await bus.ensure_topics([topics.positions, topics.geofences, topics.alerts])
        async with running(bus, unique) as service, AlertWatch(bus, topics.alerts) as watch:
            await bus.publish_many(positions(topics.positions, 10, 5, LON))
            await wait_drained(service)
            assert await watch.alerts() == []  # no zone yet: the vessel is nowhere

            await bus.publish_many([Outgoing(topics.geofences, "z1", zone("z1"))])

            async def zone_active() -> bool:
                return service.fusion.zones.ids == ["z1"]

            await wait_for(zone_active, 30, "the running service to take the zone in")
            await bus.publish_many(positions(topics.positions, 100, 3, LON + 0.001))
            entered = is_change(AlertRule.GEOFENCE_ENTER, AlertChange.OPENED)
            await changes_until(watch, entered, "an enter alert for the new zone")

            await bus.publish_many([Outgoing(topics.geofences, "z1", None)])  # deleted
            closed = is_change(AlertRule.GEOFENCE_ENTER, AlertChange.CLOSED)
            found = await changes_until(watch, closed, "the zone's removal to close its alert")
    assert [(a.rule, a.change, a.geofence_id) for a in found] == [
        (AlertRule.GEOFENCE_ENTER, AlertChange.OPENED, "z1"),
        (AlertRule.GEOFENCE_ENTER, AlertChange.CLOSED, "z1"),
    ]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_an_invalid_zone_and_an_impossible_report_are_refused_and_the_stream_goes_on(
    kafka_settings: BusSettings, unique: str
) -> None:
    topics = topics_for(unique)
    report = PatrolReport(
        report_id=uuid.uuid4(),
        agency="BAKAMLA",
        reporter_kind=ReporterKind.PATROL_VESSEL,
        observed_at=T0,
        received_at=T0 + timedelta(minutes=1),
        lat=LAT,
        lon=LON,
    )

    def out_of_range_zone(body: dict[str, object]) -> None:
        body["geometry"]["coordinates"][0][1][1] = 97.0  # type: ignore[index]

    def out_of_range_report(body: dict[str, object]) -> None:
        body["lat"] = 97.2

    bad_zone = bad_copy(Outgoing(topics.geofences, "bad", zone("bad")), "/tests", out_of_range_zone)
    bad_report = bad_copy(
        Outgoing(topics.reports, str(report.report_id), report), "/tests", out_of_range_report
    )
    zones_refused = sample("lookout_fusion_config_refused_total", topic=topics.geofences)
    reports_refused = sample(
        "lookout_fusion_refused_total", topic=topics.reports, reason="unreadable"
    )
    with capture_logs() as logs:
        async with KafkaBus(kafka_settings, source="/tests") as bus:
            await bus.ensure_topics([topics.positions, topics.reports, topics.geofences])
            await bus.publish_many([bad_zone, Outgoing(topics.geofences, "z1", zone("z1"))])
            async with running(bus, unique) as service, AlertWatch(bus, topics.alerts) as watch:

                async def good_zone_active() -> bool:
                    return service.fusion.zones.ids == ["z1"]

                await wait_for(good_zone_active, 30, "the valid zone beside the bad one")
                await bus.publish_many(
                    [bad_report, *positions(topics.positions, 10, 3, LON + 0.001)]
                )
                entered = is_change(AlertRule.GEOFENCE_ENTER, AlertChange.OPENED)
                await changes_until(watch, entered, "the stream to go on past the bad report")
                dead = await dead_letters_of(bus, topics.reports)
    assert sample("lookout_fusion_config_refused_total", topic=topics.geofences) == (
        zones_refused + 1
    )
    assert sample("lookout_fusion_refused_total", topic=topics.reports, reason="unreadable") == (
        reports_refused + 1
    )
    zone_reasons = [e["reason"] for e in logs if e.get("topic") == topics.geofences]
    assert len(zone_reasons) == 1 and "out of range" in zone_reasons[0], logs
    report_reasons = [e["reason"] for e in logs if e.get("topic") == topics.reports]
    assert len(report_reasons) == 1 and "lat" in report_reasons[0], logs
    # The refused report is kept whole, with its reason, for a replay once it is mended.
    assert [r.value for r in dead] == [bad_report.raw]
    assert "lat" in dict(dead[0].headers)["dlq_reason"].decode()


async def dead_letters_of(bus: KafkaBus, topic: str) -> list[Record]:
    """The dead letters whose original topic is ``topic`` (the dead-letter topic is shared)."""
    async with AlertWatch(bus, Topic.DEADLETTER.value, key=topic) as watch:
        records = await watch.until_records(lambda found: bool(found), f"a dead letter of {topic}")
    return records
