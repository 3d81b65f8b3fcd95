"""The sink fails closed (ARCHITECTURE.md, "Fail closed"): a database that is not migrated,
is read-only, or refuses the sink's role its INSERT stops the sink — nothing skipped,
nothing committed, the reason reported — and once the fault is mended every row is there,
exactly as an uninterrupted run leaves it. Only records the database refuses as data go to
the dead-letter topic, and a batch mostly refused stops the sink instead."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bus.base import Outgoing
from bus.memory import MemoryBus
from schemas.topics import Topic
from store import timeseries
from store.db import Conn as Connection
from store.db import connect
from store.migrate import migrate
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.conftest import create_database, drop_database
from tests.store.factories import T0, alert, mixed_traffic, patrol, position
from tests.store.support import count, header, read_topic, records_of, snapshot, wait_for

pytestmark = pytest.mark.postgres


async def admin(server_url: str, *statements: str) -> None:
    async with await psycopg.AsyncConnection.connect(server_url, autocommit=True) as conn:
        for statement in statements:
            await conn.execute(statement.encode())


@dataclass
class Fault:
    """A database the sink cannot write to, and how an operator mends it."""

    sink_url: str
    reason: str
    mend: Callable[[], Awaitable[None]]


async def not_migrated(server_url: str, url: str, settings: StoreSettings) -> Fault:
    async def mend() -> None:
        async with await connect(url) as conn:
            await migrate(conn, settings)

    return Fault(url, "schema not migrated (have 0, need", mend)


async def read_only(server_url: str, url: str, settings: StoreSettings) -> Fault:
    """A standby after failover reads but refuses every write."""
    async with await connect(url) as conn:
        await migrate(conn, settings)
    name = conninfo_to_dict(url)["dbname"]
    await admin(server_url, f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')

    async def mend() -> None:
        await admin(server_url, f'ALTER DATABASE "{name}" RESET default_transaction_read_only')

    return Fault(url, "database is read-only", mend)


async def no_insert(server_url: str, url: str, settings: StoreSettings) -> Fault:
    """The sink's role may read and write everything but positions."""
    async with await connect(url) as conn:
        await migrate(conn, settings)
        # The traffic's day exists already: creating a partition needs the table's owner.
        for table in timeseries.TIME_SERIES_TABLES.values():
            await timeseries.ensure_partitions(conn, table, [T0.date()])
    role = f"sink_{conninfo_to_dict(url)['dbname']}"
    await admin(
        url,
        f'CREATE ROLE "{role}" LOGIN BYPASSRLS',  # the sink writes every agency's rows
        f'GRANT USAGE ON SCHEMA public TO "{role}"',
        f'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO "{role}"',
        f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "{role}"',
        f'REVOKE INSERT ON positions FROM "{role}"',
    )

    async def mend() -> None:
        await admin(url, f'GRANT INSERT ON positions TO "{role}"')

    return Fault(make_conninfo(url, user=role), "permission denied on table positions", mend)


FAULTS = {"not migrated": not_migrated, "read-only": read_only, "no INSERT": no_insert}


@pytest.fixture
async def reference(postgres_url: str, store_settings: StoreSettings) -> AsyncIterator[str]:
    """A database written by one uninterrupted run of the same traffic."""
    url = await create_database(postgres_url)
    settings = store_settings.model_copy(update={"database_url": url})
    try:
        async with await connect(url) as conn:
            await migrate(conn, settings)
        sink = StoreSink(MemoryBus(source="/tests"), settings)
        await sink.write_durably(records_of(TRAFFIC))
        await sink.close()
        yield url
    finally:
        await drop_database(postgres_url, url)


TRAFFIC = mixed_traffic(vessels=3, minutes=12)


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.parametrize("fault_name", list(FAULTS))
async def test_a_database_fault_stops_the_sink_until_mended_and_loses_nothing(
    fault_name: str,
    postgres_url: str,
    empty_db_url: str,
    store_settings: StoreSettings,
    reference: str,
) -> None:
    fault = await FAULTS[fault_name](postgres_url, empty_db_url, store_settings)
    settings = store_settings.model_copy(update={"database_url": fault.sink_url})
    bus = MemoryBus(source="/tests")
    await bus.start()
    try:
        await bus.publish_many(TRAFFIC)
        first = StoreSink(bus, settings)
        task = asyncio.create_task(first.run())

        async def tried_or_passed() -> bool:
            assert not task.done(), task.exception()
            return first.status.retries >= 3 or first.status.records > 0

        await wait_for(tried_or_passed, 30, "the sink to try a few times")
        assert first.status.records == 0  # nothing passed as done
        ready = await first.readiness()
        assert ready.status == "down" and fault.reason in ready.detail, ready
        assert "Error" not in ready.detail and "\n" not in ready.detail  # a reason, no trace
        assert (await first.liveness()).status == "ok"  # not ready, but alive
        await stop(task)

        # A new member of the group still faces the fault; once mended, it is handed
        # every record (nothing was committed) and writes them all.
        second = StoreSink(bus, settings)
        task = asyncio.create_task(second.run())
        await wait_for(lambda: _failing(second), 30, "the second sink to meet the fault")
        await fault.mend()
        await wait_for(lambda: _done(second, len(TRAFFIC)), 30, "the sink to write after mending")
        await stop(task)
        assert second.status.records == len(TRAFFIC)
        assert second.status.dead_lettered == 0 and first.status.dead_lettered == 0
        assert (await second.readiness()).status == "ok"
        assert await snapshot(empty_db_url) == await snapshot(reference)
    finally:
        await bus.stop()


async def _failing(sink: StoreSink) -> bool:
    return sink.status.failing_since is not None


async def _done(sink: StoreSink, records: int) -> bool:
    return sink.status.records >= records


async def test_values_the_database_refuses_go_to_the_dead_letter_topic_and_the_rest_is_written(
    db_url: str, store_settings: StoreSettings, memory_bus: MemoryBus
) -> None:
    poisoned = patrol(4, notes="seen at dawn\x00")  # PostgreSQL text cannot hold NUL
    # jsonb refuses \u0000 on the server (SQLSTATE 22P05), the NUL above the client.
    odd_alert = alert("525000003", 3, evidence={"note": "\x00"})
    messages = [
        Outgoing(Topic.AIS_POSITIONS, "525000003", position(525_000_003, 1, -8.0, 115.0)),
        Outgoing(Topic.PATROL_REPORTS, None, patrol(3)),
        Outgoing(Topic.PATROL_REPORTS, None, poisoned),
        Outgoing(Topic.AIS_POSITIONS, "525000003", position(525_000_003, 2, -8.1, 115.0)),
        Outgoing(Topic.FUSION_ALERTS, str(odd_alert.alert_id), odd_alert),
        Outgoing(Topic.FUSION_ALERTS, None, alert("525000004", 3)),
    ]
    records = records_of(messages, start_offset=40)
    sink = StoreSink(memory_bus, store_settings)
    await sink.write_durably(records)
    await sink.close()
    assert sink.status.dead_lettered == 2
    assert await count(db_url, "positions") == 2
    assert await count(db_url, "patrol_reports") == 1
    assert await count(db_url, "alerts") == 1
    dead = {header(d, "dlq_offset"): d for d in await read_topic(memory_bus, Topic.DEADLETTER, 2)}
    assert sorted(dead) == ["42", "44"]
    nul = dead["42"]
    assert nul.key == Topic.PATROL_REPORTS and nul.value == records[2].value
    assert header(nul, "dlq_topic") == Topic.PATROL_REPORTS and header(nul, "dlq_partition") == "0"
    assert header(nul, "dlq_consumer") == store_settings.sink_group
    assert "NUL" in (header(nul, "dlq_reason") or "")
    assert set(records[2].headers) <= set(nul.headers)  # the original headers, all kept
    assert dead["44"].value == records[4].value and dead["44"].key == Topic.FUSION_ALERTS
    assert "SQLSTATE 22P05" in (header(dead["44"], "dlq_reason") or "")


async def test_a_batch_mostly_refused_stops_the_sink_instead_of_dead_lettering_it(
    db_url: str, store_settings: StoreSettings, memory_bus: MemoryBus
) -> None:
    settings = store_settings.model_copy(update={"sink_dead_letter_share_min_records": 10})
    refused = [Outgoing(Topic.PATROL_REPORTS, None, patrol(n, notes="\x00")) for n in range(9)]
    good = [Outgoing(Topic.PATROL_REPORTS, None, patrol(n)) for n in range(3)]
    await memory_bus.publish_many([*refused, *good])
    sink = StoreSink(memory_bus, settings)
    task = asyncio.create_task(sink.run())
    try:
        await wait_for(lambda: _failing(sink), 30, "the sink to stop")
        ready = await sink.readiness()
        assert ready.status == "down" and "9 of 12 records" in ready.detail, ready
        assert sink.status.records == 0 and sink.status.dead_lettered == 0
    finally:
        await stop(task)
    parts = range(3)  # the memory bus's default partition count
    assert sum(memory_bus.end_offset((Topic.DEADLETTER, p)) for p in parts) == 0


async def backends_waiting_for_a_lock(conn: Connection) -> list[int]:
    cur = await conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    return [int(pid) for (pid,) in await cur.fetchall()]


async def test_a_deadlock_is_retried_on_the_same_connection_not_taken_for_a_lost_database(
    db_url: str, conn: Connection, store_settings: StoreSettings
) -> None:
    first, second = 525_000_101, 525_000_102
    await conn.execute("INSERT INTO vessels (mmsi) VALUES (%s), (%s)", (first, second))
    sink = StoreSink(MemoryBus(source="/tests"), store_settings)
    batch = records_of(
        [
            Outgoing(Topic.AIS_POSITIONS, str(m), position(m, 1, -8.0, 115.0))
            for m in (first, second)
        ]
    )
    async with await connect(db_url) as other:
        async with other.transaction():
            # The other side waits long before checking for a deadlock: the sink's server
            # process (deadlock_timeout 1 s) finds it and its transaction is the one undone.
            await other.execute("SET LOCAL deadlock_timeout = '30s'")
            await other.execute("SELECT 1 FROM vessels WHERE mmsi = %s FOR UPDATE", (second,))
            write = asyncio.create_task(sink.write_durably(batch))
            waiting: list[int] = []

            async def sink_waits() -> bool:
                assert not write.done(), write
                waiting[:] = await backends_waiting_for_a_lock(conn)
                return bool(waiting)

            await wait_for(sink_waits, 30, "the sink to wait for the second vessel's row")
            # Holding the first vessel's row, the sink waits for the second: take the first.
            await other.execute("SELECT 1 FROM vessels WHERE mmsi = %s FOR UPDATE", (first,))
        counts = await asyncio.wait_for(write, 30)
        other_pid = other.info.backend_pid
    # The other side's server process may still be leaving when its client has closed
    # (seen under load): only the sink's connections count.
    cur = await conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND pid <> %s",
        (other_pid,),
    )
    still_connected = [int(pid) for (pid,) in await cur.fetchall()]
    await sink.close()
    assert sink.status.retries >= 1  # it met the deadlock
    assert still_connected == waiting  # and kept its connection: nothing was lost
    assert counts["positions"] == 2 and sink.status.dead_lettered == 0
    assert await count(db_url, "positions") == 2


async def test_a_sink_stuck_in_the_database_is_reported_not_alive_until_it_moves(
    db_url: str, conn: Connection, store_settings: StoreSettings
) -> None:
    """Liveness is the loop turning: a write blocked for longer than
    ``sink_liveness_timeout_s`` (here behind a row lock nobody releases) is a sink to
    restart; once it moves it is alive again."""
    settings = store_settings.model_copy(update={"sink_liveness_timeout_s": 0.5})
    mmsi = 525_000_201
    await conn.execute("INSERT INTO vessels (mmsi) VALUES (%s)", (mmsi,))
    bus = MemoryBus(source="/tests")
    await bus.publish_many(
        [Outgoing(Topic.AIS_POSITIONS, str(mmsi), position(mmsi, 1, -8.0, 115.0))]
    )
    sink = StoreSink(bus, settings)
    async with await connect(db_url) as other, other.transaction():
        await other.execute("SELECT 1 FROM vessels WHERE mmsi = %s FOR UPDATE", (mmsi,))
        task = asyncio.create_task(sink.run())
        try:

            async def stuck() -> bool:
                assert not task.done(), task.exception()
                return (await sink.liveness()).status == "down"

            await wait_for(stuck, 30, "the stuck sink to be reported not alive")
            assert (await sink.liveness()).detail.startswith("sink loop stuck for ")
            assert sink.status.records == 0
        except BaseException:
            await stop(task)
            raise
    try:

        async def alive_and_written() -> bool:
            return sink.status.records == 1 and (await sink.liveness()).status == "ok"

        await wait_for(alive_and_written, 30, "the sink to move again")
    finally:
        await stop(task)
    assert await count(db_url, "positions") == 1
