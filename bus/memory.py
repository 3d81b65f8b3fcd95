"""In-process bus with Kafka's semantics: partitions, consumer groups, committed offsets,
redelivery of what was not committed, compacted topics kept whole for table readers.

It serves the embedded default (``lookout up``, one process) and unit tests. It is not a
stand-in for Kafka in the Kafka tests: the contract suite runs against both. Where later
code relies on Kafka's behaviour it does the same: co-partitioned assignment, partitions
served in turn within a batch, commits that move back accepted. It differs where one
process must not lose data: a record some group has not committed yet is never trimmed.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from bus.assignment import copartitioned
from bus.base import (
    Bus,
    BusError,
    Outgoing,
    PartitionsCallback,
    ProgressClock,
    PublishError,
    Record,
    Subscription,
    SubscriptionHealth,
    TopicPartition,
)
from bus.metrics import CONSUMED, PUBLISHED
from schemas.topics import COMPACTED_TOPICS

log = structlog.get_logger(__name__)


def partition_for(key: str | None, partitions: int, counter: int) -> int:
    """Same key, same partition; keyless messages spread round-robin."""
    if key is None:
        return counter % partitions
    return zlib.crc32(key.encode()) % partitions


_Row = tuple[str, int, int, str | None, bytes | None, tuple[tuple[str, bytes], ...], int]
"""A stored record: ``Record``'s fields in order. Readers get ``Record`` objects built
from the rows they read."""

_CHUNK = 1024


@dataclass
class _Partition:
    """Retained records, laid out so the garbage collector does not walk them: a row (a
    plain tuple of exact str, bytes and ints) is untracked by the collector after its first
    collection, full chunks of rows are tuples (untracked too), and offsets are a C array.
    Stored as ``Record`` objects in one list, every full collection visited each of them
    (about 15% of a publish with 100k records retained; far more with millions)."""

    compacted: bool
    offsets: array[int] = field(default_factory=lambda: array("q"))
    """The offset of every stored row, ascending."""
    chunks: list[tuple[_Row, ...]] = field(default_factory=list)
    """Full chunks of exactly ``_CHUNK`` rows, then ``tail`` (fewer)."""
    tail: list[_Row] = field(default_factory=list)
    next_offset: int = 0
    trim_at: float = 0.0
    """Trim again only beyond this many rows (rows kept for uncommitted groups would
    otherwise make every publish try again)."""

    def __len__(self) -> int:
        return len(self.chunks) * _CHUNK + len(self.tail)

    def append(self, row: _Row) -> None:
        self.offsets.append(row[2])
        tail = self.tail
        tail.append(row)
        self.next_offset = row[2] + 1
        if len(tail) == _CHUNK:
            self.chunks.append(tuple(tail))
            self.tail = []

    def read(self, position: int, limit: int) -> list[Record]:
        index = bisect.bisect_left(self.offsets, position)
        end = min(index + limit, len(self))
        records: list[Record] = []
        while index < end:
            number, at = divmod(index, _CHUNK)
            chunk = self.chunks[number] if number < len(self.chunks) else self.tail
            rows = chunk[at : at + end - index]
            records.extend([Record(*row) for row in rows])
            index += len(rows)
        return records

    def rows(self) -> list[_Row]:
        return [row for chunk in self.chunks for row in chunk] + self.tail

    def trim(self, keep: int, floor: int | None = None) -> None:
        """Bound memory: drop the oldest records (time-based topics) or older values of the
        same key (compacted topics, as Kafka's cleaner would), but none at or after
        ``floor`` (the lowest offset a consumer group has not committed yet)."""
        if len(self) <= keep:
            return
        rows = self.rows()
        if self.compacted:
            newest: dict[str | None, int] = {}
            for row in rows:
                newest[row[3]] = row[2]
            kept = [
                r for r in rows if newest[r[3]] == r[2] or (floor is not None and r[2] >= floor)
            ]
        else:
            droppable = len(rows) - keep
            if floor is not None:
                droppable = min(droppable, bisect.bisect_left(self.offsets, floor))
            kept = rows[droppable:]
        full = len(kept) - len(kept) % _CHUNK
        self.chunks = [tuple(kept[i : i + _CHUNK]) for i in range(0, full, _CHUNK)]
        self.tail = kept[full:]
        self.offsets = array("q", [r[2] for r in kept])


@dataclass
class _Group:
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    members: list[MemorySubscription] = field(default_factory=list)
    generation: int = 0


class MemoryBus(Bus):
    def __init__(
        self,
        *,
        source: str = "/lookout",
        partitions: int = 3,
        max_records_per_partition: int = 2_000_000,
    ) -> None:
        self.source = source
        self.default_partitions = partitions
        self.max_records_per_partition = max_records_per_partition
        self._topics: dict[str, list[_Partition]] = {}
        self._groups: dict[str, _Group] = {}
        self._data = asyncio.Event()
        self._keyless = 0

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def _topic(self, name: str) -> list[_Partition]:
        parts = self._topics.get(name)
        if parts is None:
            compacted = name in COMPACTED_TOPICS
            parts = [_Partition(compacted) for _ in range(self.default_partitions)]
            self._topics[name] = parts
        return parts

    async def ensure_topics(self, topics: Iterable[str]) -> None:
        for name in topics:
            self._topic(name)

    async def partition_count(self, topic: str) -> int:
        return len(self._topic(topic))

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        now_ms = int(time.time() * 1000)
        source = self.source
        limit = self.max_records_per_partition * 1.25
        for message in messages:
            value, headers = message.encode(source)
            topic, key = message.topic, message.key
            if type(topic) is not str:
                topic = str.__str__(topic)  # a plain str, not an enum member (see _Row)
            parts = self._topics.get(topic) or self._topic(topic)
            if message.partition is not None:
                index = message.partition
                if not 0 <= index < len(parts):
                    raise PublishError(f"topic {topic!r} has no partition {index}")
            elif key is None:
                self._keyless += 1
                index = self._keyless % len(parts)
            else:
                index = partition_for(key, len(parts), self._keyless)
            part = parts[index]
            part.append((topic, index, part.next_offset, key, value, tuple(headers), now_ms))
            if len(part) > limit and len(part) > part.trim_at:
                self._trim(topic, index, part)
        for topic, count in Counter(m.topic for m in messages).items():
            PUBLISHED.labels(topic).inc(count)
        # Wake every waiting reader, then arm the event again for the next publish.
        self._data.set()
        self._data = asyncio.Event()

    async def _wait_for_data(self, timeout_s: float) -> None:
        event = self._data
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):  # not wait_for: see pyproject's ruff bans
                await event.wait()

    def subscribe(
        self,
        topics: Sequence[str],
        *,
        group: str,
        on_assigned: PartitionsCallback | None = None,
        on_revoked: PartitionsCallback | None = None,
    ) -> Subscription:
        return MemorySubscription(self, list(topics), group, on_assigned, on_revoked)

    def table(self, topic: str) -> Subscription:
        return MemorySubscription(self, [topic], None, None, None)

    def tail(
        self, topics: Sequence[str], *, from_offsets: Mapping[TopicPartition, int] | None = None
    ) -> Subscription:
        return MemorySubscription(
            self, list(topics), None, None, None, from_offsets=from_offsets or {}, from_end=True
        )

    def _trim(self, topic: str, index: int, part: _Partition) -> None:
        floor = self._uncommitted_from(topic, index)
        part.trim(self.max_records_per_partition, floor)
        part.trim_at = len(part) * 1.25
        if len(part) > self.max_records_per_partition * 1.25:
            # Kept for a group that does not commit (a stuck sink): said each time the
            # partition grows by another quarter, so memory use is never a surprise.
            log.warning(
                "memory bus holds records a consumer group has not committed",
                topic=topic,
                partition=index,
                records=len(part),
                uncommitted_from=floor,
                limit=self.max_records_per_partition,
            )

    def _uncommitted_from(self, topic: str, partition: int) -> int | None:
        """The lowest offset some group still has to commit in this partition (a group
        reading the topic that committed nothing has to commit all); None: no group."""
        floor: int | None = None
        for group in self._groups.values():
            offset = group.committed.get((topic, partition))
            if offset is None and any(topic in m.topics for m in group.members):
                offset = 0
            if offset is not None:
                floor = offset if floor is None else min(floor, offset)
        return floor

    # group coordination -------------------------------------------------------------

    def _group(self, name: str) -> _Group:
        return self._groups.setdefault(name, _Group())

    def _rebalance(self, group: _Group) -> None:
        group.generation += 1
        if not group.members:
            return
        # Member ids in join order, as the broker's sorted ids are on Kafka.
        members = {f"{index:08d}": member for index, member in enumerate(group.members)}
        subscriptions = {mid: set(member.topics) for mid, member in members.items()}
        partitions = {t: range(len(self._topic(t))) for ts in subscriptions.values() for t in ts}
        for mid, tps in copartitioned(subscriptions, partitions).items():
            members[mid]._target = frozenset(tps)

    def end_offset(self, tp: TopicPartition) -> int:
        return self._topic(tp[0])[tp[1]].next_offset


class MemorySubscription(Subscription):
    def __init__(
        self,
        bus: MemoryBus,
        topics: list[str],
        group: str | None,
        on_assigned: PartitionsCallback | None,
        on_revoked: PartitionsCallback | None,
        stall_after_s: float = 60.0,
        *,
        from_offsets: Mapping[TopicPartition, int] | None = None,
        from_end: bool = False,
    ) -> None:
        self.bus = bus
        self._from_offsets = dict(from_offsets or {})
        self._from_end = from_end
        self._first_partition = 0
        self.topics = topics
        self.group_name = group
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._assigned: frozenset[TopicPartition] = frozenset()
        self._target: frozenset[TopicPartition] = frozenset()
        self._positions: dict[TopicPartition, int] = {}
        self._paused: set[TopicPartition] = set()
        self._clock = ProgressClock()
        self._stall_after_s = stall_after_s
        self._running = False

    async def start(self) -> None:
        await self.bus.ensure_topics(self.topics)
        self._running = True
        if self.group_name is None:
            self._target = frozenset(
                (t, p) for t in self.topics for p in range(len(self.bus._topic(t)))
            )
        else:
            group = self.bus._group(self.group_name)
            group.members.append(self)
            self.bus._rebalance(group)
            # Kafka's eager protocol: every member gives up what it loses before anyone
            # takes it, so no partition has two owners and on_revoked precedes on_assigned.
            for member in list(group.members):
                if member is not self:
                    await member._release_lost()
        await self._sync_assignment()

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        if self._on_revoked and self._assigned:
            await self._on_revoked(self._assigned)
        self._assigned = frozenset()
        self._paused.clear()
        if self.group_name is not None:
            group = self.bus._group(self.group_name)
            group.members.remove(self)
            self.bus._rebalance(group)

    async def _release_lost(self) -> None:
        """Give up partitions the last rebalance moved to other members."""
        revoked = self._assigned - self._target
        if not revoked:
            return
        # Still owned while the callback runs, as on Kafka: what it commits counts.
        if self._on_revoked:
            await self._on_revoked(revoked)
        self._assigned = self._assigned - revoked
        for tp in revoked:
            self._positions.pop(tp, None)
            self._paused.discard(tp)

    def _held_by_others(self) -> frozenset[TopicPartition]:
        if self.group_name is None:
            return frozenset()
        group = self.bus._group(self.group_name)
        held: frozenset[TopicPartition] = frozenset()
        for member in group.members:
            if member is not self:
                held |= member._assigned
        return held

    async def _sync_assignment(self) -> None:
        if self._target == self._assigned:
            return
        await self._release_lost()
        # A partition still held by its previous owner is taken on a later poll.
        added = self._target - self._assigned - self._held_by_others()
        if not added:
            return
        for tp in added:
            self._positions[tp] = self._start_position(tp)
        self._assigned = self._assigned | added
        if self._on_assigned:
            await self._on_assigned(added)

    def _start_position(self, tp: TopicPartition) -> int:
        if self.group_name is not None:
            return self.bus._group(self.group_name).committed.get(tp, 0)
        offset = self._from_offsets.get(tp)
        if offset is not None:
            return offset
        return self.bus.end_offset(tp) if self._from_end else 0

    async def getmany(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        if not self._running:
            raise RuntimeError("subscription is not started")
        deadline = time.monotonic() + timeout_s
        while True:
            await self._sync_assignment()
            batch = self._take(max_records)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                self._clock.polled(bool(batch))
                return batch
            await self.bus._wait_for_data(min(remaining, 0.25))

    def _take(self, max_records: int) -> list[Record]:
        """Up to ``max_records``, partitions served in turn as Kafka's fetcher does: each
        gets a fair share first (the first partition rotates between calls), then what is
        left of the batch is filled in the same order."""
        if not self._assigned:
            return []
        tps = sorted(self._assigned - self._paused)
        if not tps:
            return []
        first = self._first_partition % len(tps)
        self._first_partition = first + 1
        order = tps[first:] + tps[:first]
        batch: list[Record] = []
        for share in (max(1, max_records // len(order)), max_records):
            for tp in order:
                room = min(share, max_records - len(batch))
                if room <= 0:
                    break
                part = self.bus._topic(tp[0])[tp[1]]
                got = part.read(self._positions[tp], room)
                if got:
                    self._positions[tp] = got[-1].offset + 1
                    batch.extend(got)
                    CONSUMED.labels(tp[0], self.group_name or "-").inc(len(got))
        return batch

    async def commit_offsets(self, offsets: Mapping[TopicPartition, int]) -> None:
        if self.group_name is None:
            return
        committed = self.bus._group(self.group_name).committed
        for tp, offset in offsets.items():
            if tp in self._assigned:
                committed[tp] = offset

    def _require_assigned(self, tp: TopicPartition) -> None:
        if tp not in self._assigned:
            raise BusError(f"{tp[0]}[{tp[1]}] is not assigned to this reader")

    async def seek(self, tp: TopicPartition, offset: int) -> None:
        self._require_assigned(tp)
        self._positions[tp] = offset

    async def position(self, tp: TopicPartition) -> int:
        self._require_assigned(tp)
        return self._positions[tp]

    async def committed(self, tp: TopicPartition) -> int | None:
        if self.group_name is None:
            return None
        return self.bus._group(self.group_name).committed.get(tp)

    def assignment(self) -> frozenset[TopicPartition]:
        return self._assigned

    async def lag(self) -> int | None:
        return sum(
            max(0, self.bus.end_offset(tp) - self._positions.get(tp, 0)) for tp in self._assigned
        )

    async def partition_lags(self) -> dict[TopicPartition, int | None]:
        return {
            tp: max(0, self.bus.end_offset(tp) - self._positions.get(tp, 0))
            for tp in self._assigned
        }

    def pause(self, tps: Iterable[TopicPartition]) -> None:
        self._paused.update(tp for tp in tps if tp in self._assigned)

    def resume(self, tps: Iterable[TopicPartition]) -> None:
        self._paused.difference_update(tps)

    async def caught_up(self) -> bool:
        await self._sync_assignment()
        return all(self._positions[tp] >= self.bus.end_offset(tp) for tp in self._assigned)

    async def health(self) -> SubscriptionHealth:
        return self._clock.judge(await self.lag(), len(self._assigned), self._stall_after_s)
