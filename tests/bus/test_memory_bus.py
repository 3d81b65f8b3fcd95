"""Where later code relies on Kafka's behaviour, the memory bus does the same: partitions
take turns within a batch, and a record a group has not committed is never trimmed."""

from __future__ import annotations

import asyncio
from collections import Counter

from structlog.testing import capture_logs

from bus import Outgoing
from bus.memory import MemoryBus, partition_for
from tests.bus.test_contract import Ping
from tests.support.tasks import assert_ends_when_cancelled


def keys_per_partition(bus: MemoryBus, partitions: int) -> dict[int, str]:
    """One key landing in each partition of a memory topic."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < partitions:
        found.setdefault(bus_partition(bus, f"k{n}"), f"k{n}")
        n += 1
    return found


def bus_partition(bus: MemoryBus, key: str) -> int:
    return partition_for(key, bus.default_partitions, 0)


async def test_a_batch_serves_every_partition_with_records_not_the_lowest_first() -> None:
    bus = MemoryBus(source="/tests")
    keys = keys_per_partition(bus, 3)
    await bus.publish_many(
        [Outgoing("t.fair", keys[p], Ping(n=i)) for p in range(3) for i in range(100)]
    )
    async with bus.subscribe(["t.fair"], group="g") as sub:
        first = Counter(r.partition for r in await sub.getmany(max_records=30, timeout_s=0))
        second = Counter(r.partition for r in await sub.getmany(max_records=30, timeout_s=0))
    assert first == {0: 10, 1: 10, 2: 10}
    assert second == {0: 10, 1: 10, 2: 10}


async def test_a_partition_alone_fills_the_batch_and_order_holds() -> None:
    bus = MemoryBus(source="/tests")
    keys = keys_per_partition(bus, 3)
    await bus.publish_many([Outgoing("t.alone", keys[1], Ping(n=i)) for i in range(50)])
    await bus.publish_many([Outgoing("t.alone", keys[2], Ping(n=i)) for i in range(3)])
    async with bus.subscribe(["t.alone"], group="g") as sub:
        batch = await sub.getmany(max_records=40, timeout_s=0)
    assert len(batch) == 40
    ones = [r.decode(Ping).n for r in batch if r.partition == 1]
    assert ones == list(range(37)) and sum(r.partition == 2 for r in batch) == 3


async def test_records_a_group_has_not_committed_are_never_trimmed() -> None:
    bus = MemoryBus(source="/tests", partitions=1, max_records_per_partition=10)
    async with bus.subscribe(["t.keep"], group="sink") as sub:
        await sub.wait_assigned()
        with capture_logs() as logs:
            await bus.publish_many([Outgoing("t.keep", "k", Ping(n=i)) for i in range(100)])
        held = [e for e in logs if e["event"].startswith("memory bus holds records")]
        assert held and held[-1]["uncommitted_from"] == 0
        batch = await sub.getmany(max_records=1000, timeout_s=0)
        assert [r.decode(Ping).n for r in batch] == list(range(100))
    # The sink crashed before committing: its next member gets everything again.
    async with bus.subscribe(["t.keep"], group="sink") as sub:
        again = await sub.getmany(max_records=1000, timeout_s=0)
        assert [r.decode(Ping).n for r in again] == list(range(100))
        await sub.commit(again)
        # Committed, the records may go: memory stays bounded.
        await bus.publish_many([Outgoing("t.keep", "k", Ping(n=i)) for i in range(100, 130)])
        assert len(bus._topics["t.keep"][0]) <= 40


async def test_the_memory_group_is_co_partitioned_with_three_members() -> None:
    bus = MemoryBus(source="/tests", partitions=4)
    topics = ["t.pos", "t.static"]
    members = [bus.subscribe(topics, group="fusion") for _ in range(3)]
    for member in members:
        await member.start()
    for member in members:
        await member.getmany(timeout_s=0)
    owned = [{p for _, p in m.assignment()} for m in members]
    assert owned == [{0, 3}, {1}, {2}]
    for member, numbers in zip(members, owned, strict=True):
        assert member.assignment() == {(t, p) for t in topics for p in numbers}
    for member in members:
        await member.stop()


async def test_a_reader_cancelled_as_a_record_arrives_stops() -> None:
    """``lookout up`` stops its services by cancelling them while records still flow: a
    publish that wakes a waiting read at the moment of the cancellation must not let the
    read return its batch and the service loop go on."""
    bus = MemoryBus(source="/tests")
    await bus.ensure_topics(["t.stop"])
    waiting = asyncio.Event()

    async def read_forever() -> None:
        async with bus.subscribe(["t.stop"], group="g") as sub:
            await sub.getmany(timeout_s=0)  # joined and assigned
            while True:
                waiting.set()
                await sub.getmany(max_records=10, timeout_s=30)

    reader = asyncio.create_task(read_forever())
    await waiting.wait()
    await bus.publish_many([Outgoing("t.stop", "k", Ping(n=1))])
    reader.cancel()
    await assert_ends_when_cancelled(reader, "the reader")
