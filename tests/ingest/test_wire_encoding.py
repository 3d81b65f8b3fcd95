"""What ingest publishes: the same JSON the pydantic models wrote, headers as the
CloudEvents attributes say, and bytes every reader decodes back to the same event."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.publisher import WireEncoder, outgoing
from schemas.ais import RejectRecord
from schemas.envelope import attributes_for, decode_value, encode_value, headers_for
from tests.ingest.support import CORPORA, decode_all

CORPUS_FILES = [
    CORPORA / "gpsd" / "sample.aivdm",
    CORPORA / "pyais" / "nmea_data_sample.txt",
    CORPORA / "pyais" / "gatehouse.nmea",
]
GOLDEN = CORPORA / "wire" / "pydantic_values.jsonl.gz"
GOLDEN_RECEIVED = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def test_values_are_byte_for_byte_what_the_pydantic_models_wrote() -> None:
    """Readers (sink, fusion, API, anyone's Kafka tool) read the same bytes as before the
    wire events became msgspec Structs. Only a reject's ``detail`` text may differ: it is
    the validator's wording, read by people."""
    written = [
        encode_value(event)
        for path in CORPUS_FILES
        for event in decode_all(path.read_bytes().splitlines(), received_at=GOLDEN_RECEIVED)[0]
    ]
    before = gzip.decompress(GOLDEN.read_bytes()).splitlines()
    assert len(written) == len(before)
    worded = 0
    for now, then in zip(written, before, strict=True):
        if now != then:
            a, b = json.loads(now), json.loads(then)
            assert a.pop("detail") != b.pop("detail") and a == b, now
            worded += 1
    assert worded <= 2  # the corpus's out-of-range base station, nothing else


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_headers_are_the_attributes_and_values_decode_to_the_same_event(path: Path) -> None:
    events, _ = decode_all(path.read_bytes().splitlines())
    assert events
    for i, event in enumerate(events):
        fast = headers_for(event, source="/ingest/test", event_id=f"id-{i}")
        slow = attributes_for(event, source="/ingest/test", event_id=f"id-{i}").to_headers()
        assert fast == slow
        assert decode_value(event.ce_type, encode_value(event), type(event)) == event
        assert isinstance(event, RejectRecord) or event.occurred_at() == event.event_time


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_a_batch_encoded_at_once_is_what_each_event_encodes_to(path: Path) -> None:
    """The publisher's one-loop batch encoding gives each record the topic, key, value and
    headers the event's own ``Outgoing`` encodes to."""
    events, _ = decode_all(path.read_bytes().splitlines())
    ids = [f"id-{i}" for i in range(len(events))]
    batch = WireEncoder("/ingest/test").encode(events, ids)
    assert len(batch) == len(events)
    for sent, event, event_id in zip(batch, events, ids, strict=True):
        one = outgoing(event, event_id)
        assert (sent.topic, sent.key) == (one.topic, one.key)
        assert sent.encode("/ingest/test") == one.encode("/ingest/test")
