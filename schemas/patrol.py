"""Sightings reported by patrols and coastal communities, on ``patrol.reports``."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from schemas.envelope import Event
from schemas.units import Latitude, Longitude, Mmsi, UtcDatetime


class ReporterKind(StrEnum):
    PATROL_VESSEL = "patrol_vessel"
    PATROL_AIRCRAFT = "patrol_aircraft"
    COASTAL_COMMUNITY = "coastal_community"
    FISHER = "fisher"
    OTHER = "other"


class ObservedActivity(StrEnum):
    """What the observer believes the vessel was doing (Bali Process concerns first)."""

    PEOPLE_SMUGGLING = "people_smuggling"
    TRAFFICKING = "trafficking"
    ILLEGAL_FISHING = "illegal_fishing"
    TRANSSHIPMENT = "transshipment"
    DISTRESS = "distress"
    TRANSIT = "transit"
    UNKNOWN = "unknown"


class PatrolReport(Event):
    """One sighting of a vessel at sea by a patrol or a community member."""

    ce_type = "lookout.patrol.report.v1"

    report_id: uuid.UUID = Field(description="Stable id chosen by the reporter; dedup key.")
    agency: str = Field(min_length=1, max_length=64, description="Reporting agency code.")
    reporter_kind: ReporterKind
    observed_at: UtcDatetime = Field(description="When the vessel was seen, UTC.")
    received_at: UtcDatetime = Field(description="When Lookout accepted the report, UTC.")
    lat: Latitude
    lon: Longitude
    uncertainty_m: float = Field(
        default=1000.0, gt=0, le=100_000, description="Radius of position uncertainty, metres."
    )
    activity: ObservedActivity = ObservedActivity.UNKNOWN
    vessel_description: str = Field(default="", max_length=2000)
    vessel_name: str | None = Field(default=None, max_length=64)
    mmsi: Mmsi | None = None
    persons_on_board: int | None = Field(default=None, ge=0, le=10_000)
    heading_deg: float | None = Field(default=None, ge=0, lt=360)
    speed_kn: float | None = Field(default=None, ge=0, le=102.2)
    notes: str = Field(default="", max_length=4000)

    def occurred_at(self) -> datetime:
        return self.observed_at
