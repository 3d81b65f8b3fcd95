"""Dead letters on the real broker: what the sink cannot store (a value the database
refuses, a version it does not know) reaches the dead-letter topic with its original bytes
and headers, and the stream goes on."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bus.base import Outgoing
from bus.kafka import KafkaBus
from bus.settings import BusSettings
from schemas.topics import Topic
from store.decode import SINK_TOPICS
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.factories import patrol, position
from tests.store.support import count, header, read_topic, wait_for


@pytest.mark.kafka
@pytest.mark.postgres
def newer_version(message: Outgoing) -> Outgoing:
    """``message`` as a producer of a version the sink does not know would send it."""
    value, headers = message.encode("/tests")
    v2 = tuple((k, b"lookout.ais.position.v2" if k == "ce_type" else v) for k, v in headers)
    return Outgoing(message.topic, message.key, None, headers=v2, raw=value)


async def test_the_sink_dead_letters_what_it_cannot_store_on_kafka_and_goes_on(
    kafka_settings: BusSettings, db_url: str, store_settings: StoreSettings, unique: str
) -> None:
    topics = {t: f"{t.value}.dlq.{unique}" for t in (*SINK_TOPICS, Topic.DEADLETTER)}
    bus = KafkaBus(kafka_settings, source="/tests")
    await bus.start()
    try:
        await bus.ensure_topics(topics.values())
        poisoned = patrol(4, notes="seen at dawn\x00")  # PostgreSQL text cannot hold NUL
        messages = [
            Outgoing(topics[Topic.AIS_POSITIONS], "525000001", position(525_000_001, 1, -8, 115)),
            Outgoing(topics[Topic.PATROL_REPORTS], "r4", poisoned, headers=(("trace", b"t-1"),)),
            Outgoing(topics[Topic.PATROL_REPORTS], "r5", patrol(5)),
            Outgoing(topics[Topic.AIS_POSITIONS], "525000001", position(525_000_001, 2, -8, 115)),
            newer_version(
                Outgoing(
                    topics[Topic.AIS_POSITIONS], "525000009", position(525_000_009, 3, -8, 115)
                )
            ),
        ]
        await bus.publish_many(messages)
        settings = store_settings.model_copy(update={"sink_group": f"dlq-{unique}"})
        sink = StoreSink(bus, settings, topics=topics)
        task = asyncio.create_task(sink.run())
        try:

            async def handled() -> bool:
                assert not task.done(), task.exception()
                return sink.status.records == len(messages)

            await wait_for(handled, 60, "the sink to handle every record")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert sink.status.dead_lettered == 2
        assert await count(db_url, "positions") == 2
        assert await count(db_url, "patrol_reports") == 1

        letters = await read_topic(bus, topics[Topic.DEADLETTER], 2, timeout_s=60)
        by_key = {header(d, "dlq_key"): d for d in letters}
        unknown = by_key["525000009"]
        assert unknown.key == topics[Topic.AIS_POSITIONS] and unknown.value == messages[4].raw
        assert unknown.headers[: len(messages[4].headers)] == messages[4].headers
        assert header(unknown, "dlq_reason") == (
            "undecodable: unknown event type 'lookout.ais.position.v2'"
        )
        dead = by_key["r4"]
        assert dead.key == topics[Topic.PATROL_REPORTS]
        original_value, _ = messages[1].encode("/tests")
        assert dead.value == original_value
        assert header(dead, "ce_type") == "lookout.patrol.report.v1"
        assert header(dead, "trace") == "t-1" and header(dead, "dlq_key") == "r4"
        assert header(dead, "dlq_topic") == topics[Topic.PATROL_REPORTS]
        assert header(dead, "dlq_consumer") == settings.sink_group
        assert "NUL" in (header(dead, "dlq_reason") or "")
        assert int(header(dead, "dlq_offset") or -1) >= 0
    finally:
        await bus.stop()
