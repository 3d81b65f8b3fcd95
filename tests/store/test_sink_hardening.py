"""One bad record never stops the sink (it goes to the dead-letter topic), a bug is never
mistaken for one; a wrong clock never freezes a vessel; type 24's parts end the same
whatever the batch boundaries; area questions leave the loop free."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from msgspec.structs import replace

from bus.base import Outgoing
from bus.memory import MemoryBus
from schemas.patrol import PatrolReport
from schemas.topics import Topic
from store import sink as sink_module
from store import timeseries
from store.db import Conn
from store.errors import RefusedDataError
from store.models import BoundingBox
from store.queries import latest_vessels_in_bbox
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.factories import T0, patrol, position, static, unchecked
from tests.store.support import count, header, read_topic, records_of, snapshot, wait_for

pytestmark = pytest.mark.postgres

LAST_DAY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
WORLD = BoundingBox(min_lon=-180, min_lat=-90, max_lon=180, max_lat=90)


def test_the_last_representable_day_has_no_partition_bounds_it_is_refused_data() -> None:
    assert timeseries.partition_bounds(date(2026, 3, 1)) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 3, 2, tzinfo=UTC),
    )
    with pytest.raises(RefusedDataError):
        timeseries.partition_bounds(date.max)


async def test_a_position_dated_9999_goes_to_the_dead_letter_topic_and_the_rest_is_written(
    db_url: str, store_settings: StoreSettings
) -> None:
    bus = MemoryBus(source="/tests")
    far = unchecked(position(525_000_002, 0, -8.0, 115.0), event_time=LAST_DAY)
    sink = StoreSink(bus, store_settings)
    await sink.write_durably(
        records_of(
            [
                Outgoing(Topic.AIS_POSITIONS, "525000002", far),
                Outgoing(Topic.AIS_POSITIONS, "525000001", position(525_000_001, 1, -8.0, 115.0)),
            ]
        )
    )
    await sink.close()
    assert sink.status.dead_lettered == 1
    assert await count(db_url, "positions") == 1
    (dead,) = await read_topic(bus, Topic.DEADLETTER, 1)
    reason = header(dead, "dlq_reason") or ""
    assert reason.startswith("undecodable: invalid lookout.ais.position.v1 value: event_time:")
    assert header(dead, "dlq_key") == "525000002"


async def test_the_running_sink_dead_letters_a_position_dated_9999_and_commits_past_it(
    db_url: str, store_settings: StoreSettings
) -> None:
    bus = MemoryBus(source="/tests")
    far = unchecked(position(525_000_002, 0, -8.0, 115.0), event_time=LAST_DAY)
    await bus.publish_many([Outgoing(Topic.AIS_POSITIONS, "525000002", far)])
    await bus.publish_many(
        [Outgoing(Topic.AIS_POSITIONS, "525000001", position(525_000_001, 1, -8.0, 115.0))]
    )
    sink = StoreSink(bus, store_settings)
    task = asyncio.create_task(sink.run())
    try:

        async def written() -> bool:
            assert not task.done(), task.exception()
            return sink.status.records == 2

        await wait_for(written, 30, "both records handled")
        assert sink.status.dead_lettered == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert await count(db_url, "positions") == 1
    # A restarted sink does not meet the bad record again: its offset was committed.
    await bus.publish_many(
        [Outgoing(Topic.AIS_POSITIONS, "525000003", position(525_000_003, 2, -8.0, 115.0))]
    )
    again = StoreSink(bus, store_settings)
    task = asyncio.create_task(again.run())
    try:

        async def third() -> bool:
            assert not task.done(), task.exception()
            return again.status.records >= 1

        await wait_for(third, 30, "the new record")
        assert again.status.records == 1 and again.status.dead_lettered == 0
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_an_error_that_is_not_about_the_data_holds_the_batch_until_it_is_gone(
    db_url: str, store_settings: StoreSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug met by one odd event is not bad input: skipping the event would lose it for
    good, so the sink holds the batch, reports why, and writes it all once fixed."""
    real = sink_module.write_patrol_reports
    bug = True

    async def picky(conn: Conn, reports: Sequence[PatrolReport]) -> int:
        if bug and any(r.notes == "boom" for r in reports):
            raise ValueError("a bug met by one odd event")
        return await real(conn, reports)

    monkeypatch.setattr(sink_module, "write_patrol_reports", picky)
    bus = MemoryBus(source="/tests")
    await bus.publish_many(
        [
            Outgoing(Topic.AIS_POSITIONS, "1", position(525_000_001, 1, -8.0, 115.0)),
            Outgoing(Topic.PATROL_REPORTS, None, patrol(2, notes="boom")),
            Outgoing(Topic.PATROL_REPORTS, None, patrol(3)),
        ]
    )
    sink = StoreSink(bus, store_settings)
    task = asyncio.create_task(sink.run())
    try:

        async def failing() -> bool:
            assert not task.done(), task.exception()
            return sink.status.retries >= 3

        await wait_for(failing, 30, "the sink to retry")
        ready = await sink.readiness()
        assert ready.status == "down" and ready.detail == "unexpected error (ValueError)"
        assert sink.status.records == 0 and sink.status.dead_lettered == 0
        assert await count(db_url, "patrol_reports") == 0
        bug = False  # the fix is deployed

        async def written() -> bool:
            return sink.status.records == 3

        await wait_for(written, 30, "the held batch to be written")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert sink.status.dead_lettered == 0
    assert await count(db_url, "positions") == 1
    assert await count(db_url, "patrol_reports") == 2


async def test_a_report_from_far_in_the_future_never_freezes_the_vessel(
    db_url: str, conn: Conn, store_settings: StoreSettings
) -> None:
    mmsi = 525_000_005
    now = datetime.now(UTC).replace(microsecond=0)
    future = replace(position(mmsi, 0, -7.0, 114.0), event_time=now + timedelta(hours=20))
    recent = replace(position(mmsi, 0, -8.0, 115.0), event_time=now - timedelta(seconds=60))
    sink = StoreSink(MemoryBus(source="/tests"), store_settings)
    for report in (future, recent):  # two batches, in arrival order
        await sink.write_durably(records_of([Outgoing(Topic.AIS_POSITIONS, str(mmsi), report)]))
    await sink.close()
    assert await count(db_url, "positions") == 2  # history keeps what was received
    seen = await latest_vessels_in_bbox(conn, WORLD)
    assert [(v.mmsi, v.time, v.lat) for v in seen] == [(mmsi, recent.event_time, -8.0)]


async def test_a_vessel_frozen_by_an_old_future_dated_row_is_freed(
    conn: Conn, store_settings: StoreSettings
) -> None:
    mmsi = 525_000_006
    now = datetime.now(UTC).replace(microsecond=0)
    await conn.execute(
        "INSERT INTO vessels (mmsi, time, lat, lon) VALUES (%s, %s, 0, 0)",
        (mmsi, now + timedelta(days=400)),
    )
    recent = replace(position(mmsi, 0, -8.0, 115.0), event_time=now - timedelta(seconds=60))
    sink = StoreSink(MemoryBus(source="/tests"), store_settings)
    await sink.write_durably(records_of([Outgoing(Topic.AIS_POSITIONS, str(mmsi), recent)]))
    await sink.close()
    cur = await conn.execute("SELECT time, lat FROM vessels WHERE mmsi = %s", (mmsi,))
    assert await cur.fetchone() == (recent.event_time, -8.0)


async def test_type_24_parts_end_the_same_in_one_batch_or_two(
    db_url: str, conn: Conn, store_settings: StoreSettings
) -> None:
    mmsi = 525_000_024

    def part(which: str, minute: float, **fields: Any) -> Outgoing:
        return Outgoing(
            Topic.AIS_STATIC, str(mmsi), static(mmsi, minute, msg_type=24, part=which, **fields)
        )

    part_a = part("A", 1 / 60, name="SEA STAR")  # a second after part B
    part_b = part("B", 0, callsign="ABC123", ship_type=30)
    rename = part("A", 10, name="SEA QUEEN")
    tables = ("vessels", "vessel_identity_history")

    async def run(batches: list[list[Outgoing]]) -> dict[str, list[Any]]:
        await conn.execute("DELETE FROM vessels")
        await conn.execute("DELETE FROM vessel_identity_history")
        sink = StoreSink(MemoryBus(source="/tests"), store_settings)
        for batch in batches:
            await sink.write_durably(records_of(batch))
        await sink.close()
        return await snapshot(db_url, tables)

    together = await run([[part_a, part_b, rename]])
    assert await run([[part_a], [part_b], [rename]]) == together
    assert await run([[part_a], [part_b, rename]]) == together
    cur = await conn.execute(
        "SELECT name, callsign, ship_type, identity_time FROM vessels WHERE mmsi = %s", (mmsi,)
    )
    assert await cur.fetchone() == ("SEA QUEEN", "ABC123", 30, T0 + timedelta(minutes=10))
    cur = await conn.execute(
        "SELECT name, previous_name, callsign, changed_fields FROM vessel_identity_history"
    )
    assert await cur.fetchall() == [("SEA QUEEN", "SEA STAR", "ABC123", ["name"])]
