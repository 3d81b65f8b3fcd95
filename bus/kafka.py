"""The bus over Apache Kafka (aiokafka).

aiokafka's defaults are ``acks=1`` and no idempotence: we set ``acks="all"`` explicitly and
idempotence from settings (on by default; Tansu, used in tests, has no InitProducerId).
Every send's future is awaited, per batch, so a failure is never silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from aiokafka.structs import OffsetAndMetadata
from aiokafka.structs import TopicPartition as KafkaTP

from bus.base import (
    Bus,
    CommitError,
    Outgoing,
    PartitionsCallback,
    ProgressClock,
    PublishError,
    Record,
    Subscription,
    SubscriptionHealth,
    TopicPartition,
    offsets_after,
)
from bus.metrics import CONSUMED, LAG, PUBLISH_FAILURES, PUBLISHED
from bus.settings import BusSettings
from schemas.topics import COMPACTED_TOPICS

_KEY_HASHES_KEPT = 1_000_000
"""Keys (MMSIs) whose murmur2 hash is remembered; the cache starts over beyond that."""


class KafkaBus(Bus):
    def __init__(self, settings: BusSettings, *, source: str = "/lookout") -> None:
        self.settings = settings
        self.source = source
        self._producer: AIOKafkaProducer | None = None
        self._key_hashes: dict[bytes, int] = {}

    async def start(self) -> None:
        s = self.settings
        self._producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap,
            client_id=s.kafka_client_id,
            acks="all",
            enable_idempotence=s.kafka_idempotence,
            linger_ms=s.kafka_linger_ms,
            request_timeout_ms=s.kafka_request_timeout_ms,
            max_batch_size=s.kafka_max_batch_bytes,
            compression_type=None if s.kafka_compression == "none" else s.kafka_compression,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, topics: Iterable[str]) -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap, client_id=self.settings.kafka_client_id
        )
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [
                NewTopic(
                    name=name,
                    num_partitions=self.settings.partitions,
                    replication_factor=self.settings.replication_factor,
                    topic_configs={"cleanup.policy": "compact"} if name in COMPACTED_TOPICS else {},
                )
                for name in dict.fromkeys(topics)
                if name not in existing
            ]
            if wanted:
                # Another instance may have created it first.
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(wanted)
        finally:
            await admin.close()

    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """Fill one record batch per partition (aiokafka's ``create_batch``), hand each to
        the producer when full and at the end, then await every batch's acknowledgement
        (acks=all). Partitions are chosen as aiokafka's default partitioner would (murmur2
        of the key; keyless at random), so a key keeps its partition and its order."""
        producer = self._producer
        if producer is None:
            raise PublishError("bus is not started")
        futures: list[asyncio.Future[object]] = []
        builders: dict[TopicPartition, BatchBuilder] = {}
        partitions: dict[str, list[int]] = {}
        try:
            for message in messages:
                topic = message.topic
                value, headers = message.encode(self.source)
                key = None if message.key is None else message.key.encode()
                all_partitions = partitions.get(topic)
                if all_partitions is None:
                    all_partitions = sorted(await producer.partitions_for(topic))
                    if not all_partitions:
                        raise PublishError(f"topic {topic!r} has no partitions")
                    partitions[topic] = all_partitions
                tp = (topic, self._partition_of(key, all_partitions))
                builder = builders.get(tp)
                if builder is None:
                    builder = builders[tp] = producer.create_batch()
                if builder.append(timestamp=None, key=key, value=value, headers=headers) is None:
                    # Full: queue it (this waits only if the partition's previous batch
                    # has not been drained yet) and start the next one.
                    futures.append(await producer.send_batch(builder, tp[0], partition=tp[1]))
                    builder = builders[tp] = producer.create_batch()
                    if not builder.append(timestamp=None, key=key, value=value, headers=headers):
                        raise PublishError(f"a message to {topic} is larger than a batch")
            for (topic, partition), builder in builders.items():
                futures.append(await producer.send_batch(builder, topic, partition=partition))
            await asyncio.gather(*futures)
        except KafkaError as exc:
            for topic in {m.topic for m in messages}:
                PUBLISH_FAILURES.labels(topic).inc()
            raise PublishError(f"publish failed: {exc!r}") from exc
        for topic, count in Counter(m.topic for m in messages).items():
            PUBLISHED.labels(topic).inc(count)

    def _partition_of(self, key: bytes | None, all_partitions: list[int]) -> int:
        if key is None:
            return random.choice(all_partitions)
        hashed = self._key_hashes.get(key)
        if hashed is None:
            if len(self._key_hashes) >= _KEY_HASHES_KEPT:
                self._key_hashes.clear()
            hashed = self._key_hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]

    def _consumer(self, group: str | None) -> AIOKafkaConsumer:
        s = self.settings
        return AIOKafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            client_id=s.kafka_client_id,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=s.kafka_session_timeout_ms,
            heartbeat_interval_ms=s.kafka_heartbeat_interval_ms,
            max_poll_interval_ms=s.kafka_max_poll_interval_ms,
        )

    def subscribe(
        self,
        topics: Sequence[str],
        *,
        group: str,
        on_assigned: PartitionsCallback | None = None,
        on_revoked: PartitionsCallback | None = None,
    ) -> Subscription:
        return KafkaSubscription(
            self, list(topics), group, on_assigned, on_revoked, self.settings.stall_after_s
        )

    def table(self, topic: str) -> Subscription:
        return KafkaSubscription(self, [topic], None, None, None, self.settings.stall_after_s)


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, owner: KafkaSubscription) -> None:
        self.owner = owner

    async def on_partitions_revoked(self, revoked: set[KafkaTP]) -> None:
        for tp in revoked:  # a later owner's offsets, not ours, count from now on
            self.owner._delivered.pop((tp.topic, tp.partition), None)
        if self.owner._stopping:
            return  # stop() already told the owner
        tps = frozenset((tp.topic, tp.partition) for tp in revoked)
        if tps and self.owner.on_revoked:
            await self.owner.on_revoked(tps)

    async def on_partitions_assigned(self, assigned: set[KafkaTP]) -> None:
        tps = frozenset((tp.topic, tp.partition) for tp in assigned)
        if tps and self.owner.on_assigned:
            await self.owner.on_assigned(tps)


class KafkaSubscription(Subscription):
    def __init__(
        self,
        bus: KafkaBus,
        topics: list[str],
        group: str | None,
        on_assigned: PartitionsCallback | None,
        on_revoked: PartitionsCallback | None,
        stall_after_s: float,
    ) -> None:
        self.bus = bus
        self.topics = topics
        self.group = group
        self.on_assigned = on_assigned
        self.on_revoked = on_revoked
        self._consumer: AIOKafkaConsumer | None = None
        self._delivered: dict[TopicPartition, int] = {}
        self._clock = ProgressClock()
        self._stall_after_s = stall_after_s
        self._stopping = False

    async def start(self) -> None:
        self._stopping = False
        await self.bus.ensure_topics(self.topics)
        consumer = self.bus._consumer(self.group)
        await consumer.start()
        if self.group is None:
            # A table: every partition, from the beginning, no group, no commits.
            partitions = []
            for topic in self.topics:
                for p in sorted(consumer.partitions_for_topic(topic) or ()):
                    partitions.append(KafkaTP(topic, p))
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
        else:
            consumer.subscribe(self.topics, listener=_Listener(self))
        self._consumer = consumer

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

    async def getmany(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        consumer = self._require()
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
                self._delivered[(tp.topic, tp.partition)] = messages[-1].offset + 1
                CONSUMED.labels(tp.topic, self.group or "-").inc(len(messages))
        self._clock.polled(bool(batch))
        return batch

    async def commit(self, records: Sequence[Record] | None = None) -> None:
        if self.group is None:
            return
        consumer = self._require()
        offsets = offsets_after(records) if records is not None else dict(self._delivered)
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
        except CommitFailedError as exc:
            raise CommitError(f"commit failed (group rebalanced?): {exc}") from exc

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

    async def health(self) -> SubscriptionHealth:
        consumer = self._require()
        # aiokafka issue 1154: the fetch task can die while the consumer looks alive.
        fetch_task = getattr(getattr(consumer, "_fetcher", None), "_fetch_task", None)
        if fetch_task is not None and fetch_task.done():
            return SubscriptionHealth(alive=False, reason="the fetcher task has stopped")
        return self._clock.judge(await self.lag(), len(self.assignment()), self._stall_after_s)

    async def caught_up(self) -> bool:
        """True when every assigned partition has been read to its high-water mark."""
        consumer = self._require()
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None or await consumer.position(tp) < high:
                return False
        return True
