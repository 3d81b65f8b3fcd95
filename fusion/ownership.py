"""Which shards (partition p of a consumer group's topics) this instance may advance and
checkpoint, through the group's rebalances.

aiokafka calls ``on_revoked`` before a rebalance and ``on_assigned`` after it from its
coordinator task, while the service's loop may be inside ``getmany`` or a batch, and the
consumer's own assignment is a poor guide then (both seen as a rebalanced run ending with
one alert event more or fewer than an uninterrupted one):

* between ``on_revoked`` and the end of the rebalance, ``assignment()`` still lists the
  revoked partitions, so a batch fetched before could be applied to, and later
  checkpointed for, shards already given away;
* the consumer hands out records of newly assigned partitions while ``on_assigned`` is
  still loading their checkpoints, so a batch applied first would be lost when the load
  replaced the state.

So a service keeps its own record: shards are taken (checkpoint loaded, the consumer moved
to the offsets it reflects) and given up (checkpointed, dropped) under the batch lock, and a
record is applied only for a shard owned, or for one assigned outside a rebalance (taken
over first).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from bus.base import Record, Subscription, TopicPartition


class Ownership:
    def __init__(self) -> None:
        self.owned: set[int] = set()
        self.rebalancing = False
        """Between giving partitions up and being told the new assignment."""
        self.lock = asyncio.Lock()
        """Held by a batch, a checkpoint load and a revocation: never two at once."""

    def revoking(self, shards: set[int]) -> None:
        self.rebalancing = True
        self.owned -= shards

    def mine(self, records: Sequence[Record], assigned: frozenset[TopicPartition]) -> list[Record]:
        """The records this instance may apply now (under ``lock``)."""
        return [
            r
            for r in records
            if r.topic_partition in assigned and (r.partition in self.owned or not self.rebalancing)
        ]


async def resume_at(
    subscription: Subscription | None, shard: int, offsets: Mapping[str, int]
) -> None:
    """Deliver the shard's partitions from the offsets its state reflects: the group's
    committed offset lags the checkpoint when a commit failed after a save, and the
    checkpoint, not the commit, says what the state holds."""
    if subscription is None:
        return
    assigned = subscription.assignment()
    for topic, offset in sorted(offsets.items()):
        if (topic, shard) in assigned:
            await subscription.seek((topic, shard), offset)
