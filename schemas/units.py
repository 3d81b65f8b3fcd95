"""Shared field types of the pydantic models: validated coordinates and times with units.

AIS encodes "not available" as out-of-range sentinels (latitude 91, longitude 181,
speed 102.3 kn, course 360, heading 511). Ingest turns them into ``None``
(``ingest.mapping``) before it builds an event, and the wire events' ranges
(``schemas.wire_units``) refuse them, so no sentinel ever reaches a map, a distance or a
speed threshold.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field

AIS_LAT_NOT_AVAILABLE = 91.0
AIS_LON_NOT_AVAILABLE = 181.0
AIS_SPEED_NOT_AVAILABLE_KN = 102.3
AIS_COURSE_NOT_AVAILABLE_DEG = 360.0
AIS_HEADING_NOT_AVAILABLE_DEG = 511


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a timezone (UTC expected)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]
"""A timezone-aware instant, normalised to UTC."""

Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="Latitude, WGS 84 degrees north.")]
Longitude = Annotated[
    float, Field(ge=-180.0, le=180.0, description="Longitude, WGS 84 degrees east.")
]

VESSEL_SPEED_MAX_KN = 102.2
AIRCRAFT_SPEED_MAX_KN = 1022.0  # type 9 (SAR aircraft) reports whole knots up to 1022

Mmsi = Annotated[
    int, Field(ge=0, le=999_999_999, description="Maritime Mobile Service Identity (9 digits).")
]
