"""The direct CloudEvents header path (``headers_for``) is what the validated model writes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import msgspec
import pytest

from schemas import MmsiInfo, PositionReport, RejectReason, RejectRecord, StaticReport
from schemas.envelope import (
    CloudEventAttributes,
    EnvelopeError,
    Event,
    attributes_for,
    event_type_of,
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
    with pytest.raises(ValueError, match="timezone"):
        PositionReport(
            mmsi=1, msg_type=1, event_time=datetime(2026, 1, 1), source="f", mmsi_info=VALID
        )
    naive = PositionReport(
        mmsi=1, msg_type=1, event_time=datetime(2026, 1, 1, tzinfo=UTC), source="f", mmsi_info=VALID
    )
    msgspec.structs.force_setattr(naive, "event_time", datetime(2026, 1, 1))
    with pytest.raises(EnvelopeError, match="timezone"):
        headers_for(naive, source="/x")


def test_a_payload_without_a_type_is_refused() -> None:
    class Untyped(Event):
        n: int

    with pytest.raises(EnvelopeError, match="has no ce_type"):
        headers_for(Untyped(n=1), source="/x")


GOOD = (
    ("ce_specversion", b"1.0"),
    ("ce_id", b"e-1"),
    ("ce_type", b"lookout.ais.position.v1"),
    ("ce_source", b"/ingest/file"),
    ("ce_time", b"2026-03-01T06:30:00.123456Z"),
    ("content-type", b"application/json"),
)


def _with(**changes: bytes | None) -> tuple[tuple[str, bytes], ...]:
    names = {k.replace("_dash_", "-"): v for k, v in changes.items()}
    kept = [(n, names.get(n, v)) for n, v in GOOD if names.get(n, v) is not None]
    extra = [(n, v) for n, v in names.items() if v is not None and n not in dict(GOOD)]
    return tuple((n, v) for n, v in kept + extra if v is not None)


HEADER_CASES = [
    GOOD,
    _with(ce_subject=b"525012345"),
    _with(ce_specversion=None),  # optional: defaults to 1.0
    _with(content_dash_type=None),
    _with(ce_time=b"2026-03-01T14:30:00+08:00"),
    _with(ce_type=b"lookout.nope.v9"),  # unknown types are the decoder's refusal, not this one
    _with(ce_id=None),
    _with(ce_time=None, ce_source=None),
    _with(ce_time=b"yesterday"),
    _with(ce_time=b"2026-03-01T06:30:00"),  # naive
    _with(ce_time=b"\xff\xfe"),
    _with(ce_specversion=b"0.3"),
    _with(ce_type=b"\xffbad"),
]


@pytest.mark.parametrize("headers", HEADER_CASES)
def test_the_read_path_check_accepts_and_refuses_as_the_attributes_model(
    headers: tuple[tuple[str, bytes], ...],
) -> None:
    """``event_type_of`` (the sink's and every consumer's per-record check) gives the type
    exactly where ``CloudEventAttributes.from_headers`` accepts, and its reason where not."""
    for _ in range(2):  # the second pass hits the remembered verdicts
        try:
            expected: str | EnvelopeError = CloudEventAttributes.from_headers(headers).type
        except EnvelopeError as exc:
            expected = exc
        if isinstance(expected, str):
            assert event_type_of(headers) == expected
        else:
            with pytest.raises(EnvelopeError) as refused:
                event_type_of(headers)
            assert str(refused.value) == str(expected)
