"""The ingest service: a feed source through the decoder onto the bus, in batches."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from datetime import UTC, datetime

import structlog

from bus.base import Bus
from ingest.decoder import AisDecoder, AisEvent, DecodeStats
from ingest.heartbeat import Heartbeat
from ingest.metrics import DECODED, LINES_READ, REJECTED, REPAIRED
from ingest.progress import IngestProgress
from ingest.publisher import BatchPublisher
from ingest.settings import IngestSettings
from ingest.sources.base import FeedSource

log = structlog.get_logger(__name__)


class _MetricsExporter:
    """Copies the decoder's counts to Prometheus now and then, not once per event."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._lines = 0
        self._types: Counter[int] = Counter()
        self._reasons: Counter[str] = Counter()
        self._repairs: Counter[str] = Counter()

    def export(self, stats: DecodeStats) -> None:
        LINES_READ.labels(self.source).inc(stats.lines_read - self._lines)
        self._lines = stats.lines_read
        for msg_type, n in (stats.decoded_by_type - self._types).items():
            DECODED.labels(self.source, str(msg_type)).inc(n)
        for reason, n in (stats.rejected_by_reason - self._reasons).items():
            REJECTED.labels(self.source, reason).inc(n)
        for field_name, n in (stats.repaired_by_field - self._repairs).items():
            REPAIRED.labels(self.source, field_name).inc(n)
        self._types = stats.decoded_by_type.copy()
        self._reasons = stats.rejected_by_reason.copy()
        self._repairs = stats.repaired_by_field.copy()


_heap_frozen = False


def freeze_startup_heap() -> None:
    """Move what exists once the service has started (modules, and pydantic's validators
    and serialisers, whose collector traversal walks their whole schema trees) out of the
    collector's sight, once per process. Every full collection used to re-walk them: about
    40 ms each, 10-15% of ingest's time. Garbage is collected first, so nothing is pinned
    but live start-up objects; objects created later are collected as usual."""
    global _heap_frozen
    if not _heap_frozen:
        _heap_frozen = True
        gc.collect()
        gc.freeze()


async def run_ingest(
    source: FeedSource,
    bus: Bus,
    settings: IngestSettings | None = None,
    progress: IngestProgress | None = None,
) -> DecodeStats:
    """Ingest ``source`` until it ends (files) or the task is cancelled (live feeds).
    Returns the counts; what was decoded is on the bus when this returns."""
    settings = settings or IngestSettings()
    freeze_startup_heap()
    decoder = AisDecoder(
        source.name,
        settings.fragment_timeout_s,
        max_clock_ahead_s=settings.max_clock_ahead_s,
        max_line_bytes=settings.max_line_bytes,
        identity_cache_size=settings.identity_cache_size,
    )
    heartbeat = progress.heartbeat if progress is not None else Heartbeat()
    heartbeat.timeout_s = settings.liveness_timeout_s
    publisher = BatchPublisher(
        bus,
        settings.batch_size,
        retry_initial_s=settings.publish_retry_initial_s,
        retry_max_s=settings.publish_retry_max_s,
        name=source.name,
        heartbeat=heartbeat,
    )
    if progress is not None:
        progress.stats = decoder.stats
        progress.publisher = publisher
    metrics = _MetricsExporter(source.name)
    log.info("ingest starting", source=source.name)

    async def tick() -> None:
        # A live feed may go quiet: publish what waits, and time out stale fragments.
        # A bus that refuses a batch is retried on later ticks (capped backoff); the batch
        # stays in the publisher, so nothing is lost and the timer never dies of it.
        delay_s = settings.flush_interval_s
        retry_max_s = max(settings.publish_retry_max_s, settings.flush_interval_s)
        while True:
            heartbeat.tick()
            await asyncio.sleep(delay_s)
            expired: list[AisEvent] = []
            expired_ids: list[str] = []
            decoder.expire(datetime.now(UTC), expired, expired_ids)
            publisher.hold(expired, expired_ids)
            try:
                await publisher.flush()
            except Exception as exc:  # held and retried; never the end of the timer
                delay_s = min(delay_s * 2.0, retry_max_s)
                log.warning(
                    "publish refused, will retry",
                    source=source.name,
                    error=str(exc) or type(exc).__name__,
                    holding=publisher.pending,
                    retry_in_s=delay_s,
                )
            else:
                delay_s = settings.flush_interval_s
            metrics.export(decoder.stats)

    async def timer() -> None:
        try:
            await tick()
        except Exception as exc:  # not foreseen: never silent, /healthz says why (restart)
            heartbeat.timer_failed(f"{type(exc).__name__}: {exc}")
            log.error("ingest timer failed", source=source.name, exc_info=exc)

    ticker = asyncio.create_task(timer(), name=f"ingest-tick {source.name}")
    source_ended = False
    try:
        batches = aiter(source.batches())
        while True:
            heartbeat.waiting()
            try:
                batch = await anext(batches)
            except StopAsyncIteration:
                break
            heartbeat.step()
            events: list[AisEvent] = []
            ids: list[str] = []
            decoder.decode_lines(batch.lines, batch.received_at, events, ids)
            heartbeat.step()
            if progress is not None:
                progress.saw_data()
            # A full batch waits here until the bus takes it (backing off while it
            # refuses): the source is not read meanwhile, which is the push back.
            await publisher.add(events, ids)
        source_ended = True
    finally:
        ticker.cancel()
        await asyncio.wait([ticker])  # never raises: a cancellation of this run stays one
        # End of input, or a live feed cancelled: fragments still waiting are rejected as
        # incomplete, so every line read is accounted for, and what was decoded is handed
        # over (a failure here is logged; the error that ended the run, if any, propagates).
        leftovers: list[AisEvent] = []
        leftover_ids: list[str] = []
        decoder.flush(datetime.now(UTC), leftovers, leftover_ids)
        publisher.hold(leftovers, leftover_ids)
        try:
            if source_ended:
                await publisher.publish_held()  # the input is done: wait out any outage
            else:
                await publisher.flush()  # cancelled or failed: one try, then report
        except Exception as exc:
            log.error(
                "final publish failed", source=source.name, error=str(exc), lost=publisher.pending
            )
            if source_ended:
                raise  # nothing else went wrong: the caller must learn the bus failed
        metrics.export(decoder.stats)
    stats = decoder.stats
    log.info(
        "ingest finished",
        source=source.name,
        lines_read=stats.lines_read,
        decoded=sum(stats.decoded_by_type.values()),
        rejected=dict(stats.rejected_by_reason),
    )
    return stats
