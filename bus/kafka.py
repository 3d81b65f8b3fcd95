"""The bus over Apache Kafka (aiokafka).

aiokafka's defaults are ``acks=1`` and no idempotence: we set ``acks="all"`` explicitly and
idempotence from settings (on by default; Tansu, used in tests, has no InitProducerId).
Every send's future is awaited, per batch, so a failure is never silent. Records carry no
timestamp of ours: the producer stamps the publish time (CreateTime), so time-based
retention counts from arrival even for an old capture replayed; event time is ``ce_time``.
Connection (TLS, SASL) and topic settings are mapped in ``bus.kafka_config``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import murmur2
from aiokafka.producer.message_accumulator import BatchBuilder

from bus.base import (
    Bus,
    BusError,
    BusUnavailableError,
    Outgoing,
    PartitionsCallback,
    PublishError,
    Subscription,
    TopicPartition,
)
from bus.kafka_assignor import CoPartitionedAssignor
from bus.kafka_config import connection_options, new_topic
from bus.kafka_subscription import KafkaSubscription
from bus.metrics import PUBLISH_FAILURES, PUBLISHED
from bus.settings import BusSettings

_KEY_HASHES_KEPT = 1_000_000
"""Keys (MMSIs) whose murmur2 hash is remembered; the cache starts over beyond that."""


class KafkaBus(Bus):
    def __init__(self, settings: BusSettings, *, source: str = "/lookout") -> None:
        self.settings = settings
        self.source = source
        self._producer: AIOKafkaProducer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._admin_lock = asyncio.Lock()  # readers starting together share one client
        self._key_hashes: dict[bytes, int] = {}

    async def start(self) -> None:
        s = self.settings
        self._producer = AIOKafkaProducer(
            **connection_options(s),
            acks="all",
            enable_idempotence=s.kafka_idempotence,
            linger_ms=s.kafka_linger_ms,
            request_timeout_ms=s.kafka_request_timeout_ms,
            max_batch_size=s.kafka_max_batch_bytes,
            compression_type=None if s.kafka_compression == "none" else s.kafka_compression,
        )
        try:
            await self._producer.start()
        except BaseException as exc:
            producer, self._producer = self._producer, None
            await producer.stop()
            if isinstance(exc, KafkaConnectionError):
                raise BusUnavailableError(
                    f"cannot reach Kafka at {s.kafka_bootstrap} (LOOKOUT_KAFKA_BOOTSTRAP): "
                    f"{type(exc).__name__}"
                ) from exc
            raise

    async def stop(self) -> None:
        if self._admin is not None:
            admin, self._admin = self._admin, None
            await admin.close()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def partitions_of(self, topics: Sequence[str]) -> dict[str, set[int]]:
        """The partitions of ``topics`` now (a missing topic has none), asked of the
        brokers. Only existing topics are described: describing a missing one would
        create it on brokers that auto-create topics (Tansu does)."""
        async with self._admin_lock:
            if self._admin is None:
                admin = AIOKafkaAdminClient(**connection_options(self.settings))
                await admin.start()
                self._admin = admin
        admin = self._admin
        found: dict[str, set[int]] = {topic: set() for topic in topics}
        try:
            existing = set(await admin.list_topics()) & set(topics)
            if existing:
                for described in await admin.describe_topics(sorted(existing)):
                    if described["error_code"] == 0:
                        found[described["topic"]] = {
                            p["partition"] for p in described["partitions"]
                        }
        except KafkaError as exc:
            raise BusError(f"topic metadata unavailable: {exc!r}") from exc
        return found

    async def partition_count(self, topic: str) -> int:
        producer = self._producer
        if producer is None:
            raise PublishError("bus is not started")
        try:
            found = await producer.partitions_for(topic)
        except KafkaError as exc:
            raise BusError(f"topic metadata unavailable: {exc!r}") from exc
        if not found:
            raise BusError(f"topic {topic!r} has no partitions")
        return len(found)

    async def ensure_topics(self, topics: Iterable[str]) -> None:
        admin = AIOKafkaAdminClient(**connection_options(self.settings))
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            wanted = [
                new_topic(name, self.settings)
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
                if message.partition is None:
                    tp = (topic, self._partition_of(key, all_partitions))
                elif message.partition in all_partitions:
                    tp = (topic, message.partition)
                else:
                    raise PublishError(f"topic {topic!r} has no partition {message.partition}")
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
            **connection_options(s),
            group_id=group,
            partition_assignment_strategy=(CoPartitionedAssignor,),
            metadata_max_age_ms=s.kafka_metadata_refresh_ms,
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
        return KafkaSubscription(self, list(topics), group, on_assigned, on_revoked)

    def table(self, topic: str) -> Subscription:
        return KafkaSubscription(self, [topic], None, None, None, from_offsets={})

    def tail(
        self, topics: Sequence[str], *, from_offsets: Mapping[TopicPartition, int] | None = None
    ) -> Subscription:
        return KafkaSubscription(
            self, list(topics), None, None, None, from_offsets=from_offsets, from_end=True
        )


__all__ = ["KafkaBus", "KafkaSubscription"]
