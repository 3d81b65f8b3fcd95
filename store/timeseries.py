"""The one place that decides how a time-series table is laid out.

With the ``timescaledb`` extension (production): a hypertable with 1-day chunks, position
chunks compressed segmented by MMSI after a week, and a retention policy when one is set.
Without it (embedded default, tests): native range partitions by UTC day, created ahead
of time and on demand, and dropped past the retention. Migrations mark where the layout
goes (``/*@time_partitioned*/`` after a CREATE TABLE, ``-- @time_series <table>`` after
its indexes); ``store.migrate`` asks this module what to put there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from psycopg import sql

from store.db import Conn
from store.errors import RefusedDataError

CHUNK_INTERVAL = "1 day"


class TimeSeriesBackend(StrEnum):
    TIMESCALE = "timescaledb"
    NATIVE = "native"


@dataclass(frozen=True)
class TimeSeriesTable:
    name: str
    time_column: str
    compress_segment_by: str | None = None
    """Column to segment compressed chunks by (TimescaleDB); None: no compression."""
    compress_order_by: str | None = None


POSITIONS = TimeSeriesTable(
    "positions", "time", compress_segment_by="mmsi", compress_order_by="time DESC"
)
# Alerts change for as long as they are open (acknowledged, closed weeks later): they are
# chunked and retained like positions but not compressed.
ALERTS = TimeSeriesTable("alerts", "started_at")
TIME_SERIES_TABLES: dict[str, TimeSeriesTable] = {t.name: t for t in (POSITIONS, ALERTS)}

_PARTITION_SUFFIX = re.compile(r"_p(\d{8})$")


def partition_clause(backend: TimeSeriesBackend, table: TimeSeriesTable) -> str:
    """What follows the column list of the CREATE TABLE."""
    if backend is TimeSeriesBackend.NATIVE:
        return f"PARTITION BY RANGE ({table.time_column})"
    return ""  # create_hypertable turns the plain table into a hypertable afterwards


def setup_statements(
    backend: TimeSeriesBackend, table: TimeSeriesTable, *, compress_after_days: int = 7
) -> list[str]:
    """Statements run once, right after the table and its indexes are created."""
    if backend is TimeSeriesBackend.NATIVE:
        return []  # partitions are created by ensure_partitions (ahead and on demand)
    statements = [
        f"SELECT create_hypertable('{table.name}', '{table.time_column}', "
        f"chunk_time_interval => INTERVAL '{CHUNK_INTERVAL}', "
        "if_not_exists => TRUE, migrate_data => TRUE)"
    ]
    if table.compress_segment_by:
        order_by = table.compress_order_by or f"{table.time_column} DESC"
        statements += [
            f"ALTER TABLE {table.name} SET (timescaledb.compress, "
            f"timescaledb.compress_segmentby = '{table.compress_segment_by}', "
            f"timescaledb.compress_orderby = '{order_by}')",
            f"SELECT add_compression_policy('{table.name}', "
            f"compress_after => INTERVAL '{int(compress_after_days)} days', "
            "if_not_exists => TRUE)",
        ]
    return statements


def retention_statements(
    backend: TimeSeriesBackend, table: TimeSeriesTable, retention_days: int | None
) -> list[str]:
    """Statements that make the retention policy match the setting (run at every migrate,
    so changing LOOKOUT_RETENTION_DAYS takes effect). Native partitions are dropped by
    ``drop_expired_partitions`` instead."""
    if backend is TimeSeriesBackend.NATIVE:
        return []
    statements = [f"SELECT remove_retention_policy('{table.name}', if_exists => TRUE)"]
    if retention_days is not None:
        statements.append(
            f"SELECT add_retention_policy('{table.name}', "
            f"drop_after => INTERVAL '{int(retention_days)} days', if_not_exists => TRUE)"
        )
    return statements


async def detect_backend(conn: Conn) -> TimeSeriesBackend:
    """TimescaleDB when the extension is installed or can be, else native partitions. A
    table already laid out one way keeps that way (a later install changes nothing)."""
    cur = await conn.execute(
        "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = 'positions' AND n.nspname = current_schema()"
    )
    row = await cur.fetchone()
    if row is not None:
        return TimeSeriesBackend.NATIVE if row[0] == "p" else TimeSeriesBackend.TIMESCALE
    cur = await conn.execute(
        "SELECT installed_version IS NOT NULL FROM pg_available_extensions "
        "WHERE name = 'timescaledb'"
    )
    available = await cur.fetchone()
    if available is None:
        return TimeSeriesBackend.NATIVE
    if not available[0]:
        try:
            async with conn.transaction():
                await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except Exception:  # e.g. not in shared_preload_libraries: fall back, say why
            return TimeSeriesBackend.NATIVE
    return TimeSeriesBackend.TIMESCALE


def day_of(instant: datetime) -> date:
    return instant.astimezone(UTC).date()


def partition_name(table: TimeSeriesTable, day: date) -> str:
    return f"{table.name}_p{day:%Y%m%d}"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def partition_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of the day's partition. A day whose end cannot be represented (the
    last day of year 9999: an event with a broken clock) is refused data, never an
    exception that could stop the sink."""
    try:
        return _day_start(day), _day_start(day + timedelta(days=1))
    except OverflowError as exc:
        raise RefusedDataError(f"no partition can hold events dated {day.isoformat()}") from exc


async def existing_partition_days(conn: Conn, table: TimeSeriesTable) -> set[date]:
    cur = await conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        (table.name,),
    )
    days: set[date] = set()
    for (name,) in await cur.fetchall():
        match = _PARTITION_SUFFIX.search(str(name))
        if match:
            days.add(datetime.strptime(match.group(1), "%Y%m%d").date())
    return days


DEFAULT_LOCK_TIMEOUT_MS = 5000


async def _limit_lock_wait(conn: Conn, lock_timeout_ms: int) -> None:
    """Partition DDL takes an exclusive lock on the parent table, and waits behind every
    open transaction on it (a long analyst query, say), while every writer queues behind
    the DDL: the whole table would stall. Bounded, the DDL gives up (SQLSTATE 55P03) and
    is retried instead. For the current transaction only."""
    await conn.execute(
        "SELECT set_config('lock_timeout', %s, true)", (f"{max(int(lock_timeout_ms), 1)}ms",)
    )


async def ensure_partitions(
    conn: Conn,
    table: TimeSeriesTable,
    days: Iterable[date],
    *,
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
) -> set[date]:
    """Create the daily partitions that are missing; returns the days created. Runs in its
    own transaction under an advisory lock, so two sinks never race on the same day, with
    ``lock_timeout`` bounding every lock wait."""
    wanted = set(days)
    created: set[date] = set()
    if not wanted:
        return created
    async with conn.transaction():
        await _limit_lock_wait(conn, lock_timeout_ms)
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"part:{table.name}",))
        missing = wanted - await existing_partition_days(conn, table)
        for day in sorted(missing):
            start, end = partition_bounds(day)
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
                ).format(
                    sql.Identifier(partition_name(table, day)),
                    sql.Identifier(table.name),
                    sql.Literal(start),
                    sql.Literal(end),
                )
            )
            created.add(day)
    return created


def days_ahead(today: date, ahead_days: int) -> list[date]:
    return [today + timedelta(days=n) for n in range(ahead_days + 1)]


async def drop_expired_partitions(
    conn: Conn,
    table: TimeSeriesTable,
    retention_days: int,
    today: date,
    *,
    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS,
) -> list[str]:
    """Drop whole days older than the retention (cheap: no DELETE, no vacuum)."""
    oldest_kept = today - timedelta(days=retention_days)
    dropped: list[str] = []
    async with conn.transaction():
        await _limit_lock_wait(conn, lock_timeout_ms)
        for day in sorted(await existing_partition_days(conn, table)):
            if day < oldest_kept:
                name = partition_name(table, day)
                await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
                dropped.append(name)
    return dropped


@dataclass(frozen=True)
class PartitionBounds:
    """Which event times may be stored, so that partitions on demand stay bounded: an
    event from a receiver with a broken clock must not create a partition for any day
    from 2000 to 2099 (issue 12). Judged against the database's clock, the one the
    retention runs on."""

    clock: datetime
    """The database's ``now()``."""
    max_ahead: timedelta
    retention_days: int | None
    max_new_partitions: int

    def refusal(self, instant: datetime) -> str | None:
        """Why an event at ``instant`` cannot be stored, or None."""
        if instant > self.clock + self.max_ahead:
            return (
                f"event time {_iso(instant)} is more than {_span(self.max_ahead)} ahead "
                f"of the database clock ({_iso(self.clock)})"
            )
        if self.retention_days is not None:
            oldest_kept = day_of(self.clock) - timedelta(days=self.retention_days)
            if day_of(instant) < oldest_kept:
                return (
                    f"event time {_iso(instant)} is older than the retention window "
                    f"({self.retention_days} days, oldest day kept {oldest_kept.isoformat()})"
                )
        return None

    def beyond_cap(self, new_days: Iterable[tuple[str, date]]) -> dict[tuple[str, date], str]:
        """The (table, day) partitions a batch may not create: past the first
        ``max_new_partitions``, the days nearest the clock coming first (a backlog of
        recent days is likelier real than one odd day of 2004)."""
        today = day_of(self.clock)
        ordered = sorted(set(new_days), key=lambda td: (abs((td[1] - today).days), td))
        return {
            (name, day): (
                f"event day {day.isoformat()} would need a new {name} partition beyond the "
                f"{self.max_new_partitions} one batch may create"
            )
            for name, day in ordered[self.max_new_partitions :]
        }


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds % 86400 == 0:
        days = int(seconds // 86400)
        return f"{days} day" + ("s" if days != 1 else "")
    return f"{seconds:g} s"


async def database_clock(conn: Conn) -> datetime:
    cur = await conn.execute("SELECT now()")
    row = await cur.fetchone()
    if row is None:  # pragma: no cover - SELECT now() always answers one row
        raise RuntimeError("SELECT now() returned no row")
    clock: datetime = row[0]
    return clock


class PartitionKeeper:
    """Remembers which daily partitions exist, so a batch with a day not yet created
    (a replay of last year, a clock ahead) creates it first instead of failing."""

    def __init__(
        self, backend: TimeSeriesBackend, *, lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    ) -> None:
        self.backend = backend
        self.lock_timeout_ms = lock_timeout_ms
        self._known: dict[str, set[date]] = {}

    def forget(self) -> None:
        self._known.clear()

    async def known_days(self, conn: Conn, table: TimeSeriesTable) -> set[date]:
        """The days that have a partition (native); empty for TimescaleDB, which makes its
        chunks itself."""
        if self.backend is not TimeSeriesBackend.NATIVE:
            return set()
        known = self._known.get(table.name)
        if known is None:
            known = self._known[table.name] = await existing_partition_days(conn, table)
        return known

    async def ensure(self, conn: Conn, table: TimeSeriesTable, days: Iterable[date]) -> None:
        """Call outside the batch's transaction: DDL commits on its own, and a partition
        created for a batch that then fails is harmless."""
        if self.backend is not TimeSeriesBackend.NATIVE:
            return
        known = await self.known_days(conn, table)
        missing = set(days) - known
        if missing:
            await ensure_partitions(conn, table, missing, lock_timeout_ms=self.lock_timeout_ms)
            known |= missing
