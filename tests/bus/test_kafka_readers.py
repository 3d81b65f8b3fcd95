"""Kafka readers without a group (tables, live tails) follow their topics' partitions: a
partition that appears after the reader started is read from its beginning, and the
partitions it already had keep their positions.

Tansu cannot add partitions to a topic (no CreatePartitions), so a partition appears here
the other way Kafka has: its topic is created after the reader started. The reader's
code path is the same (it asks the brokers for its topics' partitions every
``kafka_metadata_refresh_ms``)."""

from __future__ import annotations

import time

import pytest

from bus import BusSettings, Outgoing, Record, Subscription
from bus.kafka import KafkaBus
from tests.bus.test_contract import Ping, drain

pytestmark = pytest.mark.kafka


async def read_until(sub: Subscription, done: set[int], timeout_s: float = 20) -> list[Record]:
    """Records until every Ping number in ``done`` arrived."""
    got: list[Record] = []
    deadline = time.monotonic() + timeout_s
    while not done <= {r.decode(Ping).n for r in got}:
        assert time.monotonic() < deadline, f"got {sorted(r.decode(Ping).n for r in got)}"
        got.extend(await sub.getmany(timeout_s=0.2))
    return got


async def test_a_table_reads_partitions_of_a_topic_created_after_it_started(
    kafka_bus: KafkaBus, kafka_settings: BusSettings, unique: str
) -> None:
    topic = f"test.latetable.{unique}"
    async with kafka_bus.table(topic) as table:
        assert await table.caught_up()  # nothing there yet: the table is empty
        assert await table.getmany(timeout_s=0.2) == []
        async with KafkaBus(kafka_settings.model_copy(update={"partitions": 5})) as admin:
            await admin.ensure_topics([topic])
            await admin.publish_many([Outgoing(topic, f"zone-{i}", Ping(n=i)) for i in range(40)])
        got = await read_until(table, set(range(40)))
        assert {r.partition for r in got} == {0, 1, 2, 3, 4}
        assert len(table.assignment()) == 5


async def test_a_tail_keeps_its_place_and_reads_a_new_topic_from_its_beginning(
    kafka_bus: KafkaBus, unique: str
) -> None:
    old, new = f"test.tailold.{unique}", f"test.tailnew.{unique}"
    await kafka_bus.ensure_topics([old])
    await kafka_bus.publish_many([Outgoing(old, f"k{i}", Ping(n=i)) for i in range(6)])
    async with kafka_bus.tail([old, new]) as live:
        assert {t for t, _ in live.assignment()} == {old}
        await kafka_bus.publish_many([Outgoing(old, f"k{i}", Ping(n=i)) for i in range(6, 9)])
        assert sorted(r.decode(Ping).n for r in await drain(live, 3)) == [6, 7, 8]
        await kafka_bus.ensure_topics([new])
        await kafka_bus.publish_many([Outgoing(new, f"k{i}", Ping(n=i)) for i in range(10, 13)])
        got = await read_until(live, {10, 11, 12})
        assert sorted(r.decode(Ping).n for r in got) == [10, 11, 12]  # nothing old again
        assert {t for t, _ in live.assignment()} == {old, new}
