"""From a pyais message to our wire models: units, sentinels and per-type field meanings.

pyais already scales values (degrees, knots, tenths); ``schemas.units`` turns the AIS
"not available" sentinels into ``None``. What is left here is what differs per type.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyais.constants import TurnRate

from schemas.ais import PositionReport, StaticReport
from schemas.vessel import MmsiInfo

POSITION_TYPES = frozenset({1, 2, 3, 4, 9, 18, 19, 21, 27})
STATIC_TYPES = frozenset({5, 24})
MAPPED_TYPES = POSITION_TYPES | STATIC_TYPES

MIN_PAYLOAD_BITS: dict[int, int] = {
    # Where the last field we map ends. Transmitters in the wild send messages a few bits
    # short of ITU-R M.1371's length (type 1 in 163 of 168 bits, type 5 in 420 of 424);
    # every decoder accepts them, and so do we, as long as nothing we publish is cut off.
    1: 137, 2: 137, 3: 137, 4: 134, 5: 420, 9: 128, 18: 133, 19: 301, 21: 249, 24: 160,
    27: 94,
}

_TYPE9_SPEED_NOT_AVAILABLE_KN = 1023  # type 9 speed is in whole knots, 1023 = n/a
_TYPE9_ALTITUDE_NOT_AVAILABLE_M = 4095
_TYPE27_SPEED_NOT_AVAILABLE_KN = 63  # type 27: whole knots in 6 bits
_TYPE27_COURSE_NOT_AVAILABLE_DEG = 511  # type 27: whole degrees in 9 bits
_NO_DRAUGHT = 0.0


def position_report(
    msg: Any,
    msg_type: int,
    event_time: datetime,
    source: str,
    station: str | None,
    mmsi_info: MmsiInfo,
) -> PositionReport:
    """A PositionReport of a type 1, 2, 3, 4, 9, 18, 19, 21 or 27 message."""
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
    if msg_type in (1, 2, 3):
        fields.update(
            speed_kn=msg.speed,
            course_deg=msg.course,
            heading_deg=msg.heading,
            nav_status=int(msg.status),
            turn_rate_deg_min=_turn_rate(msg.turn),
        )
    elif msg_type in (18, 19):
        fields.update(speed_kn=msg.speed, course_deg=msg.course, heading_deg=msg.heading)
    elif msg_type == 9:
        speed = msg.speed
        fields.update(
            speed_kn=None if speed == _TYPE9_SPEED_NOT_AVAILABLE_KN else speed,
            course_deg=msg.course,
            altitude_m=None if msg.alt == _TYPE9_ALTITUDE_NOT_AVAILABLE_M else msg.alt,
        )
    elif msg_type == 27:
        fields.update(
            speed_kn=None if msg.speed == _TYPE27_SPEED_NOT_AVAILABLE_KN else msg.speed,
            course_deg=None if msg.course == _TYPE27_COURSE_NOT_AVAILABLE_DEG else msg.course,
            nav_status=int(msg.status),
        )
    return PositionReport(**fields)


def static_report(
    msg: Any,
    msg_type: int,
    event_time: datetime,
    source: str,
    station: str | None,
    mmsi_info: MmsiInfo,
) -> StaticReport:
    """A StaticReport of a type 5 message or of either part of a type 24."""
    fields: dict[str, Any] = {
        "mmsi": msg.mmsi,
        "msg_type": msg_type,
        "event_time": event_time,
        "station": station,
        "source": source,
        "mmsi_info": mmsi_info,
    }
    if msg_type == 5:
        fields.update(
            name=_text(msg.shipname),
            callsign=_text(msg.callsign),
            imo=msg.imo or None,
            ship_type=int(msg.ship_type) or None,
            draught_m=None if msg.draught == _NO_DRAUGHT else msg.draught,
            destination=_text(msg.destination),
            eta=_eta(msg.month, msg.day, msg.hour, msg.minute),
            **_dimensions(msg),
        )
    elif msg.partno == 0:
        fields.update(part="A", name=_text(msg.shipname))
    else:
        fields.update(part="B", callsign=_text(msg.callsign), ship_type=int(msg.ship_type) or None)
        # Auxiliary craft (98MIDxxxx) send their mother ship's MMSI where others send sizes.
        if hasattr(msg, "to_bow"):
            fields.update(_dimensions(msg))
    return StaticReport(**fields)


def _dimensions(msg: Any) -> dict[str, int]:
    return {
        "to_bow_m": msg.to_bow,
        "to_stern_m": msg.to_stern,
        "to_port_m": msg.to_port,
        "to_starboard_m": msg.to_starboard,
    }


def _text(value: str | None) -> str | None:
    """AIS six-bit text pads with '@' (and often spaces): strip both; empty means absent."""
    if not value:
        return None
    return value.replace("@", " ").strip() or None


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
