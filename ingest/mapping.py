"""From a pyais message to our wire models: units, sentinels and per-type field meanings.

pyais already scales values (degrees, knots, tenths). The AIS "not available" sentinels
(latitude 91, longitude 181, speed 102.3, course 360, heading 511; per type others) become
``None`` here, where their meaning is known: the schema's ranges refuse them. Each event
is then validated once, by its schema (``WireEvent.validated``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyais.constants import TurnRate

from schemas.ais import PositionReport, StaticReport
from schemas.units import (
    AIS_COURSE_NOT_AVAILABLE_DEG,
    AIS_HEADING_NOT_AVAILABLE_DEG,
    AIS_LAT_NOT_AVAILABLE,
    AIS_LON_NOT_AVAILABLE,
    AIS_SPEED_NOT_AVAILABLE_KN,
)
from schemas.vessel import MmsiInfo

POSITION_TYPES = frozenset({1, 2, 3, 4, 9, 18, 19, 21, 27})
STATIC_TYPES = frozenset({5, 24})
IDENTITY_TOO = frozenset({19, 21})
"""Position types that also carry an identity, published as a StaticReport as well: type 19
(name, ship type, dimensions of a class B vessel) and type 21 (an aid to navigation's
name, type and dimensions)."""
MAPPED_TYPES = POSITION_TYPES | STATIC_TYPES

MIN_PAYLOAD_BITS: dict[int, int] = {
    # Where the last field we map ends. Transmitters in the wild send messages a few bits
    # short of ITU-R M.1371's length (type 1 in 163 of 168 bits, type 5 in 420 of 424);
    # every decoder accepts them, and so do we, as long as nothing we publish is cut off.
    1: 137,
    2: 137,
    3: 137,
    4: 134,
    5: 420,
    9: 128,
    18: 133,
    19: 301,
    21: 249,
    24: 160,
    27: 94,
}

_TYPE9_SPEED_NOT_AVAILABLE_KN = 1023  # type 9 speed is in whole knots, 1023 = n/a
_TYPE9_ALTITUDE_NOT_AVAILABLE_M = 4095
_TYPE27_SPEED_NOT_AVAILABLE_KN = 63  # type 27: whole knots in 6 bits
_TYPE27_COURSE_NOT_AVAILABLE_DEG = 511  # type 27: whole degrees in 9 bits
_NO_DRAUGHT = 0.0
_HEADING_MAX_DEG = 359
_TYPE27_COURSE_MAX_DEG = 359
_IMO_MAX = 999_999_999

# Raw fields read from the message's bits (ITU-R M.1371 bit offsets), where pyais's
# conversion loses what was sent: its ShipType enum turns codes it lacks (9, 38, 66, 77 ...)
# into others or none, and its rate of turn is rounded to whole degrees per minute.
_TYPE5_SHIP_TYPE_BIT = 232
_TYPE19_SHIP_TYPE_BIT = 263
_TYPE21_AID_TYPE_BIT = 38
_ROT_BIT = 42
_ROT_NOT_AVAILABLE = -128
_ROT_NO_INDICATOR = 127  # +-127: turning faster than 5 deg per 30 s, no turn indicator
_ROT_SCALE = 4.733  # ROT_AIS = 4.733 * sqrt(ROT deg/min), ITU-R M.1371 table 45


def position_report(
    msg: Any,
    msg_type: int,
    event_time: datetime,
    source: str,
    station: str | None,
    mmsi_info: MmsiInfo,
    bits: Any = None,
) -> PositionReport:
    """A PositionReport of a type 1, 2, 3, 4, 9, 18, 19, 21 or 27 message, validated once
    against the schema (``msgspec.ValidationError`` names what is wrong). ``bits`` is the
    sentence's bit vector (pyais ``AISSentence.bv``), for fields read raw."""
    return _validated_position(
        position_fields(msg, msg_type, event_time, source, station, mmsi_info, bits)
    )


def position_fields(
    msg: Any,
    msg_type: int,
    event_time: datetime,
    source: str,
    station: str | None,
    mmsi_info: MmsiInfo,
    bits: Any = None,
) -> dict[str, Any]:
    """The PositionReport fields of a pyais message, before validation. An optional
    field whose value is outside its range (a heading of 480) is set to None and the repair
    noted in ``repairs``: the position itself is still worth publishing."""
    lat, lon = msg.lat, msg.lon
    fields: dict[str, Any] = {
        "mmsi": msg.mmsi,
        "msg_type": msg_type,
        "event_time": event_time,
        "lat": None if lat == AIS_LAT_NOT_AVAILABLE else lat,
        "lon": None if lon == AIS_LON_NOT_AVAILABLE else lon,
        "position_accuracy_high": bool(msg.accuracy) if msg.accuracy is not None else None,
        "station": station,
        "source": source,
        "mmsi_info": mmsi_info,
    }
    repairs: list[str] = []
    if msg_type in (1, 2, 3):
        fields.update(
            speed_kn=_speed(msg.speed),
            course_deg=_course(msg.course, repairs),
            heading_deg=_heading(msg.heading, repairs),
            nav_status=int(msg.status),
            turn_rate_deg_min=_turn_rate(msg.turn) if bits is None else _raw_turn_rate(bits),
        )
    elif msg_type in (18, 19):
        fields.update(
            speed_kn=_speed(msg.speed),
            course_deg=_course(msg.course, repairs),
            heading_deg=_heading(msg.heading, repairs),
        )
    elif msg_type == 9:
        speed = msg.speed
        fields.update(
            speed_kn=None if speed == _TYPE9_SPEED_NOT_AVAILABLE_KN else speed,
            course_deg=_course(msg.course, repairs),
            altitude_m=None if msg.alt == _TYPE9_ALTITUDE_NOT_AVAILABLE_M else msg.alt,
        )
    elif msg_type == 27:
        course = msg.course
        if course == _TYPE27_COURSE_NOT_AVAILABLE_DEG:
            course = None
        elif course > _TYPE27_COURSE_MAX_DEG:
            repairs.append(_repair("course_deg", course, "0-359, 511 not available"))
            course = None
        fields.update(
            speed_kn=None if msg.speed == _TYPE27_SPEED_NOT_AVAILABLE_KN else msg.speed,
            course_deg=course,
            nav_status=int(msg.status),
        )
    if repairs:
        fields["repairs"] = tuple(repairs)
    return fields


def _repair(field: str, value: object, valid: str) -> str:
    """How a repair is noted on an event: the field first (metrics count by it)."""
    return f"{field}: {value} is out of range ({valid}); published as None"


def _speed(speed: float) -> float | None:
    # Tenths of a knot: 102.3 (1023) is "not available", 102.2 means 102.2 or more.
    return None if speed == AIS_SPEED_NOT_AVAILABLE_KN else speed


def _heading(heading: int, repairs: list[str]) -> int | None:
    if 0 <= heading <= _HEADING_MAX_DEG:
        return heading
    if heading != AIS_HEADING_NOT_AVAILABLE_DEG:
        repairs.append(_repair("heading_deg", heading, "0-359, 511 not available"))
    return None


def _course(course: float, repairs: list[str]) -> float | None:
    # Course is in tenths of a degree: 0-359.9, 360.0 (3600) is "not available".
    if 0.0 <= course < AIS_COURSE_NOT_AVAILABLE_DEG:
        return course
    if course != AIS_COURSE_NOT_AVAILABLE_DEG:
        repairs.append(_repair("course_deg", course, "0-359.9, 360 not available"))
    return None


_validated_position = PositionReport.validated
_validated_static = StaticReport.validated


def static_report(
    msg: Any,
    msg_type: int,
    event_time: datetime,
    source: str,
    station: str | None,
    mmsi_info: MmsiInfo,
    bits: Any = None,
) -> StaticReport:
    """A StaticReport of a type 5 message, of either part of a type 24, or of the identity
    a type 19 (class B extended) or 21 (aid to navigation) carries beside its position.
    ``bits`` is the sentence's bit vector, for the ship type as sent (0-99, any code)."""
    fields: dict[str, Any] = {
        "mmsi": msg.mmsi,
        "msg_type": msg_type,
        "event_time": event_time,
        "station": station,
        "source": source,
        "mmsi_info": mmsi_info,
    }
    repairs: list[str] = []
    if msg_type == 5:
        imo = msg.imo or None
        if imo is not None and imo > _IMO_MAX:
            repairs.append(_repair("imo", imo, "1-999999999, 0 not available"))
            imo = None
        ship_type = int(msg.ship_type) if bits is None else bits.get(_TYPE5_SHIP_TYPE_BIT, 8)
        fields.update(
            name=_text(msg.shipname),
            callsign=_text(msg.callsign),
            imo=imo,
            ship_type=ship_type or None,
            draught_m=None if msg.draught == _NO_DRAUGHT else msg.draught,
            destination=_text(msg.destination),
            eta=_eta(msg.month, msg.day, msg.hour, msg.minute),
            **_dimensions(msg),
        )
    elif msg_type == 19:
        ship_type = int(msg.ship_type) if bits is None else bits.get(_TYPE19_SHIP_TYPE_BIT, 8)
        fields.update(name=_text(msg.shipname), ship_type=ship_type or None, **_dimensions(msg))
    elif msg_type == 21:
        # The name's extension (up to 14 more characters) continues the 20 of the name.
        name = _text(msg.name)
        extension = _text(msg.name_ext)
        if name and extension:
            name += extension
        fields.update(
            name=name or extension,
            aid_type=int(msg.aid_type) if bits is None else bits.get(_TYPE21_AID_TYPE_BIT, 5),
            virtual_aid=bool(msg.virtual_aid),
            **_dimensions(msg),
        )
    elif msg.partno == 0:
        fields.update(part="A", name=_text(msg.shipname))
    else:
        fields.update(part="B", callsign=_text(msg.callsign), ship_type=int(msg.ship_type) or None)
        # Auxiliary craft (98MIDxxxx) send their mother ship's MMSI where others send sizes.
        if hasattr(msg, "to_bow"):
            fields.update(_dimensions(msg))
    if repairs:
        fields["repairs"] = tuple(repairs)
    return _validated_static(fields)


def _dimensions(msg: Any) -> dict[str, int]:
    return {
        "to_bow_m": msg.to_bow,
        "to_stern_m": msg.to_stern,
        "to_port_m": msg.to_port,
        "to_starboard_m": msg.to_starboard,
    }


def _text(value: str | None) -> str | None:
    """AIS six-bit text ends at its first '@' (ITU-R M.1371; what follows is padding,
    sometimes not '@' but junk, as gpsd also reads it) and is often padded with spaces:
    both go; empty means absent."""
    if not value:
        return None
    return value.split("@", 1)[0].strip() or None


def _raw_turn_rate(bits: Any) -> float | None:
    """Rate of turn in degrees per minute from the raw ROT_AIS field (ITU-R M.1371:
    ROT = (ROT_AIS / 4.733)^2, with ROT_AIS's sign), unrounded, as gpsd computes it."""
    rot: int = bits.get(_ROT_BIT, 8)
    if rot >= 128:
        rot -= 256  # two's complement
    if rot == _ROT_NOT_AVAILABLE or abs(rot) == _ROT_NO_INDICATOR:
        return None  # not available; or a direction without a rate
    rate = (rot / _ROT_SCALE) ** 2
    return -rate if rot < 0 else rate


def _turn_rate(turn: float | None) -> float | None:
    # -128 is "not available"; +-127 mean "turning faster than 5 deg per 30 s" with no turn
    # indicator, a direction without a rate, so there is no number to give.
    if turn is None or isinstance(turn, TurnRate):
        return None
    return float(turn)


def _eta(month: int, day: int, hour: int, minute: int) -> str | None:
    """'MM-DD HH:MM' as transmitted (no year); month or day 0 means no ETA was set.
    Hour 24 and minute 60 are "not available" and are kept as sent, for a reader."""
    if not month or not day:
        return None
    return f"{month:02d}-{day:02d} {hour:02d}:{minute:02d}"
