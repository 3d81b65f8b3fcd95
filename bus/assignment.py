"""Co-partitioned assignment: partition p of every topic a group reads goes to one member.

Fusion keeps one MMSI's track from ``ais.positions`` and its identity from ``ais.static``;
both topics are keyed by MMSI with the same partition count, so the MMSI is in partition p
of each. Kafka's stock assignors (round robin, range) stripe ``(topic, partition)`` pairs
over the members and split them. Here partition numbers are dealt out over the members,
and a member takes its numbers in every topic it subscribes to. One pure function, used
by the Kafka assignor (``bus.kafka_assignor``) and by the memory bus alike.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Set

from bus.base import TopicPartition


def copartitioned(
    subscriptions: Mapping[str, Set[str]], partitions: Mapping[str, Collection[int]]
) -> dict[str, set[TopicPartition]]:
    """Assign each topic's partitions to the members subscribed to it: partition p goes to
    the ``p % n``-th of its ``n`` subscribers (sorted by member id). Members with the same
    subscriptions therefore own the same partition numbers of every topic; a topic without
    partitions in ``partitions`` (no metadata yet) is not assigned."""
    assignment: dict[str, set[TopicPartition]] = {member: set() for member in subscriptions}
    for topic in sorted({topic for topics in subscriptions.values() for topic in topics}):
        numbers = partitions.get(topic)
        if not numbers:
            continue
        subscribers = sorted(m for m, wanted in subscriptions.items() if topic in wanted)
        for partition in sorted(numbers):
            assignment[subscribers[partition % len(subscribers)]].add((topic, partition))
    return assignment
