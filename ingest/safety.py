"""AIS safety-related messages (types 12 and 14) into ``SafetyMessage`` events.

They are rare but are the messages a rescue depends on (an AIS-SART saying "SART ACTIVE"),
so they are decoded and published on ``ais.safety`` rather than rejected as unsupported.
The text's classification is ``SafetyKind.of_text`` (schemas/safety.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.safety import SAFETY_MESSAGE_TYPES, SafetyKind, SafetyMessage
from schemas.vessel import MmsiInfo

SAFETY_TYPES = SAFETY_MESSAGE_TYPES

MIN_PAYLOAD_BITS: dict[int, int] = {
    # ITU-R M.1371 header lengths (type 12: 72 bits up to the text, type 14: 40) plus one
    # six-bit character: a message without a single character of text says nothing.
    12: 78,
    14: 46,
}


def safety_message(
    msg: Any,
    msg_type: int,
    event_time: datetime,
    source: str,
    station: str | None,
    mmsi_info: MmsiInfo,
) -> SafetyMessage:
    """A SafetyMessage of a decoded type 12 or 14 message (pyais ``MessageType12/14``)."""
    text = _text(msg.text)
    return SafetyMessage.validated(
        {
            "mmsi": msg.mmsi,
            "msg_type": msg_type,
            "dest_mmsi": msg.dest_mmsi if msg_type == 12 else None,
            "text": text,
            "kind": SafetyKind.of_text(text),
            "event_time": event_time,
            "station": station,
            "source": source,
            "mmsi_info": mmsi_info,
        }
    )


def _text(value: str | None) -> str:
    """Six-bit text pads with '@' (and often blanks) up to the slot's end: both go."""
    return (value or "").replace("@", " ").strip()
