"""What ingest publishes is byte-for-byte what the models say, on every corpus event."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.envelope import attributes_for, encode_value, headers_for
from tests.ingest.support import CORPORA, decode_all

CORPUS_FILES = [
    CORPORA / "gpsd" / "sample.aivdm",
    CORPORA / "pyais" / "nmea_data_sample.txt",
    CORPORA / "pyais" / "gatehouse.nmea",
]


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_values_and_headers_are_what_the_validated_models_write(path: Path) -> None:
    events, _ = decode_all(path.read_bytes().splitlines())
    assert events
    for i, event in enumerate(events):
        assert encode_value(event) == event.model_dump_json().encode()
        fast = headers_for(event, source="/ingest/test", event_id=f"id-{i}")
        slow = attributes_for(event, source="/ingest/test", event_id=f"id-{i}").to_headers()
        assert fast == slow
