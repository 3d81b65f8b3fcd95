"""Migrations: applied once each, in order, recorded; time series laid out from one place."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest

from store import timeseries
from store.db import Conn, connect
from store.errors import MigrationError
from store.migrate import discover, migrate, render
from store.settings import StoreSettings
from store.timeseries import ALERTS, POSITIONS, TimeSeriesBackend

pytestmark = pytest.mark.postgres


async def test_migrating_twice_applies_nothing_the_second_time(
    empty_db_url: str, store_settings: StoreSettings
) -> None:
    async with await connect(empty_db_url) as conn:
        first = await migrate(conn, store_settings)
        second = await migrate(conn, store_settings)
        cur = await conn.execute("SELECT version, backend FROM schema_migrations ORDER BY 1")
        recorded = await cur.fetchall()
    assert first.backend is TimeSeriesBackend.NATIVE  # no timescaledb in the test server
    assert first.applied == [f"{m.version:03d}_{m.name}" for m in discover()]
    assert second.applied == []
    assert [v for v, _ in recorded] == [m.version for m in discover()]


async def test_services_starting_together_apply_each_migration_once(
    empty_db_url: str, store_settings: StoreSettings
) -> None:
    async def one() -> list[str]:
        async with await connect(empty_db_url) as conn:
            return (await migrate(conn, store_settings)).applied

    reports = await asyncio.gather(one(), one(), one())
    assert sorted(len(applied) for applied in reports) == [0, 0, len(discover())]


async def test_an_applied_migration_edited_afterwards_is_refused(conn: Conn) -> None:
    await conn.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 2")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(conn, StoreSettings())


async def test_daily_partitions_exist_ahead_of_today(conn: Conn) -> None:
    today = datetime.now(UTC).date()
    days = await timeseries.existing_partition_days(conn, POSITIONS)
    assert set(timeseries.days_ahead(today, StoreSettings().partitions_ahead_days)) <= days
    cur = await conn.execute(
        "SELECT relkind::text FROM pg_class WHERE relname IN ('positions', 'alerts')"
    )
    assert {row[0] for row in await cur.fetchall()} == {"p"}  # natively partitioned


async def test_partitions_are_created_on_demand_and_dropped_past_retention(conn: Conn) -> None:
    old, new = date(2020, 1, 1), date(2020, 1, 2)
    assert await timeseries.ensure_partitions(conn, POSITIONS, [old, new]) == {old, new}
    assert await timeseries.ensure_partitions(conn, POSITIONS, [old]) == set()
    dropped = await timeseries.drop_expired_partitions(conn, POSITIONS, 1, date(2020, 1, 3))
    assert dropped == ["positions_p20200101"]
    assert new in await timeseries.existing_partition_days(conn, POSITIONS)


def test_native_layout_renders_range_partitions_by_day() -> None:
    positions = next(m for m in discover() if m.name == "positions")
    text = render(positions, TimeSeriesBackend.NATIVE, StoreSettings())
    assert ") PARTITION BY RANGE (time);" in text
    assert "create_hypertable" not in text and "@time" not in text


def test_timescale_layout_renders_hypertables_compression_and_retention() -> None:
    settings = StoreSettings(retention_days=90, compress_after_days=7)
    positions = next(m for m in discover() if m.name == "positions")
    text = render(positions, TimeSeriesBackend.TIMESCALE, settings)
    assert "PARTITION BY" not in text and "@time" not in text
    assert (
        "SELECT create_hypertable('positions', 'time', chunk_time_interval => "
        "INTERVAL '1 day', if_not_exists => TRUE, migrate_data => TRUE);"
    ) in text
    assert (
        "ALTER TABLE positions SET (timescaledb.compress, timescaledb.compress_segmentby"
        " = 'mmsi', timescaledb.compress_orderby = 'time DESC');"
    ) in text
    assert (
        "SELECT add_compression_policy('positions', compress_after => INTERVAL '7 days', "
        "if_not_exists => TRUE);"
    ) in text

    alerts = render(
        next(m for m in discover() if m.name == "alerts"), TimeSeriesBackend.TIMESCALE, settings
    )
    assert "create_hypertable('alerts', 'started_at'" in alerts
    assert "compress" not in alerts  # open alerts keep changing: not compressed

    assert timeseries.retention_statements(TimeSeriesBackend.TIMESCALE, POSITIONS, 90) == [
        "SELECT remove_retention_policy('positions', if_exists => TRUE)",
        "SELECT add_retention_policy('positions', drop_after => INTERVAL '90 days', "
        "if_not_exists => TRUE)",
    ]
    assert timeseries.retention_statements(TimeSeriesBackend.TIMESCALE, ALERTS, None) == [
        "SELECT remove_retention_policy('alerts', if_exists => TRUE)"
    ]
    assert timeseries.retention_statements(TimeSeriesBackend.NATIVE, POSITIONS, 90) == []
