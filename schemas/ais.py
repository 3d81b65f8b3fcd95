"""AIS events as they travel on ``ais.positions``, ``ais.static`` and ``ais.rejects``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from schemas.envelope import Event
from schemas.units import (
    VESSEL_SPEED_MAX_KN,
    AisLatitude,
    AisLongitude,
    CourseDegrees,
    EventTime,
    GroundSpeedKnots,
    HeadingDegrees,
    Mmsi,
    UtcDatetime,
)
from schemas.vessel import MmsiInfo

POSITION_MESSAGE_TYPES = frozenset({1, 2, 3, 4, 9, 18, 19, 21, 27})
STATIC_MESSAGE_TYPES = frozenset({5, 19, 21, 24})


class PositionReport(Event):
    """One position of one station, as received (event time = reception at the antenna).

    Natural key (for idempotent storage): ``(mmsi, event_time, lat, lon)``.
    """

    ce_type = "lookout.ais.position.v1"

    mmsi: Mmsi
    msg_type: int = Field(
        description="AIS message type: 1-3, 18, 19, 27 vessels; 4 base "
        "station; 9 SAR aircraft; 21 aid to navigation."
    )
    event_time: EventTime = Field(
        description="UTC reception time: NMEA 4.0 tag block c:, else the time of ingest."
    )
    lat: AisLatitude = None
    lon: AisLongitude = None
    speed_kn: GroundSpeedKnots = None
    course_deg: CourseDegrees = None
    heading_deg: HeadingDegrees = None
    nav_status: int | None = Field(
        default=None, ge=0, le=15, description="Navigational status (ITU-R M.1371 table 45)."
    )
    turn_rate_deg_min: float | None = Field(
        default=None, description="Rate of turn, degrees per minute; None when not available."
    )
    position_accuracy_high: bool | None = Field(
        default=None, description="True when the fix is better than 10 m (DGNSS)."
    )
    altitude_m: int | None = Field(
        default=None, ge=0, le=4094, description="Altitude of a SAR aircraft (type 9), metres."
    )
    station: str | None = Field(default=None, description="Receiving station (tag block s:).")
    source: str = Field(description="The feed this came from, e.g. tcp://relay:5631.")
    mmsi_info: MmsiInfo
    repairs: tuple[str, ...] = Field(
        default=(),
        description="Optional fields sent out of range and published as None, each with "
        "the value sent, e.g. 'heading_deg: 480 is out of range (0-359, 511 not "
        "available); published as None'. Empty for almost every report.",
    )

    @field_validator("msg_type")
    @classmethod
    def _known_position_type(cls, value: int) -> int:
        if value not in POSITION_MESSAGE_TYPES:
            raise ValueError(f"message type {value} does not carry a position")
        return value

    @model_validator(mode="after")
    def _vessel_speed_in_range(self) -> PositionReport:
        if self.msg_type != 9 and self.speed_kn is not None and self.speed_kn > VESSEL_SPEED_MAX_KN:
            raise ValueError(
                f"speed {self.speed_kn} kn out of range for a vessel (at most "
                f"{VESSEL_SPEED_MAX_KN}; only SAR aircraft, type 9, report more)"
            )
        return self

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    def occurred_at(self) -> datetime:
        return self.event_time

    @property
    def key(self) -> str:
        return str(self.mmsi)


class StaticReport(Event):
    """Identity and voyage data of a station: type 5 (class A), type 24 (class B, in parts
    A and B), the identity part of type 19 (class B extended: name, ship type, dimensions)
    and of type 21 (an aid to navigation: name with its extension, aid type, dimensions;
    keyed by the AtoN's MMSI like any station, so the COP names buoys and beacons too)."""

    ce_type = "lookout.ais.static.v1"

    mmsi: Mmsi
    msg_type: int = Field(
        description="5 (class A static and voyage), 24 (class B static), 19 (class B "
        "extended) or 21 (aid to navigation)."
    )
    part: str | None = Field(default=None, pattern="^[AB]$", description="Type 24 part.")
    event_time: EventTime
    name: str | None = Field(
        default=None, max_length=34, description="20 characters; an AtoN's up to 34."
    )
    callsign: str | None = Field(default=None, max_length=7)
    imo: int | None = Field(default=None, ge=1, le=999_999_999, description="IMO number.")
    ship_type: int | None = Field(
        default=None, ge=1, le=255, description="ITU-R M.1371 ship and cargo type; None if 0."
    )
    to_bow_m: int | None = Field(default=None, ge=0, le=511)
    to_stern_m: int | None = Field(default=None, ge=0, le=511)
    to_port_m: int | None = Field(default=None, ge=0, le=63)
    to_starboard_m: int | None = Field(default=None, ge=0, le=63)
    draught_m: float | None = Field(default=None, ge=0, le=25.5)
    destination: str | None = Field(default=None, max_length=20)
    eta: str | None = Field(
        default=None, description="Estimated arrival as transmitted, 'MM-DD HH:MM' UTC (no year)."
    )
    aid_type: int | None = Field(
        default=None, ge=0, le=31, description="Type 21: aid to navigation type (M.1371 table 74)."
    )
    virtual_aid: bool | None = Field(
        default=None, description="Type 21: a virtual aid (no physical buoy or beacon)."
    )
    station: str | None = None
    source: str
    mmsi_info: MmsiInfo
    repairs: tuple[str, ...] = Field(
        default=(), description="Optional fields sent out of range and published as None."
    )

    @field_validator("msg_type")
    @classmethod
    def _known_static_type(cls, value: int) -> int:
        if value not in STATIC_MESSAGE_TYPES:
            raise ValueError(f"message type {value} does not carry static data")
        return value

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


class RejectRecord(Event):
    """Raw input that ingest could not turn into a typed event, and why."""

    ce_type = "lookout.ais.reject.v1"

    source: str
    reason: RejectReason
    detail: str = Field(description="Human-readable explanation, e.g. 'checksum mismatch'.")
    raw: list[str] = Field(min_length=1, description="The offending sentence(s), verbatim.")
    received_at: UtcDatetime
    msg_type: int | None = None
    station: str | None = Field(
        default=None, description="Receiving station (tag block s:), when the line had one."
    )
    recorded_at: UtcDatetime | None = Field(
        default=None,
        description="Reception time the receiver recorded (tag block c: or a timestamp "
        "column), when the line had one; the event time of the reject.",
    )

    def occurred_at(self) -> datetime:
        return self.recorded_at or self.received_at
