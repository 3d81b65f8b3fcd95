"""AIS safety-related messages (types 12 and 14) as they travel on ``ais.safety``.

A type 14 is a broadcast, a type 12 is addressed to one station (``dest_mmsi``). Both carry
free text in six-bit ASCII: AIS-SART, man-overboard and EPIRB-AIS devices send fixed texts
("SART ACTIVE", "SART TEST", "MOB ACTIVE", "MOB TEST", IEC 61097-14), and a crew may type
anything, "MAYDAY" included. ``kind`` is ingest's reading of the text (``SafetyKind``), so
fusion, the store and the watch floor read one classification, not each their own.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from msgspec import Meta

from schemas.vessel import MmsiInfo
from schemas.wire_event import WireEvent, utc_event_time
from schemas.wire_units import EventTime, Mmsi

SAFETY_MESSAGE_TYPES = frozenset({12, 14})


class SafetyKind(StrEnum):
    """What a safety message's text says, as far as a rescue is concerned.

    Read from the words of the text (upper case, split on anything not a letter or digit):

    - ``sart_active``: "SART" or "EPIRB" without "TEST" (an AIS-SART or EPIRB-AIS has been
      activated: a survival craft or a person in the water is sending its position);
    - ``sart_test``: "SART" or "EPIRB" with "TEST" (the device's own test transmission);
    - ``mob``: "MOB" or "MAN OVERBOARD" without "TEST";
    - ``mob_test``: "MOB" or "MAN OVERBOARD" with "TEST";
    - ``mayday``: "MAYDAY" (a person typed a distress call; never read as a test);
    - ``other``: anything else (navigational warnings, "PAN PAN", chatter).

    The first rule that matches wins, in that order of checking: device words, then MAYDAY.
    """

    SART_ACTIVE = "sart_active"
    MOB = "mob"
    MAYDAY = "mayday"
    SART_TEST = "sart_test"
    MOB_TEST = "mob_test"
    OTHER = "other"

    @classmethod
    def of_text(cls, text: str) -> SafetyKind:
        """The kind of a safety message's text, by the rules above."""
        words = set(_WORDS.findall(text.upper()))
        test = "TEST" in words
        if words & {"SART", "EPIRB"}:
            return cls.SART_TEST if test else cls.SART_ACTIVE
        if "MOB" in words or _MAN_OVERBOARD.search(text.upper()):
            return cls.MOB_TEST if test else cls.MOB
        if "MAYDAY" in words:
            return cls.MAYDAY
        return cls.OTHER

    @property
    def is_distress(self) -> bool:
        """True for the kinds that call for a rescue (and a distress alert)."""
        return self in _DISTRESS_KINDS

    @property
    def is_test(self) -> bool:
        return self in (SafetyKind.SART_TEST, SafetyKind.MOB_TEST)


_WORDS = re.compile(r"[A-Z0-9]+")
_MAN_OVERBOARD = re.compile(r"\bMAN\W+OVER\W*BOARD\b")
_DISTRESS_KINDS = frozenset({SafetyKind.SART_ACTIVE, SafetyKind.MOB, SafetyKind.MAYDAY})


class SafetyMessage(WireEvent, frozen=True, kw_only=True, gc=False):
    """One safety-related message of one station (event time = reception at the antenna).

    Natural key (for idempotent storage): ``(mmsi, event_time, msg_type, text)``.
    A msgspec Struct like the other AIS events (``schemas.wire_event``).
    """

    ce_type = "lookout.ais.safety.v1"

    mmsi: Annotated[Mmsi, Meta(description="The sender.")]
    msg_type: Annotated[int, Meta(description="12 (addressed) or 14 (broadcast).")]
    dest_mmsi: (
        Annotated[
            Mmsi, Meta(description="The addressee of a type 12; None for a broadcast (type 14).")
        ]
        | None
    ) = None
    text: Annotated[
        str, Meta(max_length=161, description="The text, '@' padding and blanks stripped.")
    ]
    kind: Annotated[SafetyKind, Meta(description="Ingest's reading of the text (see SafetyKind).")]
    event_time: Annotated[
        EventTime,
        Meta(description="UTC reception time: NMEA 4.0 tag block c:, else the time of ingest."),
    ]
    station: Annotated[str, Meta(description="Receiving station (tag block s:).")] | None = None
    source: Annotated[str, Meta(description="The feed this came from, e.g. tcp://relay:5631.")]
    mmsi_info: MmsiInfo

    def __post_init__(self) -> None:
        if self.msg_type not in SAFETY_MESSAGE_TYPES:
            raise ValueError(
                f"msg_type: message type {self.msg_type} is not a safety-related message"
            )
        utc_event_time(self, "event_time", self.event_time)

    def occurred_at(self) -> datetime:
        return self.event_time

    @property
    def key(self) -> str:
        return str(self.mmsi)
