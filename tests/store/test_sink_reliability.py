"""Effectively once against the real parts: a sink killed between its database commit and
its offset commit, and a database that goes away, both leave nothing lost and nothing
doubled (ARCHITECTURE.md, "At least once, effectively once")."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import httpx
import pytest

from api.health import HealthRegistry
from api.ops import create_ops_app
from bus.base import Bus, Record
from bus.kafka import KafkaBus
from bus.memory import MemoryBus
from bus.settings import BusSettings
from lookout.checks import database_check
from schemas.topics import Topic
from store.db import connect
from store.decode import SINK_TOPICS
from store.embedded import EmbeddedPostgres
from store.migrate import migrate
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.factories import mixed_traffic
from tests.store.support import records_of, snapshot, wait_for
from tests.support.pg import postgres_data_dir


class SimulatedCrash(RuntimeError):
    """The process dies here: after the database commit, before the offset commit."""


async def run_until(sink: StoreSink) -> asyncio.Task[None]:
    return asyncio.create_task(sink.run())


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.kafka
@pytest.mark.postgres
async def test_a_sink_killed_before_committing_offsets_leaves_exactly_one_runs_tables(
    kafka_settings: BusSettings,
    postgres_url: str,
    db_url: str,
    unique: str,
    store_settings: StoreSettings,
) -> None:
    from tests.store.conftest import create_database, drop_database

    topics = {topic: f"{topic.value}.{unique}" for topic in SINK_TOPICS}
    messages = [
        dataclasses.replace(m, topic=topics[Topic(m.topic)])
        for m in mixed_traffic(vessels=10, minutes=40)
    ]
    bus = KafkaBus(kafka_settings, source="/tests")
    await bus.start()
    crash_url = await create_database(postgres_url)
    try:
        await bus.ensure_topics(topics.values())
        await bus.publish_many(messages)

        # The uninterrupted run, into the fixture's database.
        reference = StoreSink(
            bus, store_settings.model_copy(update={"sink_group": f"ref-{unique}"}), topics=topics
        )
        task = await run_until(reference)
        await wait_for(lambda: _done(reference, len(messages)), 60, "the reference run")
        await stop(task)
        expected = await snapshot(db_url)
        assert len(expected["positions"]) == 400 and expected["vessel_identity_history"]

        # The same input into a second database, by a sink that dies after its 2nd batch.
        # Batches of at most 100: the crash on the 2nd leaves most of the input unwritten.
        settings = store_settings.model_copy(
            update={
                "database_url": crash_url,
                "sink_group": f"crash-{unique}",
                "sink_batch_max_records": 100,
            }
        )
        async with await connect(crash_url) as conn:
            await migrate(conn, settings)
        committed: list[Record] = []
        batches = 0

        async def die_on_second_batch(records: Sequence[Record]) -> None:
            nonlocal batches
            batches += 1
            if batches == 2:
                raise SimulatedCrash("killed between the database and the offset commit")
            committed.extend(records)

        doomed = StoreSink(bus, settings, topics=topics, after_database_commit=die_on_second_batch)
        with pytest.raises(SimulatedCrash):
            await asyncio.wait_for(doomed.run(), 60)
        written_before_restart = await snapshot(crash_url)
        assert 0 < len(written_before_restart["positions"]) <= 200

        restarted = StoreSink(bus, settings, topics=topics)
        task = await run_until(restarted)
        # It is handed everything after the committed offsets, the crashed batch included.
        await wait_for(
            lambda: _done(restarted, len(messages) - len(committed)),
            60,
            "the restarted sink to read what was not committed",
        )
        await stop(task)
        assert restarted.status.records == len(messages) - len(committed)
        assert await snapshot(crash_url) == expected
    finally:
        await bus.stop()
        await drop_database(postgres_url, crash_url)


async def _done(sink: StoreSink, records: int) -> bool:
    return sink.status.records >= records


@pytest.mark.postgres
async def test_a_database_that_goes_away_makes_the_sink_wait_then_finish(
    db_url: str, store_settings: StoreSettings
) -> None:
    """A server of its own, so stopping it disturbs no other test."""
    with postgres_data_dir() as data_dir:
        await _outage_then_recovery(data_dir, db_url, store_settings)


async def _outage_then_recovery(data_dir: Path, db_url: str, store_settings: StoreSettings) -> None:
    messages = mixed_traffic(vessels=6, minutes=30)
    first, second = messages[: len(messages) // 2], messages[len(messages) // 2 :]
    # What one uninterrupted write of everything leaves, on the session's server.
    reference = StoreSink(MemoryBus(source="/tests"), store_settings)
    await reference.write_durably(records_of(messages))
    await reference.close()
    expected = await snapshot(db_url)

    server = EmbeddedPostgres(data_dir)
    url = server.start()
    bus: Bus = MemoryBus(source="/tests")
    await bus.start()
    settings = store_settings.model_copy(update={"database_url": url})
    try:
        async with await connect(url) as conn:
            await migrate(conn, settings)
        sink = StoreSink(bus, settings)
        ops = ops_client(sink, url)
        task = await run_until(sink)
        await bus.publish_many(first)
        await wait_for(lambda: _done(sink, len(first)), 30, "the first half to be written")
        assert (await ops.get("/readyz")).status_code == 200

        await asyncio.to_thread(server.stop)
        await bus.publish_many(second)
        await wait_for(lambda: _retried(sink, 3), 30, "the sink to retry a lost database")
        assert not task.done()  # waiting, not crashed
        # Not ready (out of service), still alive (no restart loop during an outage).
        alive, ready = await ops.get("/healthz"), await ops.get("/readyz")
        assert alive.status_code == 200, alive.text
        assert ready.status_code == 503
        details = {c["name"]: c["detail"] for c in ready.json()["components"]}
        assert details == {"store-sink": "database unreachable", "database": "database unreachable"}

        server = EmbeddedPostgres(data_dir)
        assert await asyncio.to_thread(server.start) == url
        await wait_for(lambda: _done(sink, len(messages)), 30, "the sink to finish")
        assert (await ops.get("/readyz")).status_code == 200
        await stop(task)
        assert sink.status.records == len(messages)  # nothing skipped
        assert await snapshot(url) == expected  # nothing lost, nothing doubled
    finally:
        await bus.stop()
        await asyncio.to_thread(server.stop)


def ops_client(sink: StoreSink, database_url: str) -> httpx.AsyncClient:
    """The sink's ops endpoint, as `lookout sink` serves it."""
    health = HealthRegistry("test")
    health.register("store-sink", sink.readiness)
    health.register_liveness("store-sink", sink.liveness)
    health.register("database", database_check(database_url))
    app = create_ops_app(health, title="lookout sink")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ops")


async def _retried(sink: StoreSink, times: int) -> bool:
    return sink.status.retries >= times
