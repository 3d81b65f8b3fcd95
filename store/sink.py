"""The store sink (``lookout sink``): topics into tables, effectively once, failing closed.

Micro-batches from ais.positions, ais.static, patrol.reports and fusion.alerts are written
in one database transaction each; the batch's offsets are committed only after that
transaction commits and the batch's dead letters are durable (quix-streams' BatchingSink
habit). Every write is idempotent, so a sink that dies between the steps and re-reads the
batch leaves the tables exactly as if it had not died.

Only a record that is itself bad is set aside, to the dead-letter topic with its reason and
its original bytes and headers: one that cannot be decoded (unknown type or version), one
dated outside the partitions' bounds, one whose value the database refuses as data
(SQLSTATE classes 22 and 23; the batch is halved until the refused records are found).
Anything else stops the batch: a lost database, a schema not migrated, a read-only
database, a missing privilege, a bug. Then nothing is skipped and no offset committed; the
sink reports itself not ready with the reason and retries the same batch with backoff for
as long as it takes. A batch that is mostly refused stops the sink the same way rather
than dead-lettering the world. Deadlocks and serialization failures are retried on the
same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypeVar

import psycopg
import structlog

from bus.base import Bus, CommitError, PublishError, Record, Subscription
from bus.deadletter import dead_letter
from schemas.health import ComponentHealth
from schemas.topics import Topic
from store import timeseries
from store.admission import admit
from store.db import Conn, ErrorKind, classify, connect, describe, refusal_reason
from store.decode import SINK_TOPICS, DecodedBatch, Refusal, decode_batch, decode_into
from store.errors import SchemaNotReadyError, SinkError, SinkHaltedError
from store.metrics import (
    BATCH_SECONDS,
    BATCHES,
    DEAD_LETTERS,
    RETRIES,
    ROWS_WRITTEN,
    SINK_DOWN,
    SKIPPED,
    WAITING_FOR_DATABASE,
)
from store.migrate import MigrationReport, SchemaState, maintain_time_series, schema_state
from store.settings import StoreSettings
from store.write_config import write_config
from store.write_events import alert_days, write_alerts, write_patrol_reports
from store.write_identity import write_static_reports
from store.write_positions import position_days, prepare_stage, write_positions
from store.write_safety import write_safety_messages

log = structlog.get_logger(__name__)

T = TypeVar("T")
Status = Literal["ok", "degraded", "down"]
BatchHook = Callable[[Sequence[Record]], Awaitable[None]]
MAINTENANCE_INTERVAL_S = 3600.0
CONFLICTS_BEFORE_DOWN = 3
"""Deadlocks and serialization failures are normal under concurrency: the sink reports
itself down only when one batch meets more than this many in a row."""
DECODE_SLICE = 250
"""Records decoded between two turns of the event loop while a batch is being written
(a few milliseconds of CPU: the database's answers wait no longer than that)."""


@dataclass
class SinkStatus:
    """What /readyz and /healthz say about the sink."""

    batches: int = 0
    records: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    retries: int = 0
    failing_since: float | None = None
    reason: str = ""
    """Why the sink is not writing (a short reason, never raw exception text)."""
    schema: SchemaState | None = None
    alive_at: float | None = None
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
        config = await write_config(conn, batch.config)
    return {
        "positions": positions,
        "vessels": moved + identities,
        "vessel_identity_history": changes,
        "patrol_reports": patrol,
        "alerts": alerts,
        "ais_safety_messages": safety,
        "config": config,
    }


def _add(totals: dict[str, int], counts: Mapping[str, int]) -> None:
    for table, rows in counts.items():
        totals[table] = totals.get(table, 0) + rows


class StoreSink:
    def __init__(
        self,
        bus: Bus,
        settings: StoreSettings,
        *,
        topics: Mapping[Topic, str] | None = None,
        after_database_commit: BatchHook | None = None,
    ) -> None:
        """``topics`` renames the consumed topics and the dead-letter topic (tests on a
        shared broker use their own); ``after_database_commit`` runs between the database
        commit and the offset commit (the reliability tests crash the sink there)."""
        names = {topic: (topics or {}).get(topic, topic.value) for topic in SINK_TOPICS}
        self._topic_names = list(names.values())
        self._meaning = {name: topic for topic, name in names.items()}
        self.dead_letter_topic = (topics or {}).get(Topic.DEADLETTER, Topic.DEADLETTER.value)
        self.bus = bus
        self.settings = settings
        self.status = SinkStatus()
        self._after_database_commit = after_database_commit
        self._conn: Conn | None = None
        self._keeper: timeseries.PartitionKeeper | None = None
        self._maintained_at = 0.0
        self._subscription: Subscription | None = None
        self._conflicts = 0

    async def run(self) -> None:
        """Consume until cancelled. Joins the group only once the schema is migrated."""
        try:
            await self.wait_for_schema()
            subscription = self.bus.subscribe(self._topic_names, group=self.settings.sink_group)
            self._subscription = subscription
            async with subscription:
                ahead: tuple[list[Record], DecodedBatch] | None = None
                while True:
                    self._beat()
                    if ahead is None:
                        records = await subscription.getmany(
                            max_records=self.settings.sink_batch_max_records,
                            timeout_s=self.settings.sink_poll_timeout_s,
                        )
                        if not records:
                            continue
                        decoded = decode_batch(records, self._meaning)
                    else:
                        records, decoded = ahead
                    ahead = await self._write_reading_ahead(subscription, records, decoded)
                    if self._after_database_commit is not None:
                        await self._after_database_commit(records)
                    try:
                        await subscription.commit(records)
                    except CommitError as exc:  # moved to another member: it re-reads them
                        log.warning("offsets not committed", reason=str(exc))
        finally:
            await self.close()

    async def _write_reading_ahead(
        self, subscription: Subscription, records: list[Record], decoded: DecodedBatch
    ) -> tuple[list[Record], DecodedBatch] | None:
        """Write ``records`` durably; meanwhile read the next batch, if the bus already
        holds one, and decode it. The database works on one batch while this process
        decodes the next, so on two cores the sink runs at the pace of the slower of the
        two rather than of their sum (bench/store/bench_sink_write.py). Nothing of the
        next batch is written, nor any offset committed, before this one is durable."""
        write = asyncio.create_task(self.write_durably(records, decoded))
        try:
            following = await subscription.getmany(
                max_records=self.settings.sink_batch_max_records, timeout_s=0
            )
            ahead = (following, await self._decode_yielding(following)) if following else None
            await write
        finally:
            if not write.done():  # cancelled (stopping): the batch stays uncommitted
                write.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await write
        return ahead

    async def _decode_yielding(self, records: Sequence[Record]) -> DecodedBatch:
        """``decode_batch`` in slices, giving the event loop a turn between them, so the
        batch being written sends its next statement as soon as the last one is done."""
        batch = DecodedBatch()
        for start in range(0, len(records), DECODE_SLICE):
            decode_into(batch, records[start : start + DECODE_SLICE], self._meaning)
            await asyncio.sleep(0)
        return batch

    async def wait_for_schema(self) -> None:
        """Return once the database has every migration this code ships; until then,
        report not ready with the versions and retry with backoff (sink and migration
        start together on every deploy)."""
        await self._retrying(self._connection)

    async def write_durably(
        self, records: Sequence[Record], decoded: DecodedBatch | None = None
    ) -> dict[str, int]:
        """Decode and write one micro-batch and publish its dead letters; returns only
        when all of that is durable, retrying with backoff for as long as it takes.
        ``decoded``: ``records`` already decoded, for the first try."""
        done: list[DecodedBatch] = []
        first = [decoded] if decoded is not None else []

        async def attempt() -> dict[str, int]:
            # A retry decodes afresh: narrowing and admission change a batch.
            batch = first.pop() if first else decode_batch(records, self._meaning)
            counts = await self._write(batch)
            self._check_share(batch, len(records))
            await self._publish_dead_letters(batch.refused)
            done.append(batch)
            return counts

        counts = await self._retrying(attempt)
        self._account(done[-1], counts, len(records))
        return counts

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        delay_s = self.settings.sink_retry_initial_s
        while True:
            self._beat()
            try:
                result = await attempt()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._failed(exc)
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, self.settings.sink_retry_max_s)
                continue
            self._recovered()
            return result

    async def _write(self, batch: DecodedBatch) -> dict[str, int]:
        started = time.perf_counter()
        conn, keeper = await self._connection()
        await self._maintain(conn, keeper)
        await admit(conn, batch, keeper, self.settings)
        counts = await self._write_narrowing(conn, keeper, batch, batch.refused)
        BATCH_SECONDS.observe(time.perf_counter() - started)
        return counts

    async def _write_narrowing(
        self,
        conn: Conn,
        keeper: timeseries.PartitionKeeper,
        batch: DecodedBatch,
        refused: list[Refusal],
    ) -> dict[str, int]:
        """Write ``batch``; when the database refuses a value as data, halve the batch
        until the refused records are alone, and add those to ``refused``. Any other error
        goes up: it is not about these records."""
        if batch.size() == 0:
            return {}
        try:
            return await write_batch(conn, batch, keeper, self.settings)
        except Exception as exc:
            if classify(exc) is not ErrorKind.REFUSED_DATA:
                raise
            if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                raise
            records = batch.records()
            if batch.size() == 1 and records:
                refused.append(Refusal(records[0], refusal_reason(exc)))
                return {}
            if batch.size() == 1:
                raise  # a batch built without records (the benchmark): nothing to set aside
        totals: dict[str, int] = {}
        for half in batch.halves():
            _add(totals, await self._write_narrowing(conn, keeper, half, refused))
        return totals

    def _check_share(self, batch: DecodedBatch, records: int) -> None:
        refused = len(batch.refused)
        settings = self.settings
        if (
            records >= settings.sink_dead_letter_share_min_records
            and refused > settings.sink_dead_letter_max_share * records
        ):
            example = batch.refused[0].reason[:120]
            raise SinkHaltedError(
                f"{refused} of {records} records in one batch would go to the dead-letter "
                f"topic (e.g. {example}); stopped instead"
            )

    async def _publish_dead_letters(self, refused: Sequence[Refusal]) -> None:
        if not refused:
            return
        consumer = self.settings.sink_group
        await self.bus.publish_many(
            [
                dead_letter(r.record, r.reason, consumer, topic=self.dead_letter_topic)
                for r in refused
            ]
        )
        for r in refused:
            log.warning(
                "record sent to the dead-letter topic",
                topic=r.record.topic,
                partition=r.record.partition,
                offset=r.record.offset,
                reason=r.reason[:300],
            )

    def _account(self, batch: DecodedBatch, counts: Mapping[str, int], records: int) -> None:
        BATCHES.inc()
        for table, rows in counts.items():
            ROWS_WRITTEN.labels(table).inc(rows)
        _add(self.status.counts, counts)
        for r in batch.refused:
            DEAD_LETTERS.labels(r.record.topic).inc()
        for (topic, reason), n in batch.skipped.items():
            SKIPPED.labels(topic, reason).inc(n)
        status = self.status
        status.batches += 1
        status.records += records
        status.dead_lettered += len(batch.refused)
        status.skipped += sum(batch.skipped.values())
        status.last_batch_at = datetime.now(UTC)

    async def _failed(self, exc: Exception) -> None:
        """Keep the batch, say why, and make the next try start clean."""
        RETRIES.inc()
        status = self.status
        status.retries += 1
        kind = classify(exc)
        if isinstance(exc, SinkError):
            reason = str(exc)
        elif isinstance(exc, PublishError):
            reason = "dead-letter topic unavailable (publish failed)"
        else:
            reason = describe(exc)
        if kind is ErrorKind.CONFLICT and not isinstance(exc, SinkError | PublishError):
            self._conflicts += 1
            await self._drop_connection_if_unusable()
            log.info("transaction conflict; retrying the batch", reason=reason)
            if self._conflicts <= CONFLICTS_BEFORE_DOWN:
                return
        else:
            # A fresh connection picks up what the mending changed (a grant, a database
            # made writable again, a migration).
            await self._drop_connection()
        if kind is ErrorKind.CONNECTION_LOST:
            WAITING_FOR_DATABASE.set(1)
        SINK_DOWN.set(1)
        if status.failing_since is None or status.reason != reason:
            event = (
                "waiting for database migrations (run `lookout db migrate`)"
                if isinstance(exc, SchemaNotReadyError)
                else "batch not written, offsets not committed; retrying with backoff"
            )
            log.warning(
                event,
                reason=reason,
                error_type=type(exc).__name__,
                sqlstate=getattr(exc, "sqlstate", None),
                error=str(exc).strip()[:300],
            )
        if status.failing_since is None:
            status.failing_since = time.monotonic()
        status.reason = reason

    def _recovered(self) -> None:
        self._conflicts = 0
        status = self.status
        if status.failing_since is not None:
            waited_s = time.monotonic() - status.failing_since
            log.info("sink writing again", waited_s=round(waited_s, 1), was=status.reason)
            status.failing_since = None
            status.reason = ""
            WAITING_FOR_DATABASE.set(0)
            SINK_DOWN.set(0)

    def _beat(self) -> None:
        self.status.alive_at = time.monotonic()

    async def _connection(self) -> tuple[Conn, timeseries.PartitionKeeper]:
        if self._conn is None or self._conn.closed or self._keeper is None:
            conn = await connect(
                self.settings.database_url,
                connect_timeout_s=self.settings.database_connect_timeout_s,
            )
            try:
                state = self.status.schema = await schema_state(conn)
                if not state.ready:
                    raise SchemaNotReadyError(state.reason)
                await prepare_stage(conn)
                backend = await timeseries.detect_backend(conn)
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
            self._keeper = timeseries.PartitionKeeper(
                backend, lock_timeout_ms=self.settings.partition_lock_timeout_ms
            )
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
            if classify(exc) is ErrorKind.CONNECTION_LOST:
                raise
            # Not the batch's business: writing goes on (partitions are also made on
            # demand, and a database that cannot take writes fails the batch itself);
            # maintenance is tried again at the next interval.
            log.warning("time-series maintenance failed", reason=describe(exc))
            await self._drop_connection_if_unusable()
            if self._conn is None:
                raise
        keeper.forget()  # partitions may have been dropped
        self._maintained_at = time.monotonic()

    async def _drop_connection_if_unusable(self) -> None:
        conn = self._conn
        if conn is not None and (
            conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        ):
            await self._drop_connection()

    async def _drop_connection(self) -> None:
        conn, self._conn, self._keeper = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                await conn.close()

    async def close(self) -> None:
        await self._drop_connection()

    def _facts(self) -> dict[str, int | float | str | None]:
        status = self.status
        return {
            "batches": status.batches,
            "records": status.records,
            "dead_lettered": status.dead_lettered,
            "skipped": status.skipped,
            "retries": status.retries,
        }

    async def readiness(self) -> ComponentHealth:
        """Ready: the schema is migrated, the last batch went through, the consumer is
        progressing. A database outage makes the sink not ready (never not alive)."""
        status = self.status
        facts = self._facts()
        if status.failing_since is not None:
            facts["failing_s"] = round(time.monotonic() - status.failing_since, 1)
            return self._component("down", status.reason, facts)
        if status.schema is None or not status.schema.ready:
            return self._component("down", "starting: schema not checked yet", facts)
        # Checked only while the database is fine: a sink waiting for it is not polling.
        if self._subscription is not None and self._subscription.assignment():
            consumer = await self._subscription.health()
            facts["lag"] = consumer.lag
            if not consumer.alive:  # e.g. a consumer whose fetcher died (aiokafka #1154)
                return self._component("down", f"consumer stalled: {consumer.reason}", facts)
        return self._component("ok", "writing", facts)

    async def liveness(self) -> ComponentHealth:
        """Alive: the sink's loop still turns (polling, writing or waiting to retry)."""
        alive_at = self.status.alive_at
        if alive_at is None:
            return self._component("ok", "starting", {})
        since_s = time.monotonic() - alive_at
        facts: dict[str, int | float | str | None] = {"seconds_since_loop": round(since_s, 1)}
        if since_s > self.settings.sink_liveness_timeout_s:
            return self._component("down", f"sink loop stuck for {since_s:.0f}s", facts)
        return self._component("ok", "loop turning", facts)

    def _component(
        self, status: Status, detail: str, facts: dict[str, int | float | str | None]
    ) -> ComponentHealth:
        return ComponentHealth(name="store-sink", status=status, detail=detail, facts=dict(facts))
