"""Patrol assets (ships, boats, aircraft) of the agencies, and the nearest help to an alert.

An agency registers its assets; one with AIS is tracked from the feed by its MMSI, one
without reports its position over the API. ``NearestAsset`` is computed when an alert is
read, from the assets the reader may see, and is never stored in the alert: no agency
learns of another's asset that is not shared with partners.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.units import Latitude, Longitude, Mmsi, UtcDatetime

MIN_SPEED_KN = 0.1
"""Slowest speed an asset may be registered with, kn: time to reach divides by it."""
MAX_SPEED_KN = 1000.0
"""Fastest, kn (a jet; SAR aircraft report up to 1022 kn in AIS type 9)."""


class AssetKind(StrEnum):
    SHIP = "ship"
    BOAT = "boat"
    AIRCRAFT = "aircraft"


class AssetCreate(BaseModel):
    """What an agency sends to register an asset."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    kind: AssetKind
    mmsi: Mmsi | None = Field(default=None, description="Set when it carries AIS.")
    cruising_speed_kn: float = Field(
        ge=MIN_SPEED_KN, le=MAX_SPEED_KN, description="Knots, for time to reach."
    )
    max_speed_kn: float = Field(ge=MIN_SPEED_KN, le=MAX_SPEED_KN, description="Knots.")
    available: bool = Field(default=True, description="Ready to be tasked.")
    shared_with_partners: bool = Field(
        default=False, description="Whether other agencies may see it (and its position)."
    )

    @model_validator(mode="after")
    def _max_not_below_cruising(self) -> AssetCreate:
        if self.max_speed_kn < self.cruising_speed_kn:
            raise ValueError(
                f"maximum speed {self.max_speed_kn} kn is below cruising speed "
                f"{self.cruising_speed_kn} kn"
            )
        return self


class AssetUpdate(BaseModel):
    """A partial change; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=64)
    mmsi: Mmsi | None = None
    cruising_speed_kn: float | None = Field(default=None, ge=MIN_SPEED_KN, le=MAX_SPEED_KN)
    max_speed_kn: float | None = Field(default=None, ge=MIN_SPEED_KN, le=MAX_SPEED_KN)
    available: bool | None = None
    shared_with_partners: bool | None = None


class AssetPositionReport(BaseModel):
    """A position reported over the API by an asset without AIS."""

    model_config = ConfigDict(extra="forbid")

    lat: Latitude
    lon: Longitude
    at: UtcDatetime = Field(description="When the asset was there, UTC.")


class Asset(BaseModel):
    """An asset as the API shows it (own, or a partner's shared one)."""

    asset_id: uuid.UUID
    agency_id: str
    name: str
    kind: AssetKind
    mmsi: Mmsi | None
    cruising_speed_kn: float
    max_speed_kn: float
    available: bool
    shared_with_partners: bool
    own: bool = Field(description="True when it belongs to the reader's agency.")
    lat: Latitude | None = Field(description="Last known position (AIS or reported).")
    lon: Longitude | None
    position_at: UtcDatetime | None = Field(description="When it was last known there.")
    position_source: Literal["ais", "reported"] | None


class NearestAsset(BaseModel):
    """One available asset and how soon it could be on scene, ranked by time to reach."""

    asset_id: uuid.UUID
    agency_id: str
    name: str
    kind: AssetKind
    own: bool
    lat: Latitude
    lon: Longitude
    position_at: UtcDatetime | None
    distance_nm: float = Field(description="Along ``route``: by sea around land, or straight.")
    time_to_reach_min: float = Field(description="distance / cruising speed, minutes.")
    method: Literal["sea_grid", "great_circle"] = Field(
        description="How the distance was measured: a route on a sea grid around the "
        "coastline, or the great circle (aircraft, or no sea route found)."
    )
    note: str = Field(default="", description="Why the great circle was used, when it was.")
    route: list[tuple[float, float]] = Field(
        description="(lat, lon) points from the asset to the alert, to draw."
    )
