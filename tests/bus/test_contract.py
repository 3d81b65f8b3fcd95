"""The bus contract, run against the in-memory bus and a real Kafka-protocol broker (Tansu).

Both implementations must behave the same for everything a service relies on: ordering
per key, micro-batches, explicit commits (of records or of an offsets map), seeking,
redelivery of what was not committed, co-partitioned groups, tables read whole by every
instance, tails from the end, headers and event time passed through, and a health signal
that notices a consumer not progressing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiokafka.partitioner import DefaultPartitioner

from bus import Bus, BusSettings, Outgoing, Record, Subscription
from bus.kafka import KafkaBus, KafkaSubscription
from bus.memory import MemoryBus, MemorySubscription
from bus.table_reader import TableReader
from schemas.envelope import Event
from schemas.units import UtcDatetime


class Ping(Event):
    ce_type = "lookout.test.ping.v1"
    n: int
    note: str = ""


class Sighting(Event):
    """An event with its own time (as every AIS report has)."""

    ce_type = "lookout.test.sighting.v1"
    at: UtcDatetime

    def occurred_at(self) -> datetime:
        return self.at


def ce_time(record: Record) -> datetime:
    value = dict(record.headers)["ce_time"].decode()
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture(params=["memory", pytest.param("kafka", marks=pytest.mark.kafka)])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[Bus]:
    """Each contract test runs twice: on the in-memory bus and on Tansu."""
    impl: Bus
    if request.param == "memory":
        impl = MemoryBus(source="/tests")
    else:
        settings: BusSettings = request.getfixturevalue("kafka_settings")
        # Tansu keeps a member that left until its session times out, so a group's next
        # member waits that long: a short session keeps the suite lean (first join ~2 s,
        # a rejoin ~7 s instead of ~3 s and ~11 s).
        short = settings.model_copy(update={"kafka_session_timeout_ms": 3000})
        impl = KafkaBus(short, source="/tests")
    await impl.start()
    try:
        yield impl
    finally:
        await impl.stop()


async def drain(sub: Subscription, want: int, timeout_s: float = 30.0) -> list[Record]:
    """Read until ``want`` records arrived (or fail after ``timeout_s``)."""
    got: list[Record] = []
    deadline = asyncio.get_running_loop().time() + timeout_s
    while len(got) < want:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"received {len(got)} of {want} records in {timeout_s}s")
        got.extend(await sub.getmany(max_records=500, timeout_s=0.5))
    return got


async def publish_pings(bus: Bus, topic: str, n: int, keys: int = 5) -> None:
    await bus.publish_many([Outgoing(topic, f"k{i % keys}", Ping(n=i)) for i in range(n)])


async def test_published_events_arrive_with_cloudevents_headers(bus: Bus, unique: str) -> None:
    topic = f"test.headers.{unique}"
    await bus.ensure_topics([topic])
    before = datetime.now(UTC).replace(microsecond=0)
    await bus.publish(topic, "vessel-1", Ping(n=7, note="hello"), event_id="evt-1")
    after = datetime.now(UTC)
    async with bus.subscribe([topic], group=f"g.{unique}") as sub:
        [record] = await drain(sub, 1)
    assert record.key == "vessel-1"
    headers = dict(record.headers)
    assert headers["ce_type"] == b"lookout.test.ping.v1"
    assert headers["ce_id"] == b"evt-1"
    assert headers["ce_specversion"] == b"1.0"
    assert headers["content-type"] == b"application/json"
    assert headers["ce_source"] == b"/tests"
    assert "ce_time" in headers  # a Ping has no time of its own: the publish time
    assert before <= ce_time(record) <= after
    assert record.decode(Ping) == Ping(n=7, note="hello")


async def test_a_message_sent_to_a_partition_lands_there_whatever_its_key(
    bus: Bus, unique: str
) -> None:
    topic = f"test.partition.{unique}"
    await bus.ensure_topics([topic])
    count = await bus.partition_count(topic)
    assert count == 3
    await bus.publish_many(
        [Outgoing(topic, "one-key", Ping(n=p), partition=p) for p in range(count)]
    )
    async with bus.subscribe([topic], group=f"g.{unique}") as sub:
        records = await drain(sub, count)
    assert sorted((r.partition, r.decode(Ping).n) for r in records) == [(p, p) for p in range(3)]


async def test_messages_with_one_key_keep_their_order_in_one_partition(
    bus: Bus, unique: str
) -> None:
    topic = f"test.order.{unique}"
    await bus.ensure_topics([topic])
    await publish_pings(bus, topic, 200, keys=4)
    async with bus.subscribe([topic], group=f"g.{unique}") as sub:
        records = await drain(sub, 200)
    by_key: dict[str, list[int]] = {}
    partition_of: dict[str, set[int]] = {}
    for r in records:
        assert r.key is not None
        by_key.setdefault(r.key, []).append(r.decode(Ping).n)
        partition_of.setdefault(r.key, set()).add(r.partition)
    assert all(len(p) == 1 for p in partition_of.values())
    assert all(ns == sorted(ns) for ns in by_key.values())
    assert sorted(n for ns in by_key.values() for n in ns) == list(range(200))


async def test_uncommitted_messages_are_delivered_again_after_a_restart(
    bus: Bus, unique: str
) -> None:
    topic, group = f"test.redeliver.{unique}", f"g.{unique}"
    await bus.ensure_topics([topic])
    await publish_pings(bus, topic, 30, keys=3)

    async with bus.subscribe([topic], group=group) as first:
        records = await drain(first, 30)
        # Only the first half of each partition is durable: commit that, then "crash".
        by_partition: dict[int, list[Record]] = {}
        for r in records:
            by_partition.setdefault(r.partition, []).append(r)
        done = [r for rs in by_partition.values() for r in rs[: len(rs) // 2]]
        await first.commit(done)

    expected = {r.decode(Ping).n for r in records} - {r.decode(Ping).n for r in done}
    async with bus.subscribe([topic], group=group) as second:
        again = await drain(second, len(expected))
        assert await second.getmany(timeout_s=0.5) == []
    assert {r.decode(Ping).n for r in again} == expected


async def test_committed_messages_are_not_delivered_again(bus: Bus, unique: str) -> None:
    topic, group = f"test.committed.{unique}", f"g.{unique}"
    await bus.ensure_topics([topic])
    await publish_pings(bus, topic, 20)
    async with bus.subscribe([topic], group=group) as first:
        await first.commit(await drain(first, 20))
    await bus.publish(topic, "k0", Ping(n=99))
    async with bus.subscribe([topic], group=group) as second:
        [record] = await drain(second, 1)
    assert record.decode(Ping).n == 99


async def test_a_new_group_starts_from_the_earliest_message(bus: Bus, unique: str) -> None:
    topic = f"test.earliest.{unique}"
    await bus.ensure_topics([topic])
    await publish_pings(bus, topic, 10)
    async with bus.subscribe([topic], group=f"a.{unique}") as a:
        assert len(await drain(a, 10)) == 10
    async with bus.subscribe([topic], group=f"b.{unique}") as b:
        assert len(await drain(b, 10)) == 10


async def test_rebalance_listener_hears_assignment_and_revocation(bus: Bus, unique: str) -> None:
    topic = f"test.listener.{unique}"
    await bus.ensure_topics([topic])
    assigned: list[frozenset[tuple[str, int]]] = []
    revoked: list[frozenset[tuple[str, int]]] = []

    async def on_assigned(tps: frozenset[tuple[str, int]]) -> None:
        assigned.append(tps)

    async def on_revoked(tps: frozenset[tuple[str, int]]) -> None:
        revoked.append(tps)

    sub = bus.subscribe(
        [topic], group=f"g.{unique}", on_assigned=on_assigned, on_revoked=on_revoked
    )
    async with sub:
        got = await sub.wait_assigned()
        assert got == {(topic, p) for p in range(3)}
        assert assigned and assigned[-1] == got
    assert revoked and revoked[-1] == got


async def test_every_table_reader_sees_the_whole_table_reduced_by_key(
    bus: Bus, unique: str
) -> None:
    topic = f"test.table.{unique}"
    await bus.ensure_topics([topic])
    await bus.publish_many(
        [
            Outgoing(topic, "zone-a", Ping(n=1)),
            Outgoing(topic, "zone-b", Ping(n=2)),
            Outgoing(topic, "zone-a", Ping(n=3)),  # last value wins
            Outgoing(topic, "zone-c", Ping(n=4)),
            Outgoing(topic, "zone-c", None),  # tombstone deletes
        ]
    )
    first, second = TableReader(bus, topic, Ping), TableReader(bus, topic, Ping)
    await first.start()
    await second.start()
    try:
        for reader in (first, second):
            assert {k: v.n for k, v in reader.rows.items()} == {"zone-a": 3, "zone-b": 2}
        await bus.publish(topic, "zone-b", None)
        changed: set[str] = set()
        for _ in range(50):
            changed |= await first.poll(timeout_s=0.2)
            if changed:
                break
        assert changed == {"zone-b"}
        assert set(first.rows) == {"zone-a"}
    finally:
        await first.stop()
        await second.stop()


async def test_getmany_returns_an_empty_batch_when_nothing_arrives(bus: Bus, unique: str) -> None:
    topic = f"test.empty.{unique}"
    await bus.ensure_topics([topic])
    async with bus.subscribe([topic], group=f"g.{unique}") as sub:
        await sub.wait_assigned()
        assert await sub.getmany(timeout_s=0.3) == []
        assert await sub.lag() in (0, None)


async def test_a_consumer_that_stops_progressing_is_reported_unhealthy(
    bus: Bus, unique: str
) -> None:
    """A real stall: records wait and nobody reads them (the consumer's own fetcher still
    learns the partition's end, so the lag is known). The fetcher's silence of aiokafka
    issue 1154 is shown through a cut connection in test_kafka_faults.py."""
    topic = f"test.health.{unique}"
    await bus.ensure_topics([topic])
    sub = bus.subscribe([topic], group=f"g.{unique}")
    assert isinstance(sub, MemorySubscription | KafkaSubscription)
    sub._stall_after_s = 0.5
    async with sub:
        await publish_pings(bus, topic, 5)
        await drain(sub, 5)
        assert (await sub.health()).alive
        await publish_pings(bus, topic, 5)
        deadline = time.monotonic() + 20
        while (health := await sub.health()).alive:
            assert time.monotonic() < deadline, "the stall was never reported"
            await asyncio.sleep(0.1)
        assert health.lag == 5
        assert "behind" in health.reason


async def test_a_publish_larger_than_one_record_batch_arrives_whole_and_in_order(
    bus: Bus, unique: str
) -> None:
    """Kafka publishes one record batch per partition at a time (1 MB by default): a
    publish of several MB fills several, and keyless messages are spread too."""
    topic = f"test.big.{unique}"
    await bus.ensure_topics([topic])
    note = "x" * 2000
    messages = [Outgoing(topic, f"k{i % 3}", Ping(n=i, note=note)) for i in range(1800)]
    messages += [Outgoing(topic, None, Ping(n=1800 + i)) for i in range(30)]
    await bus.publish_many(messages)
    async with bus.subscribe([topic], group=f"g.{unique}") as sub:
        records = await drain(sub, len(messages))
    by_key: dict[str | None, list[int]] = {}
    for r in records:
        by_key.setdefault(r.key, []).append(r.decode(Ping).n)
    assert sorted(n for ns in by_key.values() for n in ns) == list(range(len(messages)))
    for key in ("k0", "k1", "k2"):
        assert by_key[key] == list(range(int(key[1]), 1800, 3))


@pytest.mark.kafka
async def test_kafka_keys_land_where_the_default_partitioner_puts_them(
    kafka_settings: BusSettings, unique: str
) -> None:
    """Other producers (any Kafka client with the default partitioner) put a key where we do."""
    topic = f"test.partitioner.{unique}"
    async with KafkaBus(kafka_settings, source="/tests") as bus:
        await bus.ensure_topics([topic])
        keys = [str(525_000_000 + i) for i in range(40)]
        await bus.publish_many([Outgoing(topic, k, Ping(n=i)) for i, k in enumerate(keys)])
        async with bus.subscribe([topic], group=f"g.{unique}") as sub:
            records = await drain(sub, len(keys))
    partitions = list(range(kafka_settings.partitions))
    for r in records:
        assert r.key is not None
        assert r.partition == DefaultPartitioner()(r.key.encode(), partitions, partitions)


async def test_extra_headers_travel_after_the_cloudevents_ones(bus: Bus, unique: str) -> None:
    topic = f"test.extra.{unique}"
    await bus.ensure_topics([topic])
    trace = ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    await bus.publish_many([Outgoing(topic, "k", Ping(n=1), headers=(trace, ("x-agency", b"")))])
    async with bus.subscribe([topic], group=f"g.{unique}") as sub:
        [record] = await drain(sub, 1)
    assert record.headers[-2:] == (trace, ("x-agency", b""))
    assert record.attributes().type == Ping.ce_type


async def test_event_time_travels_in_ce_time_and_the_record_keeps_the_publish_time(
    bus: Bus, unique: str
) -> None:
    """An old capture replayed: its event time is in ce_time; the record's timestamp is
    the publish time, so Kafka's time-based retention does not drop it on arrival."""
    topic = f"test.eventtime.{unique}"
    await bus.ensure_topics([topic])
    long_ago = datetime(2003, 5, 17, 4, 12, 9, tzinfo=UTC)
    published_ms = time.time() * 1000
    await bus.publish(topic, "k", Sighting(at=long_ago))
    async with bus.subscribe([topic], group=f"g.{unique}") as sub:
        [record] = await drain(sub, 1)
    assert ce_time(record) == long_ago
    assert abs(record.timestamp_ms - published_ms) < 60_000


async def test_seek_position_committed_and_an_offsets_map_that_moves_back(
    bus: Bus, unique: str
) -> None:
    topic, group = f"test.offsets.{unique}", f"g.{unique}"
    await bus.ensure_topics([topic])
    await bus.publish_many([Outgoing(topic, "one-key", Ping(n=i)) for i in range(10)])
    async with bus.subscribe([topic], group=group) as sub:
        records = await drain(sub, 10)
        tp = records[0].topic_partition
        assert {r.topic_partition for r in records} == {tp}
        assert await sub.position(tp) == 10
        assert await sub.committed(tp) is None
        await sub.commit(records[:6])
        assert await sub.committed(tp) == 6
        await sub.commit_offsets({tp: 3})  # a checkpoint restored: back is accepted
        assert await sub.committed(tp) == 3
        await sub.seek(tp, 7)
        assert await sub.position(tp) == 7
        assert [r.decode(Ping).n for r in await drain(sub, 3)] == [7, 8, 9]
        other = next(t for t in sub.assignment() if t != tp)
        assert await sub.position(other) == 0


async def test_partition_lags_count_what_the_broker_holds_beyond_what_was_delivered(
    bus: Bus, unique: str
) -> None:
    """Fusion waits for an empty input partition only while it has lag: the figure must
    count records not yet handed out by getmany, and be 0 for an empty partition."""
    topic = f"test.lags.{unique}"
    await bus.ensure_topics([topic])
    await bus.publish_many([Outgoing(topic, "one-key", Ping(n=i)) for i in range(10)])
    async with bus.subscribe([topic], group=f"g.{unique}") as sub:
        records = await drain(sub, 10)
        tp = records[0].topic_partition
        lags = await sub.partition_lags()
        assert set(lags) == sub.assignment()
        assert lags == {t: 0 for t in sub.assignment()}  # read to the end; the others empty
        await sub.seek(tp, 4)
        assert (await sub.partition_lags())[tp] == 6
        await bus.publish_many([Outgoing(topic, "one-key", Ping(n=10))])
        got = await drain(sub, 7)
        assert [r.offset for r in got] == list(range(4, 11))
        assert (await sub.partition_lags())[tp] == 0


async def test_a_paused_partition_delivers_nothing_until_resumed(bus: Bus, unique: str) -> None:
    topic = f"test.pause.{unique}"
    await bus.ensure_topics([topic])
    count = await bus.partition_count(topic)
    async with bus.subscribe([topic], group=f"g.{unique}") as sub:
        await sub.wait_assigned()
        held = (topic, 0)
        sub.pause([held])
        await bus.publish_many(
            [
                Outgoing(topic, "k", Ping(n=p * 10 + i), partition=p)
                for p in range(count)
                for i in range(3)
            ]
        )
        first = await drain(sub, 3 * (count - 1))
        assert {r.partition for r in first} == set(range(1, count))
        assert await sub.getmany(timeout_s=0.3) == []
        sub.resume([held])
        rest = await drain(sub, 3)
    assert [r.decode(Ping).n for r in rest] == [0, 1, 2]


async def test_a_tail_reads_from_the_end_or_from_given_offsets_without_a_group(
    bus: Bus, unique: str
) -> None:
    topic = f"test.tail.{unique}"
    await bus.ensure_topics([topic])
    await bus.publish_many([Outgoing(topic, "k", Ping(n=i)) for i in range(5)])
    async with bus.tail([topic]) as live:
        assert len(live.assignment()) == 3
        [tp] = [t for t in sorted(live.assignment()) if await live.position(t) == 5]
        await bus.publish_many([Outgoing(topic, "k", Ping(n=i)) for i in range(5, 8)])
        assert [r.decode(Ping).n for r in await drain(live, 3)] == [5, 6, 7]
        await live.commit_offsets({tp: 0})  # no group: nothing to commit, no error
        assert await live.committed(tp) is None
    async with bus.tail([topic], from_offsets={tp: 6}) as resumed:
        assert [r.decode(Ping).n for r in await drain(resumed, 2)] == [6, 7]
        assert await resumed.getmany(timeout_s=0.3) == []


async def test_two_members_own_partition_p_of_every_co_keyed_topic_and_hear_the_rebalance(
    bus: Bus, unique: str
) -> None:
    """Fusion reads one MMSI's positions and identity together: partition p of both
    topics must go to one member. The first member hears its revocation from the
    rebalance the second one's joining causes (not from its own stop), and what it
    commits there counts: nothing it finished is delivered again."""
    positions, static = f"test.ais.positions.{unique}", f"test.ais.static.{unique}"
    topics, group = [positions, static], f"fusion.{unique}"
    everything = {(t, p) for t in topics for p in range(3)}
    await bus.ensure_topics(topics)
    await bus.publish_many(
        [Outgoing(t, f"{366_000_000 + i}", Ping(n=i)) for t in topics for i in range(30)]
    )
    revoked: list[frozenset[tuple[str, int]]] = []
    done: list[Record] = []

    async def on_revoked(tps: frozenset[tuple[str, int]]) -> None:
        revoked.append(tps)
        await first.commit([r for r in done if r.topic_partition in tps])

    first = bus.subscribe(topics, group=group, on_revoked=on_revoked)
    second = bus.subscribe(topics, group=group)
    again: list[Record] = []
    async with first:
        assert await first.wait_assigned() == everything
        done.extend(await drain(first, 60))
        async with second:
            deadline = time.monotonic() + 60
            while not (
                first.assignment()
                and second.assignment()
                and first.assignment() | second.assignment() == everything
            ):
                assert time.monotonic() < deadline, "the group never settled on two members"
                again.extend(await first.getmany(timeout_s=0.1))
                again.extend(await second.getmany(timeout_s=0.1))
            assert first.assignment().isdisjoint(second.assignment())
            for member in (first, second):
                numbers = {p for _, p in member.assignment()}
                assert member.assignment() == {(t, p) for t in topics for p in numbers}
            assert revoked, "the first member never heard of the rebalance"
            assert second.assignment() <= revoked[0]
            again.extend(await second.getmany(timeout_s=0.5))
    assert again == []
