"""A producer upgraded before the sink (the normal rolling order) loses nothing: a v1
event with an added field is stored, a type or version the sink cannot read goes to the
dead-letter topic with the reason, and the rest of the batch is stored."""

from __future__ import annotations

import json

import pytest

from bus.base import Outgoing, Record
from bus.memory import MemoryBus
from schemas.topics import Topic
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.factories import patrol, position
from tests.store.support import count, header, read_topic, records_of

pytestmark = pytest.mark.postgres


def with_value(record: Record, **added: object) -> Record:
    assert record.value is not None
    value = json.dumps(json.loads(record.value) | added).encode()
    return Record(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        value,
        record.headers,
        record.timestamp_ms,
    )


def with_type(record: Record, ce_type: str) -> Record:
    headers = tuple((k, ce_type.encode() if k == "ce_type" else v) for k, v in record.headers)
    return Record(
        record.topic,
        record.partition,
        record.offset,
        record.key,
        record.value,
        headers,
        record.timestamp_ms,
    )


async def test_grown_v1_events_are_stored_and_unknown_versions_dead_lettered(
    db_url: str, store_settings: StoreSettings
) -> None:
    bus = MemoryBus(source="/tests")
    first, second, third, report = records_of(
        [
            Outgoing(Topic.AIS_POSITIONS, "525000001", position(525_000_001, 1, -8.0, 115.0)),
            Outgoing(Topic.AIS_POSITIONS, "525000001", position(525_000_001, 2, -8.1, 115.0)),
            Outgoing(Topic.AIS_POSITIONS, "525000001", position(525_000_001, 3, -8.2, 115.0)),
            Outgoing(Topic.PATROL_REPORTS, "r1", patrol(3)),
        ]
    )
    grown = with_value(first, sea_state="rough", receiver={"gain_db": 3})
    unknown = with_type(with_value(second, sea_state="calm"), "lookout.ais.position.v2")
    sink = StoreSink(bus, store_settings)
    await sink.write_durably([grown, unknown, third, with_value(report, drone_id="d-9")])
    await sink.close()
    assert await count(db_url, "positions") == 2  # the grown v1 and the plain one
    assert await count(db_url, "patrol_reports") == 1
    assert sink.status.dead_lettered == 1 and sink.status.records == 4
    (dead,) = await read_topic(bus, Topic.DEADLETTER, 1)
    assert dead.value == unknown.value and dead.headers[: len(unknown.headers)] == unknown.headers
    assert header(dead, "dlq_reason") == (
        "undecodable: unknown event type 'lookout.ais.position.v2'"
    )
    assert header(dead, "dlq_offset") == "1" and header(dead, "dlq_key") == "525000001"
