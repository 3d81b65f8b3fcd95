"""The ingest service: a feed source through the decoder onto the bus, in batches."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter
from datetime import UTC, datetime

import structlog

from bus.base import Bus, PublishError
from ingest.decoder import AisDecoder, AisEvent, DecodeStats
from ingest.metrics import DECODED, LINES_READ, PUBLISH_FAILURES, REJECTED
from ingest.progress import IngestProgress
from ingest.publisher import BatchPublisher
from ingest.settings import IngestSettings
from ingest.sources.base import FeedSource

log = structlog.get_logger(__name__)

PUBLISH_RETRY_MAX_S = 5.0
"""Cap of the timer's backoff while the bus refuses batches."""


class _MetricsExporter:
    """Copies the decoder's counts to Prometheus now and then, not once per event."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._lines = 0
        self._types: Counter[int] = Counter()
        self._reasons: Counter[str] = Counter()

    def export(self, stats: DecodeStats) -> None:
        LINES_READ.labels(self.source).inc(stats.lines_read - self._lines)
        self._lines = stats.lines_read
        for msg_type, n in (stats.decoded_by_type - self._types).items():
            DECODED.labels(self.source, str(msg_type)).inc(n)
        for reason, n in (stats.rejected_by_reason - self._reasons).items():
            REJECTED.labels(self.source, reason).inc(n)
        self._types = stats.decoded_by_type.copy()
        self._reasons = stats.rejected_by_reason.copy()


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
    )
    if progress is not None:
        progress.stats = decoder.stats
    publisher = BatchPublisher(bus, settings.batch_size)
    metrics = _MetricsExporter(source.name)
    log.info("ingest starting", source=source.name)

    async def tick() -> None:
        # A live feed may go quiet: publish what waits, and time out stale fragments.
        # A bus that refuses a batch is retried on later ticks (capped backoff); the batch
        # stays in the publisher, so nothing is lost and the timer never dies of it.
        delay_s = settings.flush_interval_s
        while True:
            await asyncio.sleep(delay_s)
            expired: list[AisEvent] = []
            decoder.expire(datetime.now(UTC), expired)
            try:
                await publisher.add(expired)
                await publisher.flush()
            except PublishError as exc:
                PUBLISH_FAILURES.labels(source.name).inc()
                delay_s = min(delay_s * 2.0, max(PUBLISH_RETRY_MAX_S, settings.flush_interval_s))
                log.warning(
                    "publish failed, will retry",
                    source=source.name,
                    error=str(exc),
                    waiting=publisher.pending,
                    retry_in_s=delay_s,
                )
            else:
                delay_s = settings.flush_interval_s
            metrics.export(decoder.stats)

    ticker = asyncio.create_task(tick(), name=f"ingest-tick {source.name}")
    source_ended = False
    try:
        async for batch in source.batches():
            events: list[AisEvent] = []
            decoder.decode_lines(batch.lines, batch.received_at, events)
            if progress is not None:
                progress.saw_data()
            await publisher.add(events)
        source_ended = True
    finally:
        ticker.cancel()
        await asyncio.wait([ticker])  # never raises: a cancellation of this run stays one
        if not ticker.cancelled() and ticker.exception() is not None:
            log.error("ingest timer failed", source=source.name, exc_info=ticker.exception())
        # End of input, or a live feed cancelled: fragments still waiting are rejected as
        # incomplete, so every line read is accounted for, and what was decoded is handed
        # over (a failure here is logged; the error that ended the run, if any, propagates).
        leftovers: list[AisEvent] = []
        decoder.flush(datetime.now(UTC), leftovers)
        try:
            await publisher.add(leftovers)
            await publisher.flush()
        except Exception as exc:
            PUBLISH_FAILURES.labels(source.name).inc()
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
