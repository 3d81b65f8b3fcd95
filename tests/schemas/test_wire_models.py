"""The wire schemas: units, ranges, AIS "not available" sentinels, the CloudEvents envelope."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from msgspec import ValidationError as WireValidationError
from pydantic import ValidationError

from schemas import (
    Alert,
    AlertRule,
    Geofence,
    MmsiInfo,
    PatrolReport,
    PositionReport,
    RejectReason,
    RejectRecord,
    Severity,
    StaticReport,
    Topic,
    WatchlistEntry,
    alert_id,
)
from schemas.envelope import (
    CloudEventAttributes,
    EnvelopeError,
    attributes_for,
    decode_value,
    encode_value,
    known_event_types,
)
from schemas.topics import COMPACTED_TOPICS

T0 = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
VALID = MmsiInfo(valid=True)


def position(**overrides: object) -> PositionReport:
    fields: dict[str, object] = dict(
        mmsi=525_012_345,
        msg_type=1,
        event_time=T0,
        lat=-8.7,
        lon=115.2,
        speed_kn=4.2,
        course_deg=181.5,
        heading_deg=180,
        nav_status=0,
        source="file:test",
        mmsi_info=VALID,
    )
    fields.update(overrides)
    return PositionReport.validated(fields)


@pytest.mark.parametrize(
    ("field", "sentinel"),
    [
        ("lat", 91.0),
        ("lon", 181.0),
        ("speed_kn", 102.3),
        ("course_deg", 360.0),
        ("heading_deg", 511),
    ],
)
def test_an_ais_not_available_value_is_never_a_number_on_a_map(
    field: str, sentinel: object
) -> None:
    # Ingest maps sentinels to None (tests/ingest/test_decoder.py); one that reached a
    # producer's values is refused by the schema, never published as a position.
    with pytest.raises(WireValidationError, match=field):
        position(**{field: sentinel})
    assert getattr(position(**{field: None}), field) is None
    assert not position(lat=None).has_position


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("lat", 97.2, r"lat: Expected `float` <= 90.0 \(got 97.2\)"),
        ("lon", -181.5, r"lon: Expected `float` >= -180.0"),
        ("speed_kn", 150.0, "out of range for a vessel"),
        ("speed_kn", 1100.0, r"speed_kn: Expected `float` <= 1022.0"),
        ("course_deg", -1.0, r"course_deg: Expected `float` >= 0.0"),
        ("heading_deg", 400, r"heading_deg: Expected `int` <= 359"),
        ("mmsi", 1_000_000_000, r"mmsi: Expected `int` <= 999999999"),
        ("msg_type", 5, "does not carry a position"),
        ("lat", "8.5", r"lat: Expected `float \| null`, got `str`"),
        ("sea_state", "rough", "unknown field `sea_state`"),
    ],
)
def test_values_out_of_range_are_refused_with_a_reason(
    field: str, value: object, message: str
) -> None:
    with pytest.raises(WireValidationError, match=message):
        position(**{field: value})


def test_sar_aircraft_may_fly_faster_than_any_vessel_sails() -> None:
    aircraft = position(mmsi=111_525_001, msg_type=9, speed_kn=140.0, altitude_m=300)
    assert aircraft.speed_kn == 140.0


def test_times_must_be_timezone_aware_and_are_kept_in_utc() -> None:
    with pytest.raises(WireValidationError, match="timezone"):
        position(event_time=datetime(2026, 3, 1, 6, 30))
    wita = timezone(timedelta(hours=8))
    report = position(event_time=datetime(2026, 3, 1, 14, 30, tzinfo=wita))
    assert report.event_time == T0 and report.event_time.tzinfo == UTC


def test_static_report_hides_unset_identity_and_computes_length() -> None:
    static = StaticReport.validated(
        dict(
            mmsi=525_012_345,
            msg_type=5,
            event_time=T0,
            name="KM SINAR",
            callsign="YBXY",
            imo=9_123_456,
            ship_type=30,
            to_bow_m=20,
            to_stern_m=8,
            to_port_m=3,
            to_starboard_m=4,
            source="file:test",
            mmsi_info=VALID,
        )
    )
    assert static.length_m == 28
    with pytest.raises(WireValidationError, match="does not carry static data"):
        StaticReport.validated(dict(mmsi=1, msg_type=1, event_time=T0, source="x", mmsi_info=VALID))
    with pytest.raises(WireValidationError, match="part"):
        StaticReport.validated(
            dict(mmsi=1, msg_type=24, part="C", event_time=T0, source="x", mmsi_info=VALID)
        )


def test_alert_ids_are_deterministic_so_a_replay_updates_instead_of_twinning() -> None:
    first = alert_id(AlertRule.AIS_GAP, "525012345", T0)
    assert first == alert_id(AlertRule.AIS_GAP, "525012345", T0)
    assert first != alert_id(AlertRule.AIS_GAP, "525012345", T0 + timedelta(seconds=1))
    assert first != alert_id(AlertRule.LOITERING, "525012345", T0)
    alert = Alert.open(
        rule=AlertRule.AIS_GAP,
        subject="525012345",
        severity=Severity.HIGH,
        title="Went dark for 14 h",
        started_at=T0,
        mmsis=[525_012_345],
    )
    assert alert.alert_id == first and alert.updated_at == T0


def test_geofence_geometry_must_be_closed_rings_in_range() -> None:
    ring = [[115.0, -9.0], [116.0, -9.0], [116.0, -8.0], [115.0, -8.0], [115.0, -9.0]]
    fence = Geofence(
        geofence_id="mpa.nusa-penida",
        name="Nusa Penida MPA",
        kind="marine_protected_area",
        geometry={"type": "Polygon", "coordinates": [ring]},
        updated_at=T0,
    )
    assert fence.rules.on_enter
    with pytest.raises(ValidationError, match="closed"):
        Geofence(
            geofence_id="x",
            name="x",
            kind="restricted",
            updated_at=T0,
            geometry={"type": "Polygon", "coordinates": [[*ring[:-1], [115.5, -8.5]]]},
        )
    with pytest.raises(ValidationError, match="out of range"):
        Geofence(
            geofence_id="x",
            name="x",
            kind="restricted",
            updated_at=T0,
            geometry={"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [0, 1], [0, 0]]]},
        )


def test_a_watchlist_entry_needs_at_least_one_identifier() -> None:
    with pytest.raises(ValidationError, match="needs an MMSI"):
        WatchlistEntry(entry_id="w1", reason="suspected smuggling", updated_at=T0)
    entry = WatchlistEntry(entry_id="w1", name=" km sinar ", reason="x", updated_at=T0)
    assert entry.name == "KM SINAR"


def test_patrol_reports_validate_position_and_persons_on_board() -> None:
    report = PatrolReport(
        report_id=uuid.uuid4(),
        agency="BAKAMLA",
        reporter_kind="patrol_vessel",
        observed_at=T0,
        received_at=T0,
        lat=-10.5,
        lon=123.6,
        persons_on_board=40,
        activity="people_smuggling",
    )
    assert report.occurred_at() == T0
    with pytest.raises(ValidationError):
        PatrolReport(
            report_id=uuid.uuid4(),
            agency="X",
            reporter_kind="fisher",
            observed_at=T0,
            received_at=T0,
            lat=-100,
            lon=0,
        )


def test_envelope_round_trip_through_cloudevents_headers() -> None:
    report = position()
    attrs = attributes_for(report, source="/ingest/file", event_id="e-1", subject="525012345")
    headers = attrs.to_headers()
    names = [name for name, _ in headers]
    assert names[:6] == [
        "ce_specversion",
        "ce_id",
        "ce_type",
        "ce_source",
        "ce_time",
        "content-type",
    ]
    assert dict(headers)["ce_type"] == b"lookout.ais.position.v1"
    assert dict(headers)["ce_time"] == b"2026-03-01T06:30:00Z"
    back = CloudEventAttributes.from_headers(headers)
    assert back == attrs
    assert decode_value(back, encode_value(report), PositionReport) == report


def test_envelope_errors_name_what_is_wrong() -> None:
    with pytest.raises(EnvelopeError, match="missing CloudEvents headers: ce_type"):
        CloudEventAttributes.from_headers(
            [("ce_id", b"1"), ("ce_source", b"/x"), ("ce_time", b"2026-01-01T00:00:00Z")]
        )
    attrs = attributes_for(position(), source="/x")
    with pytest.raises(EnvelopeError, match="is not a StaticReport"):
        decode_value(attrs, encode_value(position()), StaticReport)
    with pytest.raises(EnvelopeError, match=r"invalid lookout\.ais\.position\.v1"):
        decode_value(attrs, b'{"mmsi": "not a number"}', PositionReport)
    with pytest.raises(EnvelopeError, match=r"invalid lookout\.ais\.position\.v1.*\$\.lat"):
        decode_value(
            attrs, encode_value(position()).replace(b'"lat":-8.7', b'"lat":91.0'), PositionReport
        )
    with pytest.raises(
        EnvelopeError, match=r"invalid lookout\.ais\.position\.v1 value: .*(truncated|malformed)"
    ):
        decode_value(attrs, b'{"mmsi": 1', PositionReport)


def test_every_event_type_is_versioned_and_every_topic_named_once() -> None:
    assert all(
        t.startswith("lookout.") and t.rsplit(".", 1)[1].startswith("v")
        for t in known_event_types()
    )
    assert len({t.value for t in Topic}) == len(Topic)
    assert {Topic.AIS_STATIC, Topic.CONFIG_GEOFENCES, Topic.CONFIG_WATCHLIST} == COMPACTED_TOPICS
    reject = RejectRecord.validated(
        dict(
            source="tcp://x",
            reason=RejectReason.CHECKSUM,
            detail="checksum mismatch",
            raw=["!AIVDM,1,1,,A,xx,0*00"],
            received_at=T0,
        )
    )
    assert reject.occurred_at() == T0
    with pytest.raises(WireValidationError, match="raw"):
        RejectRecord.validated(
            dict(source="x", reason="checksum", detail="d", raw=[], received_at=T0)
        )
