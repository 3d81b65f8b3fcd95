"""The sink reads the next batch while the database writes the current one (issue 13: the
client's decoding and the server's writing overlap), and still writes and commits batch
after batch, in order, nothing of a batch committed before it is durable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest

from bus.base import Outgoing, Record
from bus.memory import MemoryBus
from schemas.topics import Topic
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.factories import position
from tests.store.support import count, wait_for

pytestmark = pytest.mark.postgres

TP = (Topic.AIS_POSITIONS.value, 0)


async def test_the_next_batch_is_read_while_one_is_written_and_committed_only_after_it(
    db_url: str, store_settings: StoreSettings
) -> None:
    settings = store_settings.model_copy(update={"sink_batch_max_records": 10})
    bus = MemoryBus(source="/tests", partitions=1)
    await bus.start()
    vessels = [525_000_000 + n % 5 for n in range(30)]
    await bus.publish_many(
        [
            Outgoing(Topic.AIS_POSITIONS, str(mmsi), position(mmsi, n, -8.0, 115.0 + n / 100))
            for n, mmsi in enumerate(vessels)
        ]
    )
    # (last offset of the batch, the reader's position, the group's committed offset),
    # each taken when a batch has become durable in the database.
    durable: list[tuple[int, int, int | None]] = []
    sink: StoreSink | None = None

    async def at_durable(records: Sequence[Record]) -> None:
        assert sink is not None and sink._subscription is not None
        reader = sink._subscription
        durable.append((records[-1].offset, await reader.position(TP), await reader.committed(TP)))

    sink = StoreSink(bus, settings, after_database_commit=at_durable)
    task = asyncio.create_task(sink.run())
    try:

        async def three_batches() -> bool:
            assert not task.done(), task
            return len(durable) == 3

        await wait_for(three_batches, 30, "three batches written")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bus.stop()
    assert [offset for offset, _, _ in durable] == [9, 19, 29]
    # When the first batch was durable the second had been read already, and not committed.
    assert durable[0][1:] == (20, None)
    assert durable[1][1:] == (30, 10)
    assert durable[2][1:] == (30, 20)
    assert await count(db_url, "positions") == 30
