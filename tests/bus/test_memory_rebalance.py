"""The in-memory bus rebalances like Kafka's eager protocol: a partition never has two
owners, and its old owner hears the revocation before its new owner hears the assignment."""

from __future__ import annotations

from bus import Outgoing
from bus.base import TopicPartition
from bus.memory import MemoryBus
from tests.bus.test_contract import Ping


async def test_a_joining_member_never_shares_a_partition_with_its_old_owner() -> None:
    bus = MemoryBus(source="/tests")
    topic, events = "test.rebalance", []

    def listener(name: str, kind: str):  # type: ignore[no-untyped-def]
        async def record(tps: frozenset[TopicPartition]) -> None:
            events.append((name, kind, tps))

        return record

    await bus.publish_many([Outgoing(topic, f"k{i}", Ping(n=i)) for i in range(30)])
    first = bus.subscribe(
        [topic],
        group="g",
        on_assigned=listener("first", "assigned"),
        on_revoked=listener("first", "revoked"),
    )
    await first.start()
    in_flight = await first.getmany(max_records=1000, timeout_s=0.1)
    assert len(in_flight) == 30 and len(first.assignment()) == 3

    second = bus.subscribe(
        [topic],
        group="g",
        on_assigned=listener("second", "assigned"),
        on_revoked=listener("second", "revoked"),
    )
    await second.start()
    assert first.assignment().isdisjoint(second.assignment())
    assert first.assignment() | second.assignment() == {(topic, p) for p in range(3)}
    [(_, _, moved)] = [e for e in events if e[0] == "second" and e[1] == "assigned"]
    revoked_at = events.index(("first", "revoked", moved))
    assigned_at = events.index(("second", "assigned", moved))
    assert revoked_at < assigned_at

    # The old owner cannot commit what it lost; the new owner re-reads it (at least once).
    await first.commit(in_flight)
    again = await second.getmany(max_records=1000, timeout_s=0.1)
    assert {r.partition for r in again} == {p for _, p in moved}
    assert {r.offset for r in again if (topic, r.partition) in moved} == {
        r.offset for r in in_flight if (topic, r.partition) in moved
    }
    await second.stop()
    await first.stop()
