"""A subscription over aiokafka: a consumer-group member, or a reader without a group (a
table from the beginning, a live tail from the end).

aiokafka does not follow partition growth for manually assigned partitions, and its own
group-less subscription re-assigns every partition on a metadata change, losing positions.
The readers without a group therefore ask the brokers for their topics' partitions every
``kafka_metadata_refresh_ms`` and add what appeared (a partition, or a topic created after
the reader started) while keeping the positions they had. They create no topics: a reader
of a topic that does not exist yet waits for it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata
from aiokafka.structs import TopicPartition as KafkaTP

from bus.base import (
    BusError,
    CommitError,
    PartitionsCallback,
    ProgressClock,
    Record,
    Subscription,
    SubscriptionHealth,
    TopicPartition,
)
from bus.metrics import CONSUMED, LAG

if TYPE_CHECKING:
    from bus.kafka import KafkaBus

log = structlog.get_logger(__name__)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: KafkaSubscription) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[KafkaTP]) -> None:
        if self.owner._stopping:
            return  # stop() already told the owner
        tps = frozenset((tp.topic, tp.partition) for tp in revoked)
        if tps and self.owner.on_revoked:
            await self.owner.on_revoked(tps)

    async def on_partitions_assigned(self, assigned: set[KafkaTP]) -> None:
        self.owner._assigned_at = time.time()
        tps = frozenset((tp.topic, tp.partition) for tp in assigned)
        if tps and self.owner.on_assigned:
            await self.owner.on_assigned(tps)


class KafkaSubscription(Subscription):
    """``group`` set: a group member. ``group`` None: every partition of ``topics``, from
    ``from_offsets`` where given, else from the end (``from_end``) or the beginning."""

    def __init__(
        self,
        bus: KafkaBus,
        topics: list[str],
        group: str | None,
        on_assigned: PartitionsCallback | None = None,
        on_revoked: PartitionsCallback | None = None,
        *,
        from_offsets: Mapping[TopicPartition, int] | None = None,
        from_end: bool = False,
    ) -> None:
        self.bus = bus
        self.topics = topics
        self.group = group
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self._from_offsets = dict(from_offsets or {})
        self._from_end = from_end
        self._consumer: AIOKafkaConsumer | None = None
        self._clock = ProgressClock()
        self._stall_after_s = bus.settings.stall_after_s
        self._refresh_s = bus.settings.kafka_metadata_refresh_ms / 1000
        self._next_refresh = 0.0
        self._assigned_at = time.time()
        """Wall-clock time of the last assignment: brokers silent since then count too."""
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        self._clock = ProgressClock()
        self._assigned_at = time.time()
        if self.group is not None:
            await self.bus.ensure_topics(self.topics)
        consumer = self.bus._consumer(self.group)
        await consumer.start()
        self._consumer = consumer
        if self.group is None:
            partitions = await self._partitions_now()
            consumer.assign(partitions)
            await self._start_at(partitions, from_end=self._from_end)
        else:
            consumer.subscribe(self.topics, listener=_Listener(self))

    async def _partitions_now(self) -> list[KafkaTP]:
        self._next_refresh = time.monotonic() + self._refresh_s
        found = await self.bus.partitions_of(self.topics)
        return [KafkaTP(topic, p) for topic in self.topics for p in sorted(found[topic])]

    async def _start_at(self, partitions: Sequence[KafkaTP], *, from_end: bool) -> None:
        consumer = self._require()
        rest = []
        for tp in partitions:
            offset = self._from_offsets.get((tp.topic, tp.partition))
            if offset is None:
                rest.append(tp)
            else:
                consumer.seek(tp, offset)
        if rest and from_end:
            await consumer.seek_to_end(*rest)
            await self._settle_at_highwater(rest)
        elif rest:
            await consumer.seek_to_beginning(*rest)

    async def _settle_at_highwater(self, partitions: Sequence[KafkaTP]) -> None:
        """Move to each partition's high-water mark as the first fetch reports it. Kafka's
        ListOffsets (``seek_to_end``) already gives the end; Tansu gives the start of the
        last record batch, which would deliver that batch again. Records fetched here
        predate the reader's start and are not delivered."""
        consumer = self._require()
        deadline = time.monotonic() + 30
        while any(consumer.highwater(tp) is None for tp in partitions):
            if time.monotonic() > deadline:
                raise BusError(f"no fetch answer for {sorted(partitions)} within 30s")
            await consumer.getmany(*partitions, timeout_ms=200)
        for tp in partitions:
            high = consumer.highwater(tp)
            if high is not None and await consumer.position(tp) < high:
                consumer.seek(tp, high)

    async def _follow_new_partitions(self) -> None:
        """A reader without a group takes partitions added to its topics, from their
        beginning (everything in them arrived after it started), keeping its positions."""
        if time.monotonic() < self._next_refresh:
            return
        consumer = self._require()
        current = consumer.assignment()
        try:
            found = await self._partitions_now()
        except BusError as exc:  # the next refresh tries again; fetching goes on meanwhile
            log.warning("partition refresh failed", topics=self.topics, reason=str(exc))
            return
        grown = [tp for tp in found if tp not in current]
        if not grown:
            return
        positions = {tp: await consumer.position(tp) for tp in current}
        consumer.assign([*current, *grown])
        for tp, offset in positions.items():
            consumer.seek(tp, offset)
        await self._start_at(grown, from_end=False)

    async def stop(self) -> None:
        if self._consumer is not None:
            # aiokafka does not call on_partitions_revoked when leaving: do it here, so a
            # caller can flush and commit before its partitions go to another member.
            self._stopping = True
            assigned = self.assignment()
            if assigned and self.on_revoked:
                await self.on_revoked(assigned)
            consumer, self._consumer = self._consumer, None
            await consumer.stop()

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("subscription is not started")
        return self._consumer

    def _assigned(self, tp: TopicPartition) -> KafkaTP:
        ktp = KafkaTP(*tp)
        if ktp not in self._require().assignment():
            raise BusError(f"{tp[0]}[{tp[1]}] is not assigned to this reader")
        return ktp

    async def getmany(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        consumer = self._require()
        if self.group is None:
            await self._follow_new_partitions()
        fetched = await consumer.getmany(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        batch: list[Record] = []
        for tp, messages in fetched.items():
            for m in messages:
                batch.append(
                    Record(
                        topic=m.topic,
                        partition=m.partition,
                        offset=m.offset,
                        key=None if m.key is None else m.key.decode("utf-8", "replace"),
                        value=m.value,
                        headers=tuple(m.headers or ()),
                        timestamp_ms=m.timestamp,
                    )
                )
            if messages:
                CONSUMED.labels(tp.topic, self.group or "-").inc(len(messages))
        self._clock.polled(bool(batch))
        return batch

    async def commit_offsets(self, offsets: Mapping[TopicPartition, int]) -> None:
        if self.group is None:
            return
        consumer = self._require()
        assigned = self.assignment()
        to_commit = {
            KafkaTP(t, p): OffsetAndMetadata(offset, "")
            for (t, p), offset in offsets.items()
            if (t, p) in assigned
        }
        if not to_commit:
            return
        try:
            await consumer.commit(to_commit)
        except (CommitFailedError, IllegalStateError) as exc:
            raise CommitError(f"commit failed (group rebalanced?): {exc}") from exc

    async def seek(self, tp: TopicPartition, offset: int) -> None:
        self._require().seek(self._assigned(tp), offset)

    async def position(self, tp: TopicPartition) -> int:
        return int(await self._require().position(self._assigned(tp)))

    async def committed(self, tp: TopicPartition) -> int | None:
        if self.group is None:
            return None
        try:
            offset = await self._require().committed(KafkaTP(*tp))
        except KafkaError as exc:
            raise BusError(f"committed offset of {tp[0]}[{tp[1]}] unavailable: {exc}") from exc
        return None if offset is None else int(offset)

    def assignment(self) -> frozenset[TopicPartition]:
        if self._consumer is None:
            return frozenset()
        return frozenset((tp.topic, tp.partition) for tp in self._consumer.assignment())

    async def lag(self) -> int | None:
        # highwater() comes with each fetch response; end_offsets() is wrong on Tansu
        # (it returns the start of the last batch), so it is not used here.
        consumer = self._require()
        total = 0
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                return None
            total += max(0, high - await consumer.position(tp))
        if self.group:
            LAG.labels(self.group).set(total)
        return total

    async def partition_lags(self) -> dict[TopicPartition, int | None]:
        # highwater() is the end the latest fetch answer gave (Tansu's end_offsets() is
        # not the end); position() is what getmany has handed out, not what the fetcher
        # has buffered ahead, so records fetched but not yet returned count as lag.
        consumer = self._require()
        lags: dict[TopicPartition, int | None] = {}
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            lags[(tp.topic, tp.partition)] = (
                None if high is None else max(0, high - await consumer.position(tp))
            )
        return lags

    def pause(self, tps: Iterable[TopicPartition]) -> None:
        consumer = self._require()
        assigned = consumer.assignment()
        consumer.pause(*[tp for tp in (KafkaTP(*t) for t in tps) if tp in assigned])

    def resume(self, tps: Iterable[TopicPartition]) -> None:
        consumer = self._require()
        assigned = consumer.assignment()
        consumer.resume(*[tp for tp in (KafkaTP(*t) for t in tps) if tp in assigned])

    async def health(self) -> SubscriptionHealth:
        """Down when behind and not receiving, when the caller stopped polling, or when no
        fetch response came from the brokers for ``stall_after_s`` while no records came
        either. The last covers aiokafka issue 1154 (the fetcher dies while the consumer
        looks alive) and a lost connection alike: both are seen as the silence of the
        brokers, read from aiokafka's public ``last_poll_timestamp``."""
        consumer = self._require()
        assigned = consumer.assignment()
        health = self._clock.judge(await self.lag(), len(assigned), self._stall_after_s)
        if not health.alive or not assigned:
            return health
        answers = [consumer.last_poll_timestamp(tp) for tp in assigned]
        last_answer_s = max((a / 1000 for a in answers if a is not None), default=0.0)
        silent_s = time.time() - max(last_answer_s, self._assigned_at)
        received_s = health.seconds_since_records or 0.0
        if min(silent_s, received_s) > self._stall_after_s:
            health.alive = False
            health.reason = f"no fetch response from the brokers for {silent_s:.0f}s"
        return health

    async def caught_up(self) -> bool:
        """True when every assigned partition has been read to its high-water mark."""
        consumer = self._require()
        if self.group is None:
            await self._follow_new_partitions()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None or await consumer.position(tp) < high:
                return False
        return True
