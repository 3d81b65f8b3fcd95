"""Public models of the API: what callers send and receive. Storage models stay in
``store``; these say what each field means, with examples for the OpenAPI document."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from schemas.alerts import AlertRule, AlertStatus, Severity
from schemas.assets import NearestAsset
from schemas.config import GeofenceRules, PolygonGeometry, ZoneKind
from schemas.patrol import ObservedActivity, ReporterKind
from schemas.units import Latitude, Longitude, Mmsi, UtcDatetime


class Vessel(BaseModel):
    """A vessel's identity (from its static reports) and its latest position."""

    mmsi: int = Field(examples=[525012345])
    name: str | None = Field(default=None, examples=["KM SINAR JAYA"])
    callsign: str | None = None
    imo: int | None = None
    ship_type: int | None = Field(default=None, description="ITU-R M.1371 ship type.")
    to_bow_m: int | None = None
    to_stern_m: int | None = None
    to_port_m: int | None = None
    to_starboard_m: int | None = None
    draught_m: float | None = None
    destination: str | None = None
    eta: str | None = None
    identity_time: datetime | None = None
    time: datetime | None = Field(default=None, description="Event time of the last position.")
    lat: float | None = None
    lon: float | None = None
    speed_kn: float | None = None
    course_deg: float | None = None
    heading_deg: int | None = None
    nav_status: int | None = None
    mmsi_valid: bool = True
    mmsi_kind: str | None = None
    flag_country: str | None = None


class VesselPage(BaseModel):
    items: list[Vessel]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end.")


class AreaQuestion(BaseModel):
    """Which vessels were inside ``geometry`` between ``start`` and ``end``?"""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "geometry": {
                        "type": "Polygon",
                        "coordinates": [
                            [
                                [115.0, -9.0],
                                [116.0, -9.0],
                                [116.0, -8.0],
                                [115.0, -8.0],
                                [115.0, -9.0],
                            ]
                        ],
                    },
                    "start": "2026-03-01T00:00:00Z",
                    "end": "2026-03-02T00:00:00Z",
                }
            ]
        }
    )

    geometry: PolygonGeometry
    start: UtcDatetime
    end: UtcDatetime


class Presence(BaseModel):
    mmsi: int
    first_seen: datetime
    last_seen: datetime
    points_inside: int


class Alert(BaseModel):
    """An alert as the watch floor sees it: fusion's facts and the people's decisions."""

    alert_id: uuid.UUID
    rule: AlertRule
    status: AlertStatus
    severity: Severity
    score: float
    subject: str
    mmsis: list[int]
    title: str
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    lat: float | None
    lon: float | None
    geofence_id: str | None
    evidence: dict[str, JsonValue]
    source_agency: str | None = Field(description="Agency whose report raised it; null: AIS.")
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    closed_by: str | None
    notes: str
    change_seq: int | None = Field(
        default=None, description="Number of the alert's last change (the live stream's id)."
    )


class AlertPage(BaseModel):
    items: list[Alert]
    next_cursor: str | None


class AlertDetail(Alert):
    """One alert with its evidence resolved: the vessel's track around it, the zone, the
    other vessel, the sighting (each when the alert has one and the caller may see it)."""

    track: dict[str, Any] | None = Field(default=None, description="GeoJSON of the track.")
    zone: dict[str, Any] | None = Field(default=None, description="GeoJSON Feature.")
    other_vessel: Vessel | None = None
    sighting: Report | None = None
    nearest_assets: list[NearestAsset] = Field(
        default_factory=list,
        description="The nearest available assets the caller may see, soonest first (by sea "
        "around land; computed now, never stored with the alert).",
    )


class Decision(BaseModel):
    note: str = Field(default="", max_length=2000, examples=["Patrol boat KN-301 tasked."])


class ReportIn(BaseModel):
    """One sighting. The agency comes from the key, the time of receipt from the server."""

    model_config = ConfigDict(extra="forbid")

    observed_at: UtcDatetime = Field(examples=["2026-03-01T04:30:00Z"])
    lat: Latitude = Field(examples=[-8.72])
    lon: Longitude = Field(examples=[115.18])
    report_id: uuid.UUID | None = Field(
        default=None, description="Your id for the report (resending it never duplicates)."
    )
    reporter_kind: ReporterKind = ReporterKind.OTHER
    activity: ObservedActivity = ObservedActivity.UNKNOWN
    uncertainty_m: float = Field(default=1000.0, gt=0, le=100_000)
    vessel_description: str = Field(default="", max_length=2000, examples=["wooden boat"])
    vessel_name: str | None = Field(default=None, max_length=64)
    mmsi: Mmsi | None = None
    persons_on_board: int | None = Field(default=None, ge=0, le=10_000)
    heading_deg: float | None = Field(default=None, ge=0, lt=360)
    speed_kn: float | None = Field(default=None, ge=0, le=102.2)
    notes: str = Field(default="", max_length=4000)


class Created(BaseModel):
    report_id: uuid.UUID


class CreatedMany(BaseModel):
    report_ids: list[uuid.UUID]


class Report(BaseModel):
    report_id: uuid.UUID
    agency_id: str
    reporter_kind: str
    observed_at: datetime
    received_at: datetime
    lat: float
    lon: float
    uncertainty_m: float
    activity: str
    vessel_description: str
    vessel_name: str | None
    mmsi: int | None
    persons_on_board: int | None
    heading_deg: float | None
    speed_kn: float | None
    notes: str


class ReportPage(BaseModel):
    items: list[Report]
    next_cursor: str | None


class ZoneProperties(BaseModel):
    """What a zone is, apart from its shape (a GeoJSON Feature's properties)."""

    name: str = Field(min_length=1, max_length=200, examples=["Lombok Strait TSS"])
    kind: ZoneKind
    rules: GeofenceRules = Field(default_factory=GeofenceRules)
    active: bool = True


class GeofenceIn(ZoneProperties):
    """A zone: a GeoJSON Polygon or MultiPolygon (WGS 84) and the alerts it raises."""

    model_config = ConfigDict(extra="forbid")

    geometry: PolygonGeometry


class GeofenceOut(BaseModel):
    geofence_id: str
    name: str
    kind: str
    geometry: dict[str, Any]
    rules: dict[str, Any]
    owner_agency: str | None
    active: bool
    updated_at: datetime


class GeofencePage(BaseModel):
    items: list[GeofenceOut]
    next_cursor: str | None


class WatchlistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mmsi: Mmsi | None = None
    imo: int | None = Field(default=None, ge=1, le=999_999_999)
    callsign: str | None = Field(default=None, max_length=7)
    name: str | None = Field(default=None, max_length=64)
    reason: str = Field(min_length=1, max_length=500, examples=["suspected people smuggling"])
    severity: Severity = Severity.HIGH


class WatchlistOut(BaseModel):
    entry_id: str
    mmsi: int | None
    imo: int | None
    callsign: str | None
    name: str | None
    reason: str
    severity: str
    owner_agency: str | None
    updated_at: datetime


class WatchlistPage(BaseModel):
    items: list[WatchlistOut]
    next_cursor: str | None


class Accepted(BaseModel):
    """A change published to its config topic; the tables follow within moments."""

    id: str
    status: Literal["published"] = "published"


AlertDetail.model_rebuild()
