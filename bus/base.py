"""The bus: one small publish/subscribe interface, two implementations (Kafka, memory).

Contract, shared by both implementations and checked by ``tests/bus/test_contract.py``:

* ``publish_many`` sends a batch and returns only when every message is durable
  (Kafka: acknowledged by all in-sync replicas). Nothing on the hot path awaits per message.
* Messages with the same key go to the same partition, in order.
* A subscription belongs to a consumer group, yields micro-batches and commits offsets
  only when the caller says its effect is durable: the records it names, or an explicit
  map of next offsets (which may move back). Whatever was delivered but not committed
  is delivered again to the next member that owns the partition (at least once).
* Co-keyed topics (``ais.positions``, ``ais.static``, fusion's internal topics) partition
  together: partition p of every topic a group reads goes to the same member (see
  ``bus.assignment``), so one MMSI's whole story is in one place.
* Per assigned partition a member can ``seek``, read its ``position`` and its group's
  ``committed`` offset (fusion restores its checkpoint offsets that way), see its
  ``partition_lags`` (what the broker holds beyond what was delivered: fusion reads its
  co-keyed inputs in event-time order and waits for a partition only while it has lag),
  and ``pause`` / ``resume`` fetching from it (a bounded buffer per partition).
* ``table`` reads a compacted topic from the beginning, without a group, so every instance
  sees the whole table; the reader reduces by key (last value wins, a tombstone deletes).
  ``tail`` reads topics from their end (or from given offsets), without a group: the live
  part of a stream. Both pick up partitions added to their topics after they started.
* Extra headers travel with the CloudEvents ones. Event time travels in ``ce_time``;
  the record timestamp is the publish time (an old capture replayed into Kafka must not
  fall to time-based retention on arrival).
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self, TypeVar

from schemas.envelope import (
    CloudEventAttributes,
    Payload,
    decode_value,
    encode_value,
    event_type_of,
    headers_for,
)

E = TypeVar("E", bound=Payload)

TopicPartition = tuple[str, int]
"""(topic, partition)"""

PartitionsCallback = Callable[[frozenset[TopicPartition]], Awaitable[None]]


class BusError(RuntimeError):
    """Base of the bus room's errors."""


class BusUnavailableError(BusError):
    """The bus cannot be reached at all (no broker at the configured address): a command
    says so in one line; a service exits and its supervisor starts it again."""


class PublishError(BusError):
    """A message could not be made durable; the caller must not commit its input."""


class CommitError(BusError):
    """Offsets could not be committed (e.g. the partition moved to another member)."""


@dataclass(frozen=True, slots=True)
class Record:
    """One message as read from a topic."""

    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int

    @property
    def is_tombstone(self) -> bool:
        return self.value is None

    @property
    def topic_partition(self) -> TopicPartition:
        return (self.topic, self.partition)

    def attributes(self) -> CloudEventAttributes:
        return CloudEventAttributes.from_headers(self.headers)

    def decode(self, expected: type[E]) -> E:
        """The payload as ``expected``; raises ``EnvelopeError`` with a reason otherwise."""
        if self.value is None:
            raise ValueError("a tombstone has no payload")
        return decode_value(event_type_of(self.headers), self.value, expected)


@dataclass(slots=True)  # not frozen: a frozen init costs ~1 us per message (object.__setattr__)
class Outgoing:
    """A message to publish. ``payload=None`` is a tombstone (delete ``key`` from a table),
    unless ``raw`` holds bytes: then ``raw`` and ``headers`` are sent as they are (the
    dead-letter topic keeps a refused record's original bytes and headers for replay).
    ``headers`` are extra headers passed through after the CloudEvents ones (trace ids).
    ``partition`` sends it to that partition instead of the key's (fusion's watermark
    markers address every partition of its cell topic)."""

    topic: str
    key: str | None
    payload: Payload | None
    event_id: str | None = None
    subject: str | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    raw: bytes | None = None
    partition: int | None = None

    def encode(self, source: str) -> tuple[bytes | None, list[tuple[str, bytes]]]:
        if self.payload is None:
            return self.raw, list(self.headers)
        headers = headers_for(
            self.payload, source=source, event_id=self.event_id, subject=self.subject
        )
        if self.headers:
            headers.extend(self.headers)
        return encode_value(self.payload), headers


@dataclass(slots=True)
class SubscriptionHealth:
    """Is this consumer still making progress? (see aiokafka issue 1154: a consumer whose
    fetcher died keeps "running" while fetching nothing, with lag growing behind it)."""

    alive: bool
    reason: str = "ok"
    lag: int | None = None
    seconds_since_records: float | None = None
    seconds_since_poll: float | None = None
    assigned: int = 0


@dataclass(slots=True)
class ProgressClock:
    """Remembers when a subscription last polled and last received records."""

    started: float = field(default_factory=time.monotonic)
    last_poll: float | None = None
    last_records: float | None = None

    def polled(self, got_records: bool) -> None:
        now = time.monotonic()
        self.last_poll = now
        if got_records:
            self.last_records = now

    def judge(self, lag: int | None, assigned: int, stall_after_s: float) -> SubscriptionHealth:
        now = time.monotonic()
        since_records = now - (self.last_records or self.started)
        since_poll = None if self.last_poll is None else now - self.last_poll
        health = SubscriptionHealth(
            alive=True,
            lag=lag,
            seconds_since_records=since_records,
            seconds_since_poll=since_poll,
            assigned=assigned,
        )
        if lag and since_records > stall_after_s:
            health.alive = False
            health.reason = f"{lag} messages behind and nothing received for {since_records:.0f}s"
        elif since_poll is not None and since_poll > stall_after_s * 4:
            health.alive = False
            health.reason = f"the consumer has not polled for {since_poll:.0f}s"
        return health


class _StartStop(ABC):
    """``async with`` starts and stops: shared by buses and subscriptions."""

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class Subscription(_StartStop):
    """A consumer-group member that yields micro-batches and commits explicitly.
    ``stop`` leaves the group without committing: what was not committed is redelivered."""

    @abstractmethod
    async def getmany(self, max_records: int = 500, timeout_s: float = 1.0) -> list[Record]:
        """The next micro-batch (possibly empty after ``timeout_s``), in offset order per
        partition."""

    async def commit(self, records: Sequence[Record]) -> None:
        """Mark ``records`` as done: their partitions resume after the last of them. Call
        only once their effect is durable. Partitions no longer assigned are skipped: their
        records will be redelivered to the new owner. A no-op without a group."""
        await self.commit_offsets(offsets_after(records))

    @abstractmethod
    async def commit_offsets(self, offsets: Mapping[TopicPartition, int]) -> None:
        """Commit the next offset to read per partition, as given: it may move back (a
        checkpoint restored). Partitions not assigned are skipped; a no-op without a
        group. Raises ``CommitError`` when the group refuses (rebalanced meanwhile)."""

    @abstractmethod
    async def seek(self, tp: TopicPartition, offset: int) -> None:
        """Deliver ``tp`` from ``offset`` on. Raises ``BusError`` if ``tp`` is not assigned."""

    @abstractmethod
    async def position(self, tp: TopicPartition) -> int:
        """The offset of the next record ``getmany`` delivers from ``tp`` (assigned only)."""

    @abstractmethod
    async def committed(self, tp: TopicPartition) -> int | None:
        """The group's committed offset of ``tp`` (None: nothing committed, or no group)."""

    @abstractmethod
    def assignment(self) -> frozenset[TopicPartition]: ...

    @abstractmethod
    async def lag(self) -> int | None:
        """Messages between this member's positions and the ends of its partitions."""

    @abstractmethod
    async def partition_lags(self) -> dict[TopicPartition, int | None]:
        """Per assigned partition, how many records the broker holds beyond what
        ``getmany`` has delivered (its end minus ``position``); None while that is not
        known (Kafka: no fetch answer for the partition yet, so its end is unknown).
        Kafka Streams' ``max.task.idle.ms`` = 0 rule (KIP-695) reads the same figure: an
        empty input with no lag holds nothing up, one with lag is waited for."""

    @abstractmethod
    def pause(self, tps: Iterable[TopicPartition]) -> None:
        """Fetch nothing more from ``tps`` until ``resume`` (assignment unchanged; records
        already delivered stay delivered). Unassigned partitions are ignored."""

    @abstractmethod
    def resume(self, tps: Iterable[TopicPartition]) -> None:
        """Fetch from ``tps`` again after ``pause``."""

    @abstractmethod
    async def health(self) -> SubscriptionHealth: ...

    @abstractmethod
    async def caught_up(self) -> bool:
        """True when every assigned partition has been read to its end."""

    async def wait_assigned(self, timeout_s: float = 30.0) -> frozenset[TopicPartition]:
        """Wait until the group has given this member partitions (joins run in the
        background: on Tansu a first join takes seconds, so tests wait, never sleep)."""
        deadline = time.monotonic() + timeout_s
        while not self.assignment():
            if time.monotonic() > deadline:
                raise BusError(f"no partitions assigned within {timeout_s}s")
            await asyncio.sleep(0.05)
        return self.assignment()

    async def batches(
        self, max_records: int = 500, timeout_s: float = 1.0
    ) -> AsyncIterator[list[Record]]:
        """Non-empty micro-batches, forever."""
        while True:
            batch = await self.getmany(max_records=max_records, timeout_s=timeout_s)
            if batch:
                yield batch


def offsets_after(records: Iterable[Record]) -> dict[TopicPartition, int]:
    """The next offset to read per partition after ``records`` (what Kafka commits)."""
    nxt: dict[TopicPartition, int] = {}
    for record in records:
        tp = record.topic_partition
        if record.offset + 1 > nxt.get(tp, -1):
            nxt[tp] = record.offset + 1
    return nxt


class Bus(_StartStop):
    """Publish events and subscribe to topics. ``source`` names this producer in ce_source."""

    source: str

    @abstractmethod
    async def ensure_topics(self, topics: Iterable[str]) -> None:
        """Create topics that do not exist (compacted ones with cleanup.policy=compact)."""

    @abstractmethod
    async def partition_count(self, topic: str) -> int:
        """How many partitions ``topic`` has (it must exist)."""

    @abstractmethod
    async def publish_many(self, messages: Sequence[Outgoing]) -> None:
        """Send all, then wait for all acknowledgements. Raises ``PublishError``."""

    async def publish(
        self, topic: str, key: str | None, payload: Payload | None, *, event_id: str | None = None
    ) -> None:
        """Publish one message (``publish_many`` is the batch path)."""
        await self.publish_many([Outgoing(topic, key, payload, event_id=event_id)])

    @abstractmethod
    def subscribe(
        self,
        topics: Sequence[str],
        *,
        group: str,
        on_assigned: PartitionsCallback | None = None,
        on_revoked: PartitionsCallback | None = None,
    ) -> Subscription:
        """A member of consumer group ``group``; new groups start at the earliest offset.
        ``on_revoked`` runs before partitions move away, while they are still this
        member's (flush and commit there: those commits count);
        ``on_assigned`` after new ones arrive (load checkpoints there)."""

    @abstractmethod
    def table(self, topic: str) -> Subscription:
        """Read all partitions of a compacted topic from the beginning, without a group.
        ``commit`` is a no-op; use ``bus.table_reader.TableReader`` to reduce by key."""

    @abstractmethod
    def tail(
        self, topics: Sequence[str], *, from_offsets: Mapping[TopicPartition, int] | None = None
    ) -> Subscription:
        """Read ``topics`` without a group: each partition from ``from_offsets`` when given,
        else from its end at ``start``; a partition added later is read from its beginning
        (all of it is new). ``commit`` is a no-op; ``seek`` moves the reader."""
