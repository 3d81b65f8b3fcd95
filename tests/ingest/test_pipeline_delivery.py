"""What ingest decoded reaches the bus, whatever happens around it: a live feed that is
cancelled hands over its waiting fragments as ``incomplete`` rejects; a batch the bus
refuses is kept and published again, in order, once the bus is back; and a cancelled run
ends cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import msgspec
import pytest

from bus.base import Outgoing, PublishError
from bus.memory import MemoryBus
from ingest.pipeline import run_ingest
from ingest.progress import IngestProgress
from ingest.publisher import BatchPublisher
from ingest.settings import IngestSettings
from ingest.sources.base import LineBatch
from schemas.ais import RejectReason, RejectRecord
from schemas.topics import Topic
from tests.ingest.support import wait_for
from tests.ingest.test_decoder import TYPE_1, TYPE_5

LIVE = IngestSettings(flush_interval_s=0.01, fragment_timeout_s=3600)


class LiveFeed:
    """A live feed: sends its batches, then stays connected and silent until cancelled."""

    name = "live"

    def __init__(self, *batches: list[str]) -> None:
        self._batches = batches

    async def batches(self) -> AsyncIterator[LineBatch]:
        for lines in self._batches:
            yield LineBatch([x.encode() for x in lines], datetime.now(UTC))
        await asyncio.Event().wait()


class FlakyBus(MemoryBus):
    """A real memory bus whose first ``failures`` publishes raise ``PublishError``."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.refused = 0
        self.published = 0

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        if self.failures:
            self.failures -= 1
            self.refused += 1
            raise PublishError("broker away")
        await super().publish_many(messages)
        self.published += len(messages)


async def read_all(bus: MemoryBus, topic: str) -> list[bytes | None]:
    async with bus.subscribe([topic], group="reader") as sub:
        return [r.value for r in await sub.getmany(max_records=10_000, timeout_s=0.1)]


async def cancel_and_expect_cancelled(task: asyncio.Task[object]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_fragments_waiting_when_a_live_feed_is_cancelled_become_incomplete_rejects() -> None:
    bus = MemoryBus()
    progress = IngestProgress("live")
    run = asyncio.create_task(run_ingest(LiveFeed([TYPE_5[0]]), bus, LIVE, progress))
    await wait_for(lambda: progress.stats.lines_read == 1, what="the fragment read")
    await cancel_and_expect_cancelled(run)
    assert progress.stats.lines_pending == 0
    async with bus.subscribe([Topic.AIS_REJECTS], group="reader") as sub:
        [record] = await sub.getmany(max_records=10, timeout_s=0.1)
    reject = record.decode(RejectRecord)
    assert reject.reason is RejectReason.INCOMPLETE
    assert reject.raw == [TYPE_5[0]]


async def test_a_batch_the_bus_refuses_is_published_once_it_recovers_in_order() -> None:
    bus = FlakyBus(failures=1)
    lines = [TYPE_1] * 3
    run = asyncio.create_task(run_ingest(LiveFeed(lines, lines), bus, LIVE))
    await wait_for(lambda: bus.published == 6, what="all six positions published")
    assert bus.refused == 1 and not run.done()  # the timer retried; the run goes on
    await cancel_and_expect_cancelled(run)
    assert len(await read_all(bus, Topic.AIS_POSITIONS)) == 6


async def test_a_cancelled_run_ends_cancelled_even_while_the_bus_refuses_everything() -> None:
    bus = FlakyBus(failures=10**9)
    run = asyncio.create_task(run_ingest(LiveFeed([TYPE_1]), bus, LIVE))
    await wait_for(lambda: bus.refused >= 2, what="the timer retrying")
    await cancel_and_expect_cancelled(run)


async def test_a_failed_flush_keeps_its_batch_in_front_of_later_events() -> None:
    bus = FlakyBus(failures=1)
    publisher = BatchPublisher(bus, batch_size=100)
    first = RejectRecord(
        source="s",
        reason=RejectReason.MALFORMED,
        detail="first",
        raw=["a"],
        received_at=datetime.now(UTC),
    )
    second = msgspec.structs.replace(first, detail="second")
    await publisher.add([first])
    with pytest.raises(PublishError):
        await publisher.flush()
    await publisher.add([second])
    await publisher.flush()
    details = [
        msgspec.json.decode(v or b"", type=RejectRecord).detail
        for v in await read_all(bus, Topic.AIS_REJECTS)
    ]
    assert details == ["first", "second"]
    assert publisher.published == 2 and publisher.pending == 0


async def test_flushes_never_publish_two_batches_at_once() -> None:
    class SlowBus(MemoryBus):
        in_flight = 0
        most_in_flight = 0
        release = asyncio.Event()

        async def publish_many(self, messages: Sequence[Outgoing]) -> None:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            await self.release.wait()
            await super().publish_many(messages)
            self.in_flight -= 1

    bus = SlowBus()
    publisher = BatchPublisher(bus, batch_size=100)
    event = RejectRecord(
        source="s",
        reason=RejectReason.MALFORMED,
        detail="x",
        raw=["a"],
        received_at=datetime.now(UTC),
    )
    await publisher.add([event])
    timer = asyncio.create_task(publisher.flush())
    await wait_for(lambda: bus.in_flight == 1, what="the first publish under way")
    await publisher.add([event])
    main = asyncio.create_task(publisher.flush())
    bus.release.set()
    await asyncio.gather(timer, main)
    assert bus.most_in_flight == 1
    assert publisher.published == 2
