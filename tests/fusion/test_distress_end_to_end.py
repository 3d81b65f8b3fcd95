"""Distress on the real parts: NMEA from AIS-SART and MOB devices, safety-related
messages and a patrol report -> Tansu -> fusion -> Tansu -> store sink -> PostgreSQL. Each
source raises one critical distress alert, the three MOB devices of one scene are one
incident under the id of the first, and the device tests raise nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bus import BusSettings
from bus.base import Outgoing
from bus.kafka import KafkaBus
from fusion.processor import FusionTopics
from fusion.service import FusionService
from schemas.alerts import AlertRule, alert_id
from schemas.patrol import ObservedActivity, PatrolReport, ReporterKind
from schemas.topics import Topic
from store.checkpoints import PostgresCheckpointStore
from store.db import connect
from store.decode import SINK_TOPICS
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.fusion.support import scaled_settings, wait_drained
from tests.fusion.test_distress import decoded, position_lines
from tests.ingest.test_safety_messages import broadcast

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

SART, MOB_A, MOB_B, MOB_C, SHIP = 970_000_111, 972_000_300, 972_000_301, 972_000_302, 525_005_999


async def distress_rows(url: str) -> list[tuple[str, str, str, int]]:
    async with await connect(url) as conn:
        cur = await conn.execute(
            "SELECT subject, severity, title, (evidence->>'signals_seen')::int FROM alerts "
            "WHERE rule = 'distress' ORDER BY subject"
        )
        return [tuple(row) for row in await cur.fetchall()]  # type: ignore[misc]


async def test_every_distress_source_raises_one_critical_alert_through_the_pipeline(
    kafka_settings: BusSettings, db_url: str, store_settings: StoreSettings, unique: str
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    topics = FusionTopics(
        **{
            name: f"{getattr(FusionTopics(), name)}.{unique}"
            for name in ("positions", "static", "safety", "reports", "alerts", "geofences", "cells")
        }
    )

    def at(minute: float) -> datetime:
        return t0 + timedelta(minutes=minute)

    positions = [
        decoded(position_lines(mmsi, lat, lon), at(minute))
        for mmsi, minute, lat, lon in [
            (SART, 0, -8.0, 115.0),
            (MOB_A, 1, -9.500, 116.500),
            (MOB_B, 2, -9.503, 116.502),
            (MOB_C, 3, -9.498, 116.497),
        ]
    ]
    texts = [
        decoded(broadcast(SART + 1, "SART TEST"), at(4)),
        decoded(broadcast(MOB_A + 7, "MOB TEST"), at(4)),
        decoded(broadcast(SHIP, "MAYDAY ENGINE ROOM FLOODING"), at(5)),
    ]
    report = PatrolReport(
        report_id=uuid.uuid4(),
        agency="BAKAMLA",
        reporter_kind=ReporterKind.PATROL_VESSEL,
        observed_at=at(6),
        received_at=at(7),
        lat=-10.2,
        lon=123.4,
        activity=ObservedActivity.DISTRESS,
        persons_on_board=45,
    )
    messages = [
        *(Outgoing(topics.positions, str(p.mmsi), p) for p in positions),  # type: ignore[union-attr]
        *(Outgoing(topics.safety, str(m.mmsi), m) for m in texts),  # type: ignore[union-attr]
        Outgoing(topics.reports, str(report.report_id), report),
    ]
    bus = KafkaBus(kafka_settings, source="/lookout/fusion")
    checkpoints = PostgresCheckpointStore(db_url)
    async with bus:
        await bus.ensure_topics([*topics.shard_topics(), topics.alerts])
        await bus.publish_many(messages)
        fusion = FusionService(
            bus, scaled_settings(group=f"fusion-{unique}"), checkpoints, topics=topics
        )
        names = {
            Topic.AIS_POSITIONS: topics.positions,
            Topic.AIS_STATIC: topics.static,
            Topic.AIS_SAFETY: topics.safety,
            Topic.PATROL_REPORTS: topics.reports,
            Topic.FUSION_ALERTS: topics.alerts,
        }
        sink = StoreSink(
            bus,
            store_settings.model_copy(update={"sink_group": f"sink-{unique}"}),
            topics={t: names.get(t, f"{t.value}.{unique}") for t in SINK_TOPICS},
        )
        tasks = [asyncio.create_task(fusion.run()), asyncio.create_task(sink.run())]
        try:
            await wait_drained(fusion, timeout_s=90)
            expected = sorted(
                [
                    (f"distress:mmsi:{SART}", "critical", "AIS-SART active", 1),
                    (
                        f"distress:mmsi:{MOB_A}",
                        "critical",
                        "Man overboard device active: 3 signals",
                        3,
                    ),
                    (f"distress:mmsi:{SHIP}", "critical", "MAYDAY", 1),
                    (
                        f"distress:report:{report.report_id}",
                        "critical",
                        "Vessel in distress reported",
                        1,
                    ),
                ]
            )
            deadline = time.monotonic() + 30
            while (rows := await distress_rows(db_url)) != expected:
                assert time.monotonic() < deadline, rows
                await asyncio.sleep(0.1)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await checkpoints.close()
    # The MOB scene keeps the id of its first alert, and the safety messages were stored.
    async with await connect(db_url) as conn:
        cur = await conn.execute(
            "SELECT alert_id FROM alerts WHERE subject = %s", (f"distress:mmsi:{MOB_A}",)
        )
        assert await cur.fetchone() == (
            alert_id(AlertRule.DISTRESS, f"distress:mmsi:{MOB_A}", at(1)),
        )
        cur = await conn.execute("SELECT kind FROM ais_safety_messages ORDER BY kind")
        assert [row[0] for row in await cur.fetchall()] == ["mayday", "mob_test", "sart_test"]
