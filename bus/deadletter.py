"""Dead letters: a record a consumer could not use, kept whole for replay.

A consumer that meets a record it cannot use (the database refuses a value, an unknown
``ce_type`` or version, a value that does not decode) must neither stop the stream nor
drop the record silently (ARCHITECTURE.md, "Fail closed"). It publishes the record to the
``deadletter`` topic, exactly as it was read, and commits past it only once that publish
is durable:

* key: the original topic (so ``kcat -t deadletter -K: ...`` groups by where it came from);
* value: the original bytes, untouched;
* headers: the original headers (CloudEvents ``ce_*``, trace ids), then ``dlq_reason``,
  ``dlq_topic``, ``dlq_partition``, ``dlq_offset``, ``dlq_consumer``, and ``dlq_key`` (the
  original key, when it had one: the record's own key is the topic, and a replay needs the
  original one to land in the same partition as its vessel's other records).

``replay_of`` turns a dead letter back into the original message (original topic, key,
bytes and headers without the ``dlq_*`` ones); ``replay_dead_letters`` does it for the
whole topic, for ``lookout deadletter replay``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bus.base import Bus, Outgoing, Record
from schemas.topics import Topic

DLQ_PREFIX = "dlq_"
REASON_MAX_CHARS = 1000
"""A reason is a sentence, not a stack trace: anything longer is cut."""


class NotADeadLetterError(ValueError):
    """A record on the dead-letter topic without the headers that say where it came from."""


def dead_letter(
    record: Record, reason: str, consumer: str, *, topic: str = Topic.DEADLETTER
) -> Outgoing:
    """The dead letter of ``record``: its bytes and headers, plus why and where from.
    ``consumer`` names who gave up on it (a consumer group, e.g. ``lookout-store-sink``).
    A record that was itself a dead letter keeps only the newest ``dlq_*`` headers."""
    original = tuple(h for h in record.headers if not h[0].startswith(DLQ_PREFIX))
    headers = (
        *original,
        ("dlq_reason", reason[:REASON_MAX_CHARS].encode()),
        ("dlq_topic", record.topic.encode()),
        ("dlq_partition", str(record.partition).encode()),
        ("dlq_offset", str(record.offset).encode()),
        ("dlq_consumer", consumer.encode()),
    )
    if record.key is not None:
        headers = (*headers, ("dlq_key", record.key.encode()))
    return Outgoing(topic=topic, key=record.topic, payload=None, headers=headers, raw=record.value)


def dlq_header(record: Record, name: str) -> str | None:
    """The value of header ``name`` (e.g. ``dlq_reason``), or None."""
    for key, value in record.headers:
        if key == name:
            return value.decode("utf-8", "replace")
    return None


def replay_of(dead: Record) -> Outgoing:
    """The original message of a dead letter, to publish again where it came from, with
    its original key (``dlq_key``; keyless when it had none) and headers."""
    topic = dlq_header(dead, "dlq_topic")
    if not topic:
        raise NotADeadLetterError(
            f"record at offset {dead.offset} of {dead.topic} has no dlq_topic header"
        )
    key = dlq_header(dead, "dlq_key")
    headers = tuple(h for h in dead.headers if not h[0].startswith(DLQ_PREFIX))
    return Outgoing(topic=topic, key=key, payload=None, headers=headers, raw=dead.value)


@dataclass
class ReplayReport:
    replayed: Counter[str] = field(default_factory=Counter)
    """Records published again, by original topic."""
    not_dead_letters: int = 0
    """Records on the topic without a ``dlq_topic`` header: left where they are."""


async def replay_dead_letters(
    bus: Bus,
    *,
    group: str,
    topic: str = Topic.DEADLETTER,
    batch: int = 500,
    join_timeout_s: float = 60.0,
    on_progress: Callable[[ReplayReport], None] | None = None,
) -> ReplayReport:
    """Publish every dead letter not yet replayed by ``group`` back to its original topic,
    then commit it for ``group``: a second run replays only what arrived since. Each
    batch is durable on its original topics before its offsets are committed, so an
    interrupted replay repeats a batch at worst (consumers are idempotent). The dead
    letters stay in the topic (retention removes them), for the record."""
    report = ReplayReport()
    async with bus.subscribe([topic], group=group) as subscription:
        await subscription.wait_assigned(join_timeout_s)
        while True:
            records = await subscription.getmany(max_records=batch, timeout_s=1.0)
            if not records:
                if await subscription.caught_up():
                    return report
                continue
            replays = []
            for record in records:
                try:
                    replays.append(replay_of(record))
                except NotADeadLetterError:
                    report.not_dead_letters += 1
            await bus.publish_many(replays)
            await subscription.commit(records)
            report.replayed.update(message.topic for message in replays)
            if on_progress is not None:
                on_progress(report)
