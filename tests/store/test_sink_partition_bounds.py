"""Partitions on demand are bounded (issue 12, point 8): an event from a receiver with a
broken clock or from before the retention makes no partition and goes to the dead-letter
topic with the reason; one batch creates at most ``sink_max_new_partitions`` partitions;
partition DDL gives up after ``lock_timeout`` instead of queueing every writer behind it."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, date, datetime, timedelta

import pytest
from msgspec.structs import replace

from bus.base import Outgoing
from bus.deadletter import replay_of
from bus.memory import MemoryBus
from schemas.topics import Topic
from store.db import Conn, connect
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.factories import alert, position
from tests.store.support import count, header, read_topic, records_of, wait_for

pytestmark = pytest.mark.postgres


async def partition_days(conn: Conn, table: str) -> set[date]:
    cur = await conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        (table,),
    )
    return {datetime.strptime(name[-8:], "%Y%m%d").date() for (name,) in await cur.fetchall()}


def at(mmsi: int, when: datetime) -> Outgoing:
    report = replace(position(mmsi, 0, -8.0, 115.0), event_time=when)
    return Outgoing(Topic.AIS_POSITIONS, str(mmsi), report)


async def test_events_ahead_of_the_clock_or_past_the_retention_make_no_partition(
    db_url: str, conn: Conn, store_settings: StoreSettings
) -> None:
    settings = store_settings.model_copy(update={"retention_days": 30})
    now = datetime.now(UTC).replace(microsecond=0)
    ahead = now + timedelta(days=6)  # beyond the partitions made ahead (3 days)
    future_alert = alert("525000004", 0).model_copy(
        update={"started_at": now + timedelta(days=9), "updated_at": now + timedelta(days=9)}
    )
    messages = [
        at(525_000_001, ahead),
        at(525_000_002, now - timedelta(days=40)),
        at(525_000_003, now - timedelta(hours=1)),
        Outgoing(Topic.FUSION_ALERTS, str(future_alert.alert_id), future_alert),
    ]
    bus = MemoryBus(source="/tests")
    sink = StoreSink(bus, settings)
    await sink.write_durably(records_of(messages))
    await sink.close()
    assert await count(db_url, "positions") == 1
    assert await count(db_url, "alerts") == 0
    assert ahead.date() not in await partition_days(conn, "positions")
    assert (now - timedelta(days=40)).date() not in await partition_days(conn, "positions")
    assert (now + timedelta(days=9)).date() not in await partition_days(conn, "alerts")
    dead = {header(d, "dlq_offset"): d for d in await read_topic(bus, Topic.DEADLETTER, 3)}
    assert sorted(dead) == ["0", "1", "3"]
    assert "more than 1 day ahead of the database clock" in (header(dead["0"], "dlq_reason") or "")
    assert "older than the retention window (30 days" in (header(dead["1"], "dlq_reason") or "")
    assert "more than 1 day ahead" in (header(dead["3"], "dlq_reason") or "")


async def test_one_batch_creates_at_most_the_cap_and_the_rest_can_be_replayed(
    db_url: str, conn: Conn, store_settings: StoreSettings
) -> None:
    settings = store_settings.model_copy(update={"sink_max_new_partitions": 3})
    days = [datetime(2025, 1, d, 12, tzinfo=UTC) for d in range(1, 6)]
    before = await partition_days(conn, "positions")
    bus = MemoryBus(source="/tests")
    sink = StoreSink(bus, settings)
    await sink.write_durably(records_of([at(525_000_000 + n, day) for n, day in enumerate(days)]))
    created = await partition_days(conn, "positions") - before
    # The days nearest the clock first: a backlog of recent days is likelier real.
    assert created == {date(2025, 1, 3), date(2025, 1, 4), date(2025, 1, 5)}
    assert await count(db_url, "positions") == 3
    letters = await read_topic(bus, Topic.DEADLETTER, 2)
    assert sorted(header(d, "dlq_offset") or "" for d in letters) == ["0", "1"]
    assert all(
        "beyond the 3 one batch may create" in (header(d, "dlq_reason") or "") for d in letters
    )

    # Replayed (bus.deadletter.replay_of), they come back as the original records and are
    # stored by the next batch.
    await bus.publish_many([replay_of(d) for d in letters])
    replayed = await read_topic(bus, Topic.AIS_POSITIONS, 2)
    assert sorted(r.key or "" for r in replayed) == ["525000000", "525000001"]
    assert all(header(r, "dlq_reason") is None for r in replayed)
    await sink.write_durably(replayed)
    await sink.close()
    assert await count(db_url, "positions") == 5


async def test_partition_ddl_gives_up_behind_a_long_lock_and_the_batch_waits(
    db_url: str, store_settings: StoreSettings
) -> None:
    settings = store_settings.model_copy(update={"partition_lock_timeout_ms": 100})
    bus = MemoryBus(source="/tests")
    await bus.publish_many([at(525_000_001, datetime(2024, 6, 1, 12, tzinfo=UTC))])
    sink = StoreSink(bus, settings)
    async with await connect(db_url) as analyst:
        async with analyst.transaction():
            # A long query on positions holds its lock for as long as it runs.
            await analyst.execute("LOCK TABLE positions IN ACCESS SHARE MODE")
            task = asyncio.create_task(sink.run())
            try:

                async def blocked() -> bool:
                    assert not task.done(), task.exception()
                    return sink.status.retries > 3  # conflicts: down after three

                await wait_for(blocked, 30, "the sink to report its partition DDL blocked")
                ready = await sink.readiness()
                assert ready.status == "down"
                assert ready.detail == "lock not granted within lock_timeout (retrying)"
                assert sink.status.records == 0
            except BaseException:
                task.cancel()
                raise
        # The query ends: the partition is made and the batch written.
        try:

            async def written() -> bool:
                assert not task.done(), task.exception()
                return sink.status.records == 1

            await wait_for(written, 30, "the batch to be written once the lock is gone")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert await count(db_url, "positions_p20240601") == 1
