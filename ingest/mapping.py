"""From a pyais message to our wire models: units, sentinels and per-type field meanings.

pyais already scales values (degrees, knots, tenths); ``schemas.units`` turns the AIS
"not available" sentinels into ``None``. What is left here is what differs per type.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, Final

from pyais.constants import TurnRate

from schemas.ais import POSITION_MESSAGE_TYPES, PositionReport, StaticReport
from schemas.units import (
    AIRCRAFT_SPEED_MAX_KN,
    AIS_COURSE_NOT_AVAILABLE_DEG,
    AIS_HEADING_NOT_AVAILABLE_DEG,
    AIS_LAT_NOT_AVAILABLE,
    AIS_LON_NOT_AVAILABLE,
    AIS_SPEED_NOT_AVAILABLE_KN,
    EVENT_TIME_END,
    EVENT_TIME_MIN,
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
    """A PositionReport of a type 1, 2, 3, 4, 9, 18, 19, 21 or 27 message. ``bits`` is
    the sentence's bit vector (pyais ``AISSentence.bv``), for fields read raw."""
    return build_position(
        position_fields(msg, msg_type, event_time, source, station, mmsi_info, bits)
    )


def build_position(fields: dict[str, Any]) -> PositionReport:
    """``PositionReport(**fields)``: through ``checked_position`` when every value passes
    the schema's checks there, else through pydantic (which converts or explains)."""
    report = checked_position(fields)
    return PositionReport(**fields) if report is None else report


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
    fields: dict[str, Any] = {
        "mmsi": msg.mmsi,
        "msg_type": msg_type,
        "event_time": event_time,
        "lat": msg.lat,
        "lon": msg.lon,
        "position_accuracy_high": bool(msg.accuracy) if msg.accuracy is not None else None,
        "station": station,
        "source": source,
        "mmsi_info": mmsi_info,
    }
    repairs: list[str] = []
    if msg_type in (1, 2, 3):
        fields.update(
            speed_kn=msg.speed,
            course_deg=_course(msg.course, repairs),
            heading_deg=_heading(msg.heading, repairs),
            nav_status=int(msg.status),
            turn_rate_deg_min=_turn_rate(msg.turn) if bits is None else _raw_turn_rate(bits),
        )
    elif msg_type in (18, 19):
        fields.update(
            speed_kn=msg.speed,
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


def _heading(heading: int, repairs: list[str]) -> int | None:
    if heading == AIS_HEADING_NOT_AVAILABLE_DEG or 0 <= heading <= _HEADING_MAX_DEG:
        return heading
    repairs.append(_repair("heading_deg", heading, "0-359, 511 not available"))
    return None


def _course(course: float, repairs: list[str]) -> float | None:
    # Course is in tenths of a degree: 0-359.9, 360.0 (3600) is "not available".
    if 0.0 <= course <= AIS_COURSE_NOT_AVAILABLE_DEG:
        return course
    repairs.append(_repair("course_deg", course, "0-359.9, 360 not available"))
    return None


# --- checked construction ------------------------------------------------------------
# Validating a PositionReport with pydantic costs about 3.6 us, half of pyais's decode of
# the sentence. The values ingest passes are almost always of the exact types the schema
# wants and in range, so ``checked_position`` applies every check of ``PositionReport``
# and ``schemas.units`` itself (ranges, AIS sentinels -> None, UTC and the plausible
# event-time range, position msg types,
# no unknown or missing fields) and builds the model as ``model_construct`` does, in
# about 2.4 us. Anything it is not sure of -- another type pydantic would convert, a value
# out of range, a naive or non-UTC time -- makes it return None, and the caller validates
# with pydantic as before, so refusals, error messages and conversions stay pydantic's.
# tests/ingest/test_checked_models.py compares both ways over every corpus sentence and
# over generated values.

_POSITION_FIELDS: Final = (
    "mmsi",
    "msg_type",
    "event_time",
    "lat",
    "lon",
    "speed_kn",
    "course_deg",
    "heading_deg",
    "nav_status",
    "turn_rate_deg_min",
    "position_accuracy_high",
    "altitude_m",
    "station",
    "source",
    "mmsi_info",
    "repairs",
)
_CHECKED_ENABLED: Final = tuple(PositionReport.model_fields) == _POSITION_FIELDS
"""Off (everything validated) if the schema's fields ever differ from those checked here."""
_KNOWN_POSITION_FIELDS: Final = frozenset(_POSITION_FIELDS)
_REQUIRED_POSITION_FIELDS: Final = frozenset(
    name for name, info in PositionReport.model_fields.items() if info.is_required()
)
_SENTINEL_TOLERANCE: Final = 1e-6  # as schemas.units._sentinel_to_none
_new_report = PositionReport.__new__
_object_setattr = object.__setattr__
_isfinite = math.isfinite


def checked_position(fields: dict[str, Any]) -> PositionReport | None:
    """``PositionReport(**fields)`` without pydantic when every value is already exactly
    what validation would produce; None when any is not (then validate instead)."""
    names = fields.keys()
    if not (
        _CHECKED_ENABLED and names <= _KNOWN_POSITION_FIELDS and names >= _REQUIRED_POSITION_FIELDS
    ):
        return None
    if "repairs" in fields:
        return None  # rare: pydantic validates a repaired report
    get = fields.get
    mmsi = fields["mmsi"]
    msg_type = fields["msg_type"]
    event_time = fields["event_time"]
    source = fields["source"]
    mmsi_info = fields["mmsi_info"]
    if (
        type(mmsi) is not int
        or not 0 <= mmsi <= 999_999_999
        or type(msg_type) is not int
        or msg_type not in POSITION_MESSAGE_TYPES
        or type(event_time) is not datetime
        or event_time.tzinfo is not UTC
        or not EVENT_TIME_MIN <= event_time < EVENT_TIME_END
        or type(source) is not str
        or type(mmsi_info) is not MmsiInfo
    ):
        return None
    lat = get("lat")
    if lat is not None:
        if type(lat) is not float:
            return None
        if abs(lat - AIS_LAT_NOT_AVAILABLE) < _SENTINEL_TOLERANCE:
            lat = None
        elif not -90.0 <= lat <= 90.0:  # NaN fails here too
            return None
    lon = get("lon")
    if lon is not None:
        if type(lon) is not float:
            return None
        if abs(lon - AIS_LON_NOT_AVAILABLE) < _SENTINEL_TOLERANCE:
            lon = None
        elif not -180.0 <= lon <= 180.0:
            return None
    speed = get("speed_kn")
    if speed is not None:
        if type(speed) is not float:
            return None
        if abs(speed - AIS_SPEED_NOT_AVAILABLE_KN) < _SENTINEL_TOLERANCE:
            speed = None
        elif not 0.0 <= speed <= (AIRCRAFT_SPEED_MAX_KN if msg_type == 9 else 102.2):
            return None
    course = get("course_deg")
    if course is not None:
        if type(course) is not float:
            return None
        if abs(course - AIS_COURSE_NOT_AVAILABLE_DEG) < _SENTINEL_TOLERANCE:
            course = None
        elif not 0.0 <= course < 360.0:
            return None
    heading = get("heading_deg")
    if heading is not None:
        if type(heading) is not int:
            return None
        if heading == AIS_HEADING_NOT_AVAILABLE_DEG:
            heading = None
        elif not 0 <= heading <= 359:
            return None
    nav_status = get("nav_status")
    if nav_status is not None and (type(nav_status) is not int or not 0 <= nav_status <= 15):
        return None
    altitude = get("altitude_m")
    if altitude is not None and (type(altitude) is not int or not 0 <= altitude <= 4094):
        return None
    turn = get("turn_rate_deg_min")
    if turn is not None and (type(turn) is not float or not _isfinite(turn)):
        return None
    accuracy = get("position_accuracy_high")
    if accuracy is not None and type(accuracy) is not bool:
        return None
    station = get("station")
    if station is not None and type(station) is not str:
        return None
    report = _new_report(PositionReport)
    _object_setattr(
        report,
        "__dict__",
        {
            "mmsi": mmsi,
            "msg_type": msg_type,
            "event_time": event_time,
            "lat": lat,
            "lon": lon,
            "speed_kn": speed,
            "course_deg": course,
            "heading_deg": heading,
            "nav_status": nav_status,
            "turn_rate_deg_min": turn,
            "position_accuracy_high": accuracy,
            "altitude_m": altitude,
            "station": station,
            "source": source,
            "mmsi_info": mmsi_info,
            "repairs": (),
        },
    )
    _object_setattr(report, "__pydantic_fields_set__", set(names))
    _object_setattr(report, "__pydantic_extra__", None)
    _object_setattr(report, "__pydantic_private__", None)
    return report


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
    return StaticReport(**fields)


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
