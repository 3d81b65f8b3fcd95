"""Readers are tolerant, writers strict: a v1 event with fields this version does not know
(a producer upgraded first) is read; building one with an unknown field still fails."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
import pytest

from bus.base import Outgoing, Record
from schemas import MmsiInfo, PositionReport
from schemas.alerts import Alert, AlertRule, Severity
from schemas.envelope import EnvelopeError

T0 = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)


def grown(message: Outgoing, **added: object) -> Record:
    """The record ``message`` becomes once its producer adds fields (at the top level, or
    inside a nested object when ``added`` maps a field to a dict of additions)."""
    value, headers = message.encode("/tests")
    assert value is not None
    data = json.loads(value)
    for name, extra in added.items():
        if isinstance(extra, dict) and isinstance(data.get(name), dict):
            data[name] |= extra
        else:
            data[name] = extra
    return Record(message.topic, 0, 0, message.key, json.dumps(data).encode(), tuple(headers), 0)


def report() -> PositionReport:
    return PositionReport(
        mmsi=525_012_345,
        msg_type=1,
        event_time=T0,
        lat=-8.7,
        lon=115.2,
        source="f",
        mmsi_info=MmsiInfo(valid=True),
    )


def test_a_v1_position_with_an_added_field_is_read_as_v1() -> None:
    record = grown(
        Outgoing("ais.positions", "1", report()),
        sea_state="rough",
        mmsi_info={"registry": "IDN"},  # a nested object grows too
    )
    assert record.decode(PositionReport) == report()


def test_a_producer_still_cannot_build_an_event_with_an_unknown_field() -> None:
    fields = msgspec.structs.asdict(report())
    with pytest.raises(TypeError, match="sea_state"):
        PositionReport(**fields, sea_state="rough")
    with pytest.raises(msgspec.ValidationError, match="sea_state"):
        PositionReport.validated({**fields, "sea_state": "rough"})


def test_a_grown_event_is_still_checked_for_what_it_does_carry() -> None:
    record = grown(Outgoing("ais.positions", "1", report()), sea_state="rough", lat=97.2)
    with pytest.raises(EnvelopeError, match="lat"):
        record.decode(PositionReport)


def test_an_unknown_version_is_not_read_as_a_known_one() -> None:
    record = grown(Outgoing("ais.positions", "1", report()))
    headers = tuple(
        (k, b"lookout.ais.position.v2" if k == "ce_type" else v) for k, v in record.headers
    )
    with pytest.raises(EnvelopeError, match=r"unknown event type 'lookout\.ais\.position\.v2'"):
        Record(record.topic, 0, 0, "1", record.value, headers, 0).decode(PositionReport)


def test_alerts_grow_the_same_way() -> None:
    alert = Alert.open(
        rule=AlertRule.LOITERING,
        severity=Severity.MEDIUM,
        subject="525012345",
        mmsis=[525_012_345],
        title="loitering",
        started_at=T0,
        lat=-8.5,
        lon=115.2,
    )
    record = grown(Outgoing("fusion.alerts", str(alert.alert_id), alert), playbook="p-7")
    assert record.decode(Alert) == alert
