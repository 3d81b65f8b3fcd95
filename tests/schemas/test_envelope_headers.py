"""The direct CloudEvents header path (``headers_for``) is what the validated model writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from schemas import MmsiInfo, PositionReport, RejectReason, RejectRecord, StaticReport
from schemas.envelope import (
    CloudEventAttributes,
    EnvelopeError,
    Event,
    attributes_for,
    headers_for,
    new_event_id,
)

T0 = datetime(2026, 3, 1, 6, 30, 0, 123456, tzinfo=UTC)
VALID = MmsiInfo(valid=True)


def payloads() -> list[Event]:
    return [
        PositionReport(
            mmsi=525_012_345,
            msg_type=1,
            event_time=T0,
            lat=-8.7,
            lon=115.2,
            source="f",
            mmsi_info=VALID,
        ),
        PositionReport(
            mmsi=1,
            msg_type=18,
            event_time=datetime(2026, 1, 1, tzinfo=UTC),
            source="f",
            mmsi_info=VALID,
        ),
        StaticReport(
            mmsi=2,
            msg_type=5,
            source="f",
            mmsi_info=VALID,
            event_time=datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))),
        ),
        RejectRecord(
            source="f",
            reason=RejectReason.CHECKSUM,
            detail="x",
            raw=["!AIVDM"],
            received_at=T0 + timedelta(microseconds=1),
        ),
    ]


@pytest.mark.parametrize("subject", [None, "525012345"])
@pytest.mark.parametrize("source", ["/ingest/file", "/lookout"])
def test_direct_headers_are_byte_identical_to_the_validated_attributes(
    source: str, subject: str | None
) -> None:
    for payload in payloads() * 2:  # twice: the second pass hits the caches
        fast = headers_for(payload, source=source, event_id="e-1", subject=subject)
        slow = attributes_for(payload, source=source, event_id="e-1", subject=subject)
        assert fast == slow.to_headers()
        assert CloudEventAttributes.from_headers(fast) == slow


def test_default_ids_are_unique_well_formed_uuids() -> None:
    payload = payloads()[0]
    ids = [dict(headers_for(payload, source="/x"))["ce_id"].decode() for _ in range(10_000)]
    ids += [new_event_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:50] + ids[-50:]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_an_event_time_without_a_zone_is_refused() -> None:
    naive = PositionReport.model_construct(
        mmsi=1, msg_type=1, event_time=datetime(2026, 1, 1), source="f", mmsi_info=VALID
    )
    with pytest.raises(EnvelopeError, match="timezone"):
        headers_for(naive, source="/x")


def test_a_payload_without_a_type_is_refused() -> None:
    class Untyped(Event):
        n: int

    with pytest.raises(EnvelopeError, match="has no ce_type"):
        headers_for(Untyped(n=1), source="/x")
