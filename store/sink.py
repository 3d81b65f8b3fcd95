"""The store sink (``lookout sink``): topics into tables, effectively once.

Micro-batches from ais.positions, ais.static, patrol.reports and fusion.alerts are written
in one database transaction each; the batch's offsets are committed only after that
transaction commits (quix-streams' BatchingSink habit). Every write is idempotent, so a
sink that dies between the two steps and re-reads the batch leaves the tables exactly as
if it had not died. A lost database makes the sink wait and retry the same batch with
backoff, for as long as it takes: it neither crashes nor skips nor commits. Any other
error is narrowed down to the events that cause it, which are skipped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
import structlog

from bus.base import Bus, CommitError, Record, Subscription
from schemas.health import ComponentHealth
from schemas.topics import Topic
from store import timeseries
from store.db import Conn, connect, is_connection_lost, is_refused_data
from store.decode import SINK_TOPICS, DecodedBatch, decode_batch
from store.metrics import (
    BATCH_SECONDS,
    BATCHES,
    RETRIES,
    ROWS_WRITTEN,
    SKIPPED,
    WAITING_FOR_DATABASE,
)
from store.migrate import MigrationReport, maintain_time_series
from store.settings import StoreSettings
from store.write_events import alert_days, write_alerts, write_patrol_reports
from store.write_identity import write_static_reports
from store.write_positions import position_days, prepare_stage, write_positions
from store.write_safety import write_safety_messages

log = structlog.get_logger(__name__)

BatchHook = Callable[[Sequence[Record]], Awaitable[None]]
MAINTENANCE_INTERVAL_S = 3600.0


@dataclass
class SinkStatus:
    """What /healthz says about the sink."""

    batches: int = 0
    records: int = 0
    skipped: int = 0
    retries: int = 0
    waiting_since: float | None = None
    last_error: str = ""
    last_batch_at: datetime | None = None
    counts: dict[str, int] = field(default_factory=dict)


async def write_batch(
    conn: Conn,
    batch: DecodedBatch,
    keeper: timeseries.PartitionKeeper,
    settings: StoreSettings | None = None,
) -> dict[str, int]:
    """Everything of one micro-batch in one transaction; returns rows written per table."""
    max_ahead_s = (settings or StoreSettings()).sink_max_clock_ahead_s
    await keeper.ensure(conn, timeseries.POSITIONS, position_days(batch.positions))
    await keeper.ensure(conn, timeseries.ALERTS, alert_days(batch.alerts))
    async with conn.transaction():
        positions, moved = await write_positions(
            conn, batch.positions, max_clock_ahead_s=max_ahead_s
        )
        identities, changes = await write_static_reports(conn, batch.static_reports)
        patrol = await write_patrol_reports(conn, batch.patrol_reports)
        alerts = await write_alerts(conn, batch.alerts)
        safety = await write_safety_messages(conn, batch.safety_messages)
    return {
        "positions": positions,
        "vessels": moved + identities,
        "vessel_identity_history": changes,
        "patrol_reports": patrol,
        "alerts": alerts,
        "ais_safety_messages": safety,
    }


class StoreSink:
    def __init__(
        self,
        bus: Bus,
        settings: StoreSettings,
        *,
        topics: Mapping[Topic, str] | None = None,
        after_database_commit: BatchHook | None = None,
    ) -> None:
        """``topics`` renames the consumed topics (tests on a shared broker use their own);
        ``after_database_commit`` runs between the database commit and the offset commit
        (the reliability tests crash the sink there)."""
        names = {topic: (topics or {}).get(topic, topic.value) for topic in SINK_TOPICS}
        self._topic_names = list(names.values())
        self._meaning = {name: topic for topic, name in names.items()}
        self.bus = bus
        self.settings = settings
        self.status = SinkStatus()
        self._after_database_commit = after_database_commit
        self._conn: Conn | None = None
        self._keeper: timeseries.PartitionKeeper | None = None
        self._maintained_at = 0.0
        self._subscription: Subscription | None = None

    async def run(self) -> None:
        """Consume until cancelled."""
        subscription = self.bus.subscribe(self._topic_names, group=self.settings.sink_group)
        self._subscription = subscription
        try:
            async with subscription:
                while True:
                    records = await subscription.getmany(
                        max_records=self.settings.sink_batch_max_records,
                        timeout_s=self.settings.sink_poll_timeout_s,
                    )
                    if not records:
                        continue
                    await self.write_durably(records)
                    if self._after_database_commit is not None:
                        await self._after_database_commit(records)
                    try:
                        await subscription.commit(records)
                    except CommitError as exc:  # moved to another member: it re-reads them
                        log.warning("offsets not committed", reason=str(exc))
        finally:
            await self.close()

    async def write_durably(self, records: Sequence[Record]) -> dict[str, int]:
        """Decode and write one micro-batch, retrying a lost database until it is back."""
        batch = decode_batch(records, self._meaning)
        counts = await self._write_retrying(batch)
        self._recovered()
        BATCHES.inc()
        for table, rows in counts.items():
            ROWS_WRITTEN.labels(table).inc(rows)
            self.status.counts[table] = self.status.counts.get(table, 0) + rows
        self.status.batches += 1
        self.status.records += len(records)
        self.status.skipped += batch.skipped
        self.status.last_batch_at = datetime.now(UTC)
        return counts

    async def _write_retrying(self, batch: DecodedBatch) -> dict[str, int]:
        """Only a lost connection is retried (it heals). Any other error, from the database
        or not (a value it refuses, a time no partition can hold, a bug met by one odd
        event), is isolated to the events that cause it and those are skipped: one bad
        record must never stop the sink, whose restart would meet it again."""
        delay_s = self.settings.sink_retry_initial_s
        while True:
            try:
                started = time.perf_counter()
                conn, keeper = await self._connection()
                await self._maintain(conn, keeper)
                counts = await write_batch(conn, batch, keeper, self.settings)
                BATCH_SECONDS.observe(time.perf_counter() - started)
                return counts
            except Exception as exc:
                if not is_connection_lost(exc):
                    await self._drop_connection_if_unusable()
                    return await self._isolate_refused(batch, exc)
                await self._drop_connection()
                self._waiting(exc)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, self.settings.sink_retry_max_s)

    async def _isolate_refused(self, batch: DecodedBatch, exc: Exception) -> dict[str, int]:
        """A value the database refuses (a NUL in a free-text field, say) would refuse the
        whole batch forever: write the events one by one and skip only the refused one."""
        if batch.size() <= 1:
            batch.skipped += 1
            reason = "refused_by_database" if is_refused_data(exc) else "unwritable"
            SKIPPED.labels("-", reason).inc()
            log.warning(
                "event refused, skipped",
                reason=reason,
                error_type=type(exc).__name__,
                error=str(exc)[:300],
            )
            return {}
        totals: dict[str, int] = {}
        for single in batch.split():
            for table, rows in (await self._write_retrying(single)).items():
                totals[table] = totals.get(table, 0) + rows
            batch.skipped += single.skipped
        return totals

    async def _drop_connection_if_unusable(self) -> None:
        """After an error that is not the database's (raised in the middle of a COPY, say),
        a connection left inside a transaction is not reused."""
        conn = self._conn
        if conn is not None and (
            conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        ):
            await self._drop_connection()

    def _waiting(self, exc: BaseException) -> None:
        RETRIES.inc()
        WAITING_FOR_DATABASE.set(1)
        self.status.retries += 1
        self.status.last_error = str(exc).strip()[:300]
        if self.status.waiting_since is None:
            self.status.waiting_since = time.monotonic()
            log.warning("database lost; waiting to retry the batch", error=self.status.last_error)

    def _recovered(self) -> None:
        if self.status.waiting_since is not None:
            waited_s = time.monotonic() - self.status.waiting_since
            log.info("database back; batch written", waited_s=round(waited_s, 1))
            self.status.waiting_since = None
            WAITING_FOR_DATABASE.set(0)

    async def _connection(self) -> tuple[Conn, timeseries.PartitionKeeper]:
        if self._conn is None or self._conn.closed or self._keeper is None:
            conn = await connect(
                self.settings.database_url,
                connect_timeout_s=self.settings.database_connect_timeout_s,
            )
            try:
                await prepare_stage(conn)
                backend = await timeseries.detect_backend(conn)
            except BaseException:
                await conn.close()
                raise
            self._conn, self._keeper = conn, timeseries.PartitionKeeper(backend)
        return self._conn, self._keeper

    async def _maintain(self, conn: Conn, keeper: timeseries.PartitionKeeper) -> None:
        """Partitions ahead and retention, hourly: a sink running for weeks never meets a
        day without its partition, and old days go without anyone running a command."""
        if time.monotonic() - self._maintained_at < MAINTENANCE_INTERVAL_S:
            return
        try:
            await maintain_time_series(
                conn, self.settings, keeper.backend, MigrationReport(keeper.backend)
            )
        except Exception as exc:
            if is_connection_lost(exc):
                raise
            # Not the batch's fault: writing goes on (partitions are also made on demand);
            # maintenance is tried again at the next interval.
            log.warning("time-series maintenance failed", error=str(exc)[:300])
        keeper.forget()  # partitions may have been dropped
        self._maintained_at = time.monotonic()

    async def _drop_connection(self) -> None:
        conn, self._conn, self._keeper = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def close(self) -> None:
        await self._drop_connection()

    async def health(self) -> ComponentHealth:
        status = self.status
        facts: dict[str, int | float | str | None] = {
            "batches": status.batches,
            "records": status.records,
            "skipped": status.skipped,
            "retries": status.retries,
        }
        if status.waiting_since is not None:
            waited_s = time.monotonic() - status.waiting_since
            facts["waiting_s"] = round(waited_s, 1)
            return ComponentHealth(
                name="store-sink",
                status="degraded",
                detail=f"waiting for the database: {status.last_error}",
                facts=dict(facts),
            )
        # Checked only while the database is fine: a sink waiting for it is not polling.
        if self._subscription is not None and self._subscription.assignment():
            consumer = await self._subscription.health()
            facts["lag"] = consumer.lag
            if not consumer.alive:  # e.g. a consumer whose fetcher died (aiokafka #1154)
                return ComponentHealth(
                    name="store-sink",
                    status="down",
                    detail=f"consumer stalled: {consumer.reason}",
                    facts=dict(facts),
                )
        return ComponentHealth(name="store-sink", status="ok", detail="writing", facts=dict(facts))
