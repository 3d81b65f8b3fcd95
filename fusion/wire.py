"""Reading the input topics fast: the fields fusion uses, decoded with msgspec.

These are read-only views of ``schemas.ais.PositionReport`` / ``StaticReport`` (one
definition each lives in ``schemas``; a test checks every field here exists there). Readers
are tolerant: unknown fields are ignored. A record whose ``ce_type`` is not the expected
one, or whose value does not decode, is refused with a reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

import msgspec

from bus.base import Record
from schemas.ais import PositionReport, StaticReport

VESSEL_POSITION_TYPES = frozenset({1, 2, 3, 18, 19, 27})
"""Message types sent by vessels (not base stations, aids to navigation or aircraft)."""


class MmsiFlags(msgspec.Struct):
    valid: bool = True
    placeholder: bool = False
    kind: str = "unknown"
    reason: str | None = None


class PositionView(msgspec.Struct):
    mmsi: int
    msg_type: int
    event_time: datetime
    lat: float | None = None
    lon: float | None = None
    speed_kn: float | None = None
    nav_status: int | None = None
    station: str | None = None
    source: str = ""
    mmsi_info: MmsiFlags = msgspec.field(default_factory=MmsiFlags)


class StaticView(msgspec.Struct):
    mmsi: int
    msg_type: int
    event_time: datetime
    name: str | None = None
    callsign: str | None = None
    imo: int | None = None
    ship_type: int | None = None


T = TypeVar("T")


class WireError(ValueError):
    """A record fusion cannot read."""


_positions = msgspec.json.Decoder(PositionView)
_statics = msgspec.json.Decoder(StaticView)
_POSITION_TYPE = PositionReport.ce_type.encode()
_STATIC_TYPE = StaticReport.ce_type.encode()


def _ce_type(record: Record) -> bytes | None:
    for name, value in record.headers:
        if name == "ce_type":
            return value
    return None


def read_position(record: Record) -> PositionView:
    return _read(record, _POSITION_TYPE, _positions)


def read_static(record: Record) -> StaticView:
    return _read(record, _STATIC_TYPE, _statics)


def _read(record: Record, ce_type: bytes, decoder: msgspec.json.Decoder[T]) -> T:
    found = _ce_type(record)
    if found != ce_type:
        raise WireError(f"event type {found!r} is not {ce_type.decode()!r}")
    if record.value is None:
        raise WireError("a tombstone on a time-based topic")
    try:
        return decoder.decode(record.value)
    except msgspec.ValidationError as exc:
        raise WireError(f"invalid {ce_type.decode()}: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise WireError(f"not JSON: {exc}") from exc
