"""Apply the numbered SQL migrations in ``store/migrations`` in order, once each.

Applied versions are recorded in ``schema_migrations`` with a checksum of the file, under
an advisory lock, so several services starting together apply each migration once, and an
applied file that was edited afterwards is refused rather than silently diverging.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog

from store import timeseries
from store.db import Conn
from store.errors import MigrationError
from store.settings import StoreSettings
from store.timeseries import TimeSeriesBackend

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
_TIME_SERIES_DIRECTIVE = re.compile(r"^-- @time_series (\w+)\s*$", re.MULTILINE)
_PARTITION_MARKER = "/*@time_partitioned*/"
# Any fixed 64-bit number, the same for every process that migrates this database.
_ADVISORY_LOCK_KEY = 0x4C4F4F4B4F5554  # "LOOKOUT"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@dataclass
class MigrationReport:
    backend: TimeSeriesBackend
    applied: list[str] = field(default_factory=list)
    partitions_created: int = 0
    partitions_dropped: list[str] = field(default_factory=list)


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNN_name.sql")
        migrations.append(Migration(int(match.group(1)), match.group(2), path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number: {versions}")
    return migrations


def render(migration: Migration, backend: TimeSeriesBackend, settings: StoreSettings) -> str:
    """The migration's SQL with the time-series markers replaced for ``backend``."""
    text = migration.text
    names = _TIME_SERIES_DIRECTIVE.findall(text)
    if _PARTITION_MARKER in text and len(names) != 1:
        raise MigrationError(
            f"{migration.name}: a time-partitioned table needs exactly one "
            "'-- @time_series <table>' directive"
        )
    for name in names:
        table = timeseries.TIME_SERIES_TABLES.get(name)
        if table is None:
            raise MigrationError(f"{migration.name}: {name!r} is not a known time-series table")
        text = text.replace(_PARTITION_MARKER, timeseries.partition_clause(backend, table))
        setup = timeseries.setup_statements(
            backend, table, compress_after_days=settings.compress_after_days
        )
        text = re.sub(
            rf"^-- @time_series {name}\s*$",
            "\n".join(f"{statement};" for statement in setup) or f"-- {name}: native partitions",
            text,
            flags=re.MULTILINE,
        )
    return text


@dataclass(frozen=True)
class SchemaState:
    """Which of the migrations this code ships are applied to a database."""

    applied: frozenset[int]
    shipped: frozenset[int]

    @property
    def missing(self) -> list[int]:
        return sorted(self.shipped - self.applied)

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def reason(self) -> str:
        """e.g. "schema not migrated (have 5, need 6)"; "schema up to date" when ready."""
        if self.ready:
            return "schema up to date"
        have = max(self.applied, default=0)
        return f"schema not migrated (have {have}, need {max(self.shipped)})"


@functools.cache
def shipped_versions(directory: Path = MIGRATIONS_DIR) -> frozenset[int]:
    """The numbers of the migrations in ``store/migrations``: the schema this code needs."""
    return frozenset(m.version for m in discover(directory))


async def schema_state(conn: Conn) -> SchemaState:
    """Read-only (it works on a standby and with a role that may only read): a database
    never migrated has no ``schema_migrations`` table and nothing applied."""
    cur = await conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
    row = await cur.fetchone()
    applied: frozenset[int] = frozenset()
    if row is not None and row[0]:
        cur = await conn.execute("SELECT version FROM schema_migrations")
        applied = frozenset(int(v) for (v,) in await cur.fetchall())
    return SchemaState(applied=applied, shipped=shipped_versions())


async def _applied(conn: Conn) -> dict[int, str]:
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
        " backend text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    cur = await conn.execute("SELECT version, checksum FROM schema_migrations")
    return {int(v): str(c) for v, c in await cur.fetchall()}


async def migrate(
    conn: Conn, settings: StoreSettings, *, today: datetime | None = None
) -> MigrationReport:
    """Bring the schema up to date, then the partitions and retention. Idempotent."""
    await conn.execute("SELECT pg_advisory_lock(%s)", (_ADVISORY_LOCK_KEY,))
    try:
        backend = await timeseries.detect_backend(conn)
        report = MigrationReport(backend)
        applied = await _applied(conn)
        for migration in discover():
            label = f"{migration.version:03d}_{migration.name}"
            if migration.version in applied:
                if applied[migration.version] != migration.checksum:
                    raise MigrationError(
                        f"{label} was changed after it was applied; add a new "
                        "migration instead of editing an applied one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(render(migration, backend, settings).encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, backend) "
                    "VALUES (%s, %s, %s, %s)",
                    (migration.version, migration.name, migration.checksum, backend.value),
                )
            report.applied.append(label)
            log.info("migration applied", migration=label, backend=backend.value)
        await maintain_time_series(conn, settings, backend, report, today=today)
        return report
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (_ADVISORY_LOCK_KEY,))


async def maintain_time_series(
    conn: Conn,
    settings: StoreSettings,
    backend: TimeSeriesBackend,
    report: MigrationReport,
    *,
    today: datetime | None = None,
) -> None:
    """Partitions ahead of time and retention (native), or the retention policy (Timescale).
    Safe to run at any time; the sink runs it hourly."""
    day = timeseries.day_of(today or datetime.now(UTC))
    for table in timeseries.TIME_SERIES_TABLES.values():
        if backend is TimeSeriesBackend.TIMESCALE:
            for statement in timeseries.retention_statements(
                backend, table, settings.retention_days
            ):
                await conn.execute(statement.encode())
            continue
        created = await timeseries.ensure_partitions(
            conn,
            table,
            timeseries.days_ahead(day, settings.partitions_ahead_days),
            lock_timeout_ms=settings.partition_lock_timeout_ms,
        )
        report.partitions_created += len(created)
        if settings.retention_days is not None:
            report.partitions_dropped += await timeseries.drop_expired_partitions(
                conn,
                table,
                settings.retention_days,
                day,
                lock_timeout_ms=settings.partition_lock_timeout_ms,
            )


async def migrate_database(settings: StoreSettings) -> MigrationReport:
    """Connect to ``settings.database_url`` and migrate it."""
    from store.db import connect

    async with await connect(
        settings.database_url, connect_timeout_s=settings.database_connect_timeout_s
    ) as conn:
        return await migrate(conn, settings)
