"""AIS events as they travel on ``ais.positions``, ``ais.static`` and ``ais.rejects``.

msgspec Structs (``schemas.wire_event``): the hot path's one definition and one
validation. Field names, order and JSON values are those the pydantic models had.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from msgspec import Meta

from schemas.units import VESSEL_SPEED_MAX_KN
from schemas.vessel import MmsiInfo
from schemas.wire_event import WireEvent, utc_event_time, utc_time
from schemas.wire_units import (
    CourseDegrees,
    EventTime,
    GroundSpeedKnots,
    HeadingDegrees,
    Latitude,
    Longitude,
    Mmsi,
    UtcTime,
)

POSITION_MESSAGE_TYPES = frozenset({1, 2, 3, 4, 9, 18, 19, 21, 27})
STATIC_MESSAGE_TYPES = frozenset({5, 19, 21, 24})

_RECEPTION_TIME = "UTC reception time: NMEA 4.0 tag block c:, else the time of ingest."
_STATION = "Receiving station (tag block s:)."
_SOURCE = "The feed this came from, e.g. tcp://relay:5631."


class PositionReport(WireEvent, frozen=True, kw_only=True, gc=False):
    """One position of one station, as received (event time = reception at the antenna).

    Natural key (for idempotent storage): ``(mmsi, event_time, lat, lon)``.
    """

    ce_type = "lookout.ais.position.v1"

    mmsi: Mmsi
    msg_type: Annotated[
        int,
        Meta(
            description="AIS message type: 1-3, 18, 19, 27 vessels; 4 base "
            "station; 9 SAR aircraft; 21 aid to navigation."
        ),
    ]
    event_time: Annotated[EventTime, Meta(description=_RECEPTION_TIME)]
    lat: Latitude | None = None
    lon: Longitude | None = None
    speed_kn: GroundSpeedKnots | None = None
    course_deg: CourseDegrees | None = None
    heading_deg: HeadingDegrees | None = None
    nav_status: (
        Annotated[
            int, Meta(ge=0, le=15, description="Navigational status (ITU-R M.1371 table 45).")
        ]
        | None
    ) = None
    turn_rate_deg_min: (
        Annotated[
            float, Meta(description="Rate of turn, degrees per minute; None when not available.")
        ]
        | None
    ) = None
    position_accuracy_high: (
        Annotated[bool, Meta(description="True when the fix is better than 10 m (DGNSS).")] | None
    ) = None
    altitude_m: (
        Annotated[
            int, Meta(ge=0, le=4094, description="Altitude of a SAR aircraft (type 9), metres.")
        ]
        | None
    ) = None
    station: Annotated[str, Meta(description=_STATION)] | None = None
    source: Annotated[str, Meta(description=_SOURCE)]
    mmsi_info: MmsiInfo
    repairs: Annotated[
        tuple[str, ...],
        Meta(
            description="Optional fields sent out of range and published as None, each with "
            "the value sent, e.g. 'heading_deg: 480 is out of range (0-359, 511 not "
            "available); published as None'. Empty for almost every report."
        ),
    ] = ()

    def __post_init__(self) -> None:
        msg_type = self.msg_type
        if msg_type not in POSITION_MESSAGE_TYPES:
            raise ValueError(f"msg_type: message type {msg_type} does not carry a position")
        speed = self.speed_kn
        if speed is not None and speed > VESSEL_SPEED_MAX_KN and msg_type != 9:
            raise ValueError(
                f"speed_kn: {speed} kn is out of range for a vessel (at most "
                f"{VESSEL_SPEED_MAX_KN}; only SAR aircraft, type 9, report more)"
            )
        utc_event_time(self, "event_time", self.event_time)

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    def occurred_at(self) -> datetime:
        return self.event_time

    @property
    def key(self) -> str:
        return str(self.mmsi)


class StaticReport(WireEvent, frozen=True, kw_only=True, gc=False):
    """Identity and voyage data of a station: type 5 (class A), type 24 (class B, in parts
    A and B), the identity part of type 19 (class B extended: name, ship type, dimensions)
    and of type 21 (an aid to navigation: name with its extension, aid type, dimensions;
    keyed by the AtoN's MMSI like any station, so the COP names buoys and beacons too)."""

    ce_type = "lookout.ais.static.v1"

    mmsi: Mmsi
    msg_type: Annotated[
        int,
        Meta(
            description="5 (class A static and voyage), 24 (class B static), 19 (class B "
            "extended) or 21 (aid to navigation)."
        ),
    ]
    part: Annotated[str, Meta(pattern="^[AB]$", description="Type 24 part.")] | None = None
    event_time: Annotated[EventTime, Meta(description=_RECEPTION_TIME)]
    name: (
        Annotated[str, Meta(max_length=34, description="20 characters; an AtoN's up to 34.")] | None
    ) = None
    callsign: Annotated[str, Meta(max_length=7)] | None = None
    imo: Annotated[int, Meta(ge=1, le=999_999_999, description="IMO number.")] | None = None
    ship_type: (
        Annotated[
            int, Meta(ge=1, le=255, description="ITU-R M.1371 ship and cargo type; None if 0.")
        ]
        | None
    ) = None
    to_bow_m: Annotated[int, Meta(ge=0, le=511)] | None = None
    to_stern_m: Annotated[int, Meta(ge=0, le=511)] | None = None
    to_port_m: Annotated[int, Meta(ge=0, le=63)] | None = None
    to_starboard_m: Annotated[int, Meta(ge=0, le=63)] | None = None
    draught_m: Annotated[float, Meta(ge=0, le=25.5)] | None = None
    destination: Annotated[str, Meta(max_length=20)] | None = None
    eta: (
        Annotated[
            str, Meta(description="Estimated arrival as transmitted, 'MM-DD HH:MM' UTC (no year).")
        ]
        | None
    ) = None
    aid_type: (
        Annotated[
            int, Meta(ge=0, le=31, description="Type 21: aid to navigation type (M.1371 table 74).")
        ]
        | None
    ) = None
    virtual_aid: (
        Annotated[bool, Meta(description="Type 21: a virtual aid (no physical buoy or beacon).")]
        | None
    ) = None
    station: Annotated[str, Meta(description=_STATION)] | None = None
    source: Annotated[str, Meta(description=_SOURCE)]
    mmsi_info: MmsiInfo
    repairs: Annotated[
        tuple[str, ...],
        Meta(description="Optional fields sent out of range and published as None."),
    ] = ()

    def __post_init__(self) -> None:
        if self.msg_type not in STATIC_MESSAGE_TYPES:
            raise ValueError(f"msg_type: message type {self.msg_type} does not carry static data")
        utc_event_time(self, "event_time", self.event_time)

    @property
    def length_m(self) -> int | None:
        if self.to_bow_m is None or self.to_stern_m is None:
            return None
        return self.to_bow_m + self.to_stern_m or None

    def occurred_at(self) -> datetime:
        return self.event_time


class RejectReason(StrEnum):
    """Why ingest refused input. Every refused line lands on ``ais.rejects`` with one."""

    CHECKSUM = "checksum"
    MALFORMED = "malformed"
    UNSUPPORTED = "unsupported"
    INCOMPLETE = "incomplete"
    INVALID_VALUE = "invalid_value"
    DECODE_ERROR = "decode_error"


class RejectRecord(WireEvent, frozen=True, kw_only=True, gc=False):
    """Raw input that ingest could not turn into a typed event, and why."""

    ce_type = "lookout.ais.reject.v1"

    source: str
    reason: RejectReason
    detail: Annotated[
        str, Meta(description="Human-readable explanation, e.g. 'checksum mismatch'.")
    ]
    raw: Annotated[
        list[str], Meta(min_length=1, description="The offending sentence(s), verbatim.")
    ]
    received_at: UtcTime
    msg_type: int | None = None
    station: (
        Annotated[str, Meta(description="Receiving station (tag block s:), when the line had one.")]
        | None
    ) = None
    recorded_at: (
        Annotated[
            UtcTime,
            Meta(
                description="Reception time the receiver recorded (tag block c: or a timestamp "
                "column), when the line had one; the event time of the reject."
            ),
        ]
        | None
    ) = None

    def __post_init__(self) -> None:
        utc_time(self, "received_at", self.received_at)
        utc_time(self, "recorded_at", self.recorded_at)

    def occurred_at(self) -> datetime:
        return self.recorded_at or self.received_at
