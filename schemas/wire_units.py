"""Field types of the wire events (msgspec): each carries its range and unit as a
constraint, checked in C by ``WireEvent.validated`` and by every reader's decode.

The AIS "not available" sentinels (latitude 91, speed 102.3 kn, heading 511 ...) are out
of these ranges on purpose: ingest maps them to ``None`` before it builds an event
(``ingest.mapping``), so a sentinel that reached a producer's values is refused, never
drawn on a map.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from msgspec import Meta

from schemas.units import AIRCRAFT_SPEED_MAX_KN, VESSEL_SPEED_MAX_KN

Mmsi = Annotated[
    int, Meta(ge=0, le=999_999_999, description="Maritime Mobile Service Identity (9 digits).")
]
Latitude = Annotated[float, Meta(ge=-90.0, le=90.0, description="Latitude, WGS 84 degrees north.")]
Longitude = Annotated[
    float, Meta(ge=-180.0, le=180.0, description="Longitude, WGS 84 degrees east.")
]
GroundSpeedKnots = Annotated[
    float,
    Meta(
        ge=0.0,
        le=AIRCRAFT_SPEED_MAX_KN,
        description=f"Speed over ground, knots. At most {VESSEL_SPEED_MAX_KN} for vessels "
        "(checked per message type); SAR aircraft (type 9) up to 1022.",
    ),
]
CourseDegrees = Annotated[
    float, Meta(ge=0.0, lt=360.0, description="Course over ground, degrees true.")
]
HeadingDegrees = Annotated[int, Meta(ge=0, le=359, description="True heading, degrees.")]
UtcTime = Annotated[datetime, Meta(tz=True, description="A UTC instant (an offset is converted).")]
EventTime = Annotated[
    datetime,
    Meta(
        tz=True,
        description="When the observation happened, UTC: 2000-01-01 up to (not incl.) "
        "2100-01-01 (checked in ``__post_init__``).",
    ),
]
