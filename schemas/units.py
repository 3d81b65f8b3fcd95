"""Shared field types: validated coordinates, speeds and times with their units.

AIS encodes "not available" as out-of-range sentinels (latitude 91, longitude 181,
speed 102.3 kn, course 360, heading 511). Those become ``None`` here so that no
sentinel ever reaches a map, a distance or a speed threshold.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

AIS_LAT_NOT_AVAILABLE = 91.0
AIS_LON_NOT_AVAILABLE = 181.0
AIS_SPEED_NOT_AVAILABLE_KN = 102.3
AIS_COURSE_NOT_AVAILABLE_DEG = 360.0
AIS_HEADING_NOT_AVAILABLE_DEG = 511


def _sentinel_to_none(sentinel: float) -> BeforeValidator:
    def convert(value: Any) -> Any:
        if value is None:
            return None
        try:
            if abs(float(value) - sentinel) < 1e-6:
                return None
        except (TypeError, ValueError):
            return value  # let the field's own validation explain what is wrong
        return value

    return BeforeValidator(convert)


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (UTC expected)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
"""A timezone-aware instant, normalised to UTC."""

EVENT_TIME_MIN = datetime(2000, 1, 1, tzinfo=UTC)
"""Earliest plausible event time (inclusive): AIS data older than this is a broken clock."""
EVENT_TIME_END = datetime(2100, 1, 1, tzinfo=UTC)
"""First implausible event time (exclusive)."""


def _plausible_event_time(value: datetime) -> datetime:
    if not EVENT_TIME_MIN <= value < EVENT_TIME_END:
        raise ValueError(
            f"event time {value.isoformat()} is implausible: it must be in 2000-01-01 .. "
            "2099-12-31 UTC (a wrong receiver clock or capture timestamp)"
        )
    return value


EventTime = Annotated[datetime, AfterValidator(_require_utc), AfterValidator(_plausible_event_time)]
"""When an observation happened: a UTC instant from 2000-01-01 up to (not incl.) 2100-01-01."""

Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="Latitude, WGS 84 degrees north.")]
Longitude = Annotated[
    float, Field(ge=-180.0, le=180.0, description="Longitude, WGS 84 degrees east.")
]

AisLatitude = Annotated[Latitude | None, _sentinel_to_none(AIS_LAT_NOT_AVAILABLE)]
AisLongitude = Annotated[Longitude | None, _sentinel_to_none(AIS_LON_NOT_AVAILABLE)]
VESSEL_SPEED_MAX_KN = 102.2
AIRCRAFT_SPEED_MAX_KN = 1022.0  # type 9 (SAR aircraft) reports whole knots up to 1022

SpeedKnots = Annotated[
    Annotated[float, Field(ge=0.0, le=VESSEL_SPEED_MAX_KN)] | None,
    _sentinel_to_none(AIS_SPEED_NOT_AVAILABLE_KN),
    Field(description="Speed over ground, knots; None when not available."),
]
CourseDegrees = Annotated[
    Annotated[float, Field(ge=0.0, lt=360.0)] | None,
    _sentinel_to_none(AIS_COURSE_NOT_AVAILABLE_DEG),
    Field(description="Course over ground, degrees true; None when not available."),
]
GroundSpeedKnots = Annotated[
    Annotated[float, Field(ge=0.0, le=AIRCRAFT_SPEED_MAX_KN)] | None,
    _sentinel_to_none(AIS_SPEED_NOT_AVAILABLE_KN),
    Field(
        description="Speed over ground, knots; None when not available. At most 102.2 "
        "for vessels; SAR aircraft (type 9) up to 1022."
    ),
]
HeadingDegrees = Annotated[
    Annotated[int, Field(ge=0, le=359)] | None,
    _sentinel_to_none(AIS_HEADING_NOT_AVAILABLE_DEG),
    Field(description="True heading, degrees; None when not available."),
]
Mmsi = Annotated[
    int, Field(ge=0, le=999_999_999, description="Maritime Mobile Service Identity (9 digits).")
]
