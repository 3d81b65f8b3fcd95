"""Ingest -> Tansu -> fusion (checkpoints in PostgreSQL) -> Tansu -> store sink ->
PostgreSQL: the scenario's alerts land in the alerts table, and nothing else does."""

from __future__ import annotations

import asyncio
import time

import pytest

from bus import BusSettings
from bus.kafka import KafkaBus
from fusion.processor import FusionTopics
from fusion.service import FusionService
from ingest.scenario import build_scenario
from schemas.topics import Topic
from store.checkpoints import PostgresCheckpointStore
from store.db import connect
from store.decode import SINK_TOPICS
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.fusion.support import (
    THRESHOLDS,
    publish_config,
    renamed,
    scaled_settings,
    scenario_records,
    wait_drained,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


async def alert_rows(url: str) -> list[tuple[str, str, str]]:
    async with await connect(url) as conn:
        cur = await conn.execute("SELECT rule, subject, status FROM alerts ORDER BY 1, 2")
        return [tuple(row) for row in await cur.fetchall()]  # type: ignore[misc]


async def test_scenario_alerts_land_in_the_database(
    kafka_settings: BusSettings, db_url: str, store_settings: StoreSettings, unique: str
) -> None:
    scenario = build_scenario(thresholds=THRESHOLDS)
    topics = FusionTopics(
        **{
            name: f"{getattr(FusionTopics(), name)}.{unique}"
            for name in (
                *("positions", "static", "safety", "reports"),
                *("alerts", "geofences", "watchlist"),
            )
        }
    )
    names = {Topic.AIS_POSITIONS.value: topics.positions, Topic.AIS_STATIC.value: topics.static}
    bus = KafkaBus(kafka_settings, source="/lookout/fusion")
    checkpoints = PostgresCheckpointStore(db_url)
    async with bus:
        await bus.ensure_topics(
            [*names.values(), topics.alerts, topics.geofences, topics.watchlist]
        )
        await publish_config(bus, scenario, topics.geofences, topics.watchlist)
        await bus.publish_many(renamed(await scenario_records(scenario), names))
        fusion = FusionService(
            bus, scaled_settings(group=f"fusion-{unique}"), checkpoints, topics=topics
        )
        sink_settings = store_settings.model_copy(update={"sink_group": f"sink-{unique}"})
        sink = StoreSink(
            bus,
            sink_settings,
            topics={t: f"{t.value}.{unique}" for t in SINK_TOPICS},
        )
        tasks = [asyncio.create_task(fusion.run()), asyncio.create_task(sink.run())]
        try:
            await wait_drained(fusion, timeout_s=90)
            expected = sorted(
                (
                    e.rule.value,
                    f"{e.mmsi}"
                    + (f":{e.what}" if e.rule.value.startswith(("geofence", "watchlist")) else ""),
                    "closed" if e.closed else "open",
                )
                for e in scenario.expected
            )
            deadline = time.monotonic() + 30
            while (rows := await alert_rows(db_url)) != expected:
                assert time.monotonic() < deadline, rows
                await asyncio.sleep(0.1)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await checkpoints.close()
    # The state fusion checkpointed reflects every record it read.
    async with await connect(db_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM fusion_checkpoints")
        assert (await cur.fetchone()) == (3,)
