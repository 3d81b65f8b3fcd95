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
bytes and headers without the ``dlq_*`` ones), for ``lookout deadletter replay``.
"""

from __future__ import annotations

from bus.base import Outgoing, Record
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
