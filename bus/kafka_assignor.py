"""The co-partitioning assignor for aiokafka consumer groups (see ``bus.assignment``).

Kafka leaves assignment to the group's leader member: it runs ``assign`` with every
member's subscription and the cluster metadata, and the broker hands the result out. All
members must offer the same assignor name, so every Lookout consumer uses this one (there
is no mixed-version group to stay compatible with).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import structlog
from aiokafka.cluster import ClusterMetadata
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)

from bus.assignment import copartitioned

log = structlog.get_logger(__name__)


class CoPartitionedAssignor(AbstractPartitionAssignor):  # type: ignore[misc]
    """Partition p of every co-keyed topic to the same member."""

    name = "lookout-copartitioned"
    version = 0

    @classmethod
    def assign(
        cls,
        cluster: ClusterMetadata,
        members: Mapping[str, ConsumerProtocolMemberMetadata],
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        subscriptions = {member: set(meta.subscription) for member, meta in members.items()}
        topics = {topic for wanted in subscriptions.values() for topic in wanted}
        partitions = {topic: cluster.partitions_for_topic(topic) or set() for topic in topics}
        if len({len(numbers) for numbers in partitions.values()}) > 1:
            # One key hashes to different partition numbers when the counts differ: the
            # group is still assigned, but a key's topics may meet on different members.
            log.error(
                "co-keyed topics differ in partition count",
                counts={topic: len(numbers) for topic, numbers in sorted(partitions.items())},
            )
        result: dict[str, ConsumerProtocolMemberAssignment] = {}
        for member, tps in copartitioned(subscriptions, partitions).items():
            by_topic: dict[str, list[int]] = {}
            for topic, partition in sorted(tps):
                by_topic.setdefault(topic, []).append(partition)
            result[member] = ConsumerProtocolMemberAssignment(
                cls.version, sorted(by_topic.items()), b""
            )
        return result

    @classmethod
    def metadata(cls, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        return ConsumerProtocolMemberMetadata(cls.version, list(topics), b"")

    @classmethod
    def on_assignment(cls, assignment: ConsumerProtocolMemberAssignment) -> None:
        return None
