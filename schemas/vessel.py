"""What an MMSI says about its bearer (ITU-R M.585), carried as flags on every AIS event."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


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


class MmsiInfo(BaseModel):
    """Validity flags for an MMSI. An invalid MMSI is flagged, never a reason to drop a report:
    a vessel hiding behind a made-up number is exactly what a watch officer needs to see."""

    model_config = ConfigDict(frozen=True)

    valid: bool = Field(description="Nine digits with a known MID, or a recognised special range.")
    kind: MmsiKind = MmsiKind.UNKNOWN
    mid: int | None = Field(default=None, description="Maritime Identification Digits (country).")
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 of the MID's flag.")
    placeholder: bool = Field(
        default=False,
        description="A number commonly left in unconfigured transponders (123456789, 0, 1193046…).",
    )
    reason: str | None = Field(default=None, description="Why it is invalid, for a reader.")
