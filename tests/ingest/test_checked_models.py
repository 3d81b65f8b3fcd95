"""``checked_position`` (construction without pydantic) is exactly ``PositionReport(**fields)``:
it builds a report only when validation would build the same one, and leaves every value
validation refuses or converts to validation."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import ingest.mapping as mapping
from schemas.ais import PositionReport
from schemas.vessel import MmsiInfo, MmsiKind
from tests.ingest.support import CORPORA, decode_all

CORPUS_FILES = [
    CORPORA / "gpsd" / "sample.aivdm",
    CORPORA / "pyais" / "nmea_data_sample.txt",
    CORPORA / "pyais" / "gatehouse.nmea",
]
T0 = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)
INFO = MmsiInfo(valid=True, kind=MmsiKind.SHIP, mid=525, country="ID")


def same_either_way(fields: dict[str, Any]) -> bool:
    """Assert the checked path agrees with validation; True if it built the report."""
    checked = mapping.checked_position(dict(fields))
    try:
        validated = PositionReport(**fields)
    except ValidationError:
        assert checked is None, f"validation refuses {fields!r}, the checked path did not"
        return False
    if checked is None:
        return False
    assert type(checked) is PositionReport
    assert checked == validated
    assert checked.__dict__ == validated.__dict__
    assert list(checked.__dict__) == list(validated.__dict__)
    assert checked.model_fields_set == validated.model_fields_set
    assert checked.model_dump_json() == validated.model_dump_json()
    assert checked.model_dump() == validated.model_dump()
    for name, value in checked.__dict__.items():
        assert type(value) is type(validated.__dict__[name]), name
    return True


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_every_corpus_position_is_built_as_validation_builds_it(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    build = mapping.build_position

    def compare_then_build(fields: dict[str, Any]) -> PositionReport:
        seen.append(same_either_way(fields))
        return build(fields)

    monkeypatch.setattr(mapping, "build_position", compare_then_build)
    decode_all(path.read_bytes().splitlines())
    assert seen
    assert sum(seen) >= 0.9 * len(seen)  # the checked path is the one actually taken


def test_the_decoder_publishes_the_same_events_either_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = (CORPORA / "pyais" / "nmea_data_sample.txt").read_bytes().splitlines()
    checked, _ = decode_all(lines)
    monkeypatch.setattr(mapping, "checked_position", lambda fields: None)
    validated, _ = decode_all(lines)
    assert [e.model_dump_json() for e in checked] == [e.model_dump_json() for e in validated]
    assert checked == validated


def base(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = dict(
        mmsi=525_012_345,
        msg_type=1,
        event_time=T0,
        lat=-8.7,
        lon=115.2,
        position_accuracy_high=True,
        station=None,
        source="file:x",
        mmsi_info=INFO,
        speed_kn=4.2,
        course_deg=181.5,
        heading_deg=180,
        nav_status=0,
        turn_rate_deg_min=None,
    )
    fields.update(overrides)
    return fields


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"lat": 91.0, "lon": 181.0},
        {"lat": 90.0, "lon": -180.0},
        {"lat": 90.0000001},
        {"lat": 90.5},
        {"lat": -90.1},
        {"lat": math.nan},
        {"lat": math.inf},
        {"lat": 5},
        {"lat": "5"},
        {"lat": True},
        {"speed_kn": 102.3},
        {"speed_kn": 102.2},
        {"speed_kn": 102.25},
        {"speed_kn": -0.1},
        {"speed_kn": 0},
        {"course_deg": 360.0},
        {"course_deg": 359.9999},
        {"course_deg": 360.5},
        {"heading_deg": 511},
        {"heading_deg": 360},
        {"heading_deg": 359},
        {"heading_deg": -1},
        {"heading_deg": 5.0},
        {"heading_deg": True},
        {"heading_deg": 511.0},
        {"nav_status": 15},
        {"nav_status": 16},
        {"nav_status": -1},
        {"turn_rate_deg_min": 708.0},
        {"turn_rate_deg_min": math.nan},
        {"turn_rate_deg_min": 3},
        {"position_accuracy_high": 1},
        {"station": "rORBCOMM000"},
        {"station": 5},
        {"mmsi": 1_000_000_000},
        {"mmsi": -1},
        {"mmsi": 0},
        {"mmsi": True},
        {"mmsi": "525012345"},
        {"msg_type": 5},
        {"msg_type": 27},
        {"msg_type": 9},
        {"altitude_m": 4094, "msg_type": 9},
        {"altitude_m": 4095},
        {"altitude_m": 4094.0},
        {"event_time": datetime(2026, 1, 1)},
        {"event_time": datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=8)))},
        {"event_time": datetime(2026, 1, 1, tzinfo=timezone.utc)},  # noqa: UP017
        {"event_time": "2026-01-01T00:00:00Z"},
        {"source": None},
        {"event_time": datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)},
        {"event_time": datetime(2000, 1, 1, tzinfo=UTC)},
        {"event_time": datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)},
        {"event_time": datetime(2100, 1, 1, tzinfo=UTC)},
        {"event_time": datetime(9999, 12, 31, tzinfo=UTC)},
        {"event_time": datetime(1970, 1, 1, tzinfo=UTC)},
        {"event_time": datetime(2000, 1, 1, 7, tzinfo=timezone(timedelta(hours=8)))},
        {"mmsi_info": {"valid": True}},
        {"extra": 1},
    ],
)
def test_edge_values_agree(overrides: dict[str, Any]) -> None:
    same_either_way(base(**overrides))


@pytest.mark.parametrize(
    "event_time",
    [
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2100, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, tzinfo=UTC),
    ],
)
def test_event_times_outside_2000_to_2099_are_refused_either_way(event_time: datetime) -> None:
    assert mapping.checked_position(base(event_time=event_time)) is None
    with pytest.raises(ValidationError, match=r"event time .* is implausible"):
        PositionReport(**base(event_time=event_time))


@pytest.mark.parametrize(
    "event_time",
    [datetime(2000, 1, 1, tzinfo=UTC), datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)],
)
def test_event_times_at_the_bounds_take_the_checked_path(event_time: datetime) -> None:
    assert same_either_way(base(event_time=event_time))


def test_missing_required_fields_are_left_to_validation() -> None:
    fields = base()
    del fields["source"]
    assert mapping.checked_position(fields) is None
    minimal = {k: fields[k] for k in ("mmsi", "msg_type", "event_time", "mmsi_info")}
    assert same_either_way({**minimal, "source": "x"})  # defaults filled in as pydantic does


floats = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-200, max_value=400),
    st.sampled_from(
        [
            91.0,
            181.0,
            102.3,
            360.0,
            90.0,
            -90.0,
            180.0,
            -180.0,
            102.2,
            0.0,
            359.99,
            91.0000000001,
            102.3000001,
        ]
    ),
    st.integers(min_value=-200, max_value=600),
    st.booleans(),
)
ints = st.one_of(
    st.none(),
    st.integers(min_value=-10, max_value=5000),
    st.sampled_from([511, 359, 360, 15, 16, 4094, 4095, 0, -1]),
    st.floats(min_value=-10, max_value=600),
    st.booleans(),
)
times = st.one_of(
    st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    st.datetimes(),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mmsi=st.one_of(st.integers(min_value=-5, max_value=1_000_000_005), st.booleans()),
    msg_type=st.integers(min_value=0, max_value=30),
    event_time=times,
    lat=floats,
    lon=floats,
    speed_kn=floats,
    course_deg=floats,
    turn_rate_deg_min=floats,
    heading_deg=ints,
    nav_status=ints,
    altitude_m=ints,
    position_accuracy_high=st.one_of(st.none(), st.booleans(), st.integers(0, 2)),
    station=st.one_of(st.none(), st.text(max_size=5)),
)
def test_generated_values_agree(**fields: Any) -> None:
    same_either_way({**fields, "source": "file:x", "mmsi_info": INFO})


def maybe(strategy: st.SearchStrategy[Any], sentinel: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.just(sentinel), strategy)


@settings(max_examples=400, deadline=None)
@given(
    mmsi=st.integers(min_value=0, max_value=999_999_999),
    msg_type=st.sampled_from(sorted(mapping.POSITION_TYPES)),
    event_time=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2099, 12, 31, 23, 59, 59, 999999),
        timezones=st.just(UTC),
    ),
    lat=maybe(st.floats(min_value=-90, max_value=90), 91.0),
    lon=maybe(st.floats(min_value=-180, max_value=180), 181.0),
    speed_kn=maybe(st.floats(min_value=0, max_value=102.2), 102.3),
    course_deg=maybe(st.floats(min_value=0, max_value=360, exclude_max=True), 360.0),
    heading_deg=maybe(st.integers(min_value=0, max_value=359), 511),
    nav_status=st.one_of(st.none(), st.integers(min_value=0, max_value=15)),
    turn_rate_deg_min=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    altitude_m=st.one_of(st.none(), st.integers(min_value=0, max_value=4094)),
    position_accuracy_high=st.one_of(st.none(), st.booleans()),
    station=st.one_of(st.none(), st.text(max_size=5)),
)
def test_generated_valid_values_take_the_checked_path_and_agree(**fields: Any) -> None:
    assert same_either_way({**fields, "source": "file:x", "mmsi_info": INFO})
