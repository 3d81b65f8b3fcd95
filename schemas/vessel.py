"""What an MMSI says about its bearer (ITU-R M.585), carried as flags on every AIS event."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
from msgspec import Meta


class MmsiKind(StrEnum):
    """The station class an MMSI's digit pattern denotes (ITU-R M.585)."""

    SHIP = "ship"
    COAST_STATION = "coast_station"  # 00MIDxxxx
    GROUP = "group"  # 0MIDxxxxx
    SAR_AIRCRAFT = "sar_aircraft"  # 111MIDxxx
    AID_TO_NAVIGATION = "aid_to_navigation"  # 99MIDxxxx
    CRAFT_ASSOCIATED = "craft_associated"  # 98MIDxxxx (tenders, boats of a parent ship)
    HANDHELD_VHF = "handheld_vhf"  # 8MIDxxxxx
    SART = "sart"  # 970xxxxxx AIS search-and-rescue transmitter
    MOB = "mob"  # 972xxxxxx man-overboard device
    EPIRB = "epirb"  # 974xxxxxx emergency position-indicating radio beacon
    UNKNOWN = "unknown"


class MmsiInfo(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Validity flags for an MMSI. An invalid MMSI is flagged, never a reason to drop a report:
    a vessel hiding behind a made-up number is exactly what a watch officer needs to see.
    A msgspec Struct: it travels inside every AIS event (``schemas.wire_event``)."""

    valid: Annotated[
        bool, Meta(description="Nine digits with a known MID, or a recognised special range.")
    ]
    kind: MmsiKind = MmsiKind.UNKNOWN
    mid: Annotated[int | None, Meta(description="Maritime Identification Digits (country).")] = None
    country: Annotated[str | None, Meta(description="ISO 3166-1 alpha-2 of the MID's flag.")] = None
    placeholder: Annotated[
        bool,
        Meta(
            description="A number commonly left in unconfigured transponders "
            "(123456789, 0, 1193046…)."
        ),
    ] = False
    reason: Annotated[str | None, Meta(description="Why it is invalid, for a reader.")] = None
