"""Ingest -> Tansu -> fusion (checkpoints in PostgreSQL) -> Tansu -> store sink ->
PostgreSQL: the scenario's alerts land in the alerts table, and nothing else does."""

from __future__ import annotations

import asyncio
import time

import pytest

from bus import BusSettings
from bus.base import Outgoing, Record
from bus.kafka import KafkaBus
from fusion.cells.service import CellService
from fusion.processor import FusionTopics
from fusion.service import FusionService
from ingest.scenario import build_scenario
from schemas.alerts import AlertRule
from schemas.patrol import PatrolReport
from schemas.topics import Topic
from store.checkpoints import PostgresCheckpointStore
from store.db import connect
from store.decode import SINK_TOPICS
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.fusion.support import (
    THRESHOLDS,
    dark_sighting,
    publish_config,
    renamed,
    scaled_settings,
    scenario_records,
    sighting_at,
    wait_drained,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def sightings(records: list[Record]) -> tuple[PatrolReport, PatrolReport]:
    """A sighting 20 km north of every lane at mid-scenario, and one at a vessel's position."""
    positions = [r for r in records if r.topic == Topic.AIS_POSITIONS.value]
    middle = positions[len(positions) // 2]
    return dark_sighting(middle), sighting_at(middle)


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
                *("alerts", "geofences", "watchlist", "cells"),
            )
        }
    )
    names = {Topic.AIS_POSITIONS.value: topics.positions, Topic.AIS_STATIC.value: topics.static}
    bus = KafkaBus(kafka_settings, source="/lookout/fusion")
    checkpoints = PostgresCheckpointStore(db_url)
    async with bus:
        await bus.ensure_topics(
            [*names.values(), topics.alerts, topics.geofences, topics.watchlist, topics.cells]
        )
        await publish_config(bus, scenario, topics.geofences, topics.watchlist)
        records = await scenario_records(scenario)
        await bus.publish_many(renamed(records, names))
        dark, seen = sightings(records)
        async with await connect(db_url) as conn:
            await conn.execute("INSERT INTO agencies (agency_id, name) VALUES ('BAKAMLA', 'B')")
        settings = scaled_settings(group=f"fusion-{unique}", cell_group=f"cells-{unique}")
        fusion = FusionService(bus, settings, checkpoints, topics=topics)
        cells = CellService(bus, settings, checkpoints, topics=topics)
        sink_settings = store_settings.model_copy(update={"sink_group": f"sink-{unique}"})
        sink = StoreSink(
            bus,
            sink_settings,
            topics={t: f"{t.value}.{unique}" for t in SINK_TOPICS},
        )
        tasks = [
            asyncio.create_task(fusion.run()),
            asyncio.create_task(cells.run()),
            asyncio.create_task(sink.run()),
        ]
        try:
            await wait_drained(fusion, timeout_s=90)
            await wait_drained(cells, timeout_s=90)
            assert sum(s.late for s in cells.cells.states.values()) == 0
            # Dark target, once the positions are in (a sighting is judged on arrival): one
            # far from every vessel raises an alert, one where a vessel was does not.
            sent = [Outgoing(topics.reports, str(r.report_id), r) for r in (dark, seen)]
            await bus.publish_many(sent)
            expected = sorted(
                [("dark_target", f"report:{dark.report_id}", "open")]
                + [
                    (
                        e.rule.value,
                        e.what
                        if e.rule is AlertRule.RENDEZVOUS
                        else f"{e.mmsi}"
                        + (
                            f":{e.what}"
                            if e.rule.value.startswith(("geofence", "watchlist"))
                            else ""
                        ),
                        "closed" if e.closed else "open",
                    )
                    for e in scenario.expected
                ]
            )
            deadline = time.monotonic() + 30
            while (rows := await alert_rows(db_url)) != expected:
                assert time.monotonic() < deadline, f"{rows} != {expected}"
                await asyncio.sleep(0.1)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await checkpoints.close()
    # The state fusion checkpointed reflects every record it read (both stages).
    async with await connect(db_url) as conn:
        cur = await conn.execute(
            "SELECT source_agency, evidence->>'report_id', evidence ? 'notes' FROM alerts "
            "WHERE rule = 'dark_target'"
        )
        assert await cur.fetchall() == [("BAKAMLA", str(dark.report_id), False)]
        cur = await conn.execute(
            "SELECT group_id, count(*) FROM fusion_checkpoints GROUP BY 1 ORDER BY 1"
        )
        assert await cur.fetchall() == [(f"cells-{unique}", 3), (f"fusion-{unique}", 3)]
