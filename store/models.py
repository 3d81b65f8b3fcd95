"""What the store's queries return (pydantic v2), separate from the wire events: the API
serialises these, and nothing internal to the tables leaks by accident."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

from schemas.alerts import AlertRule, AlertStatus, Severity
from schemas.units import Latitude, Longitude, Mmsi, UtcDatetime


class BoundingBox(BaseModel):
    """An area given by its west, south, east and north edges (WGS 84 degrees). A box that
    crosses the antimeridian is not supported: ask for its two halves."""

    model_config = ConfigDict(frozen=True)

    min_lon: Longitude
    min_lat: Latitude
    max_lon: Longitude
    max_lat: Latitude

    @model_validator(mode="after")
    def _ordered(self) -> BoundingBox:
        if self.min_lat > self.max_lat:
            raise ValueError(f"south edge {self.min_lat} is north of north edge {self.max_lat}")
        if self.min_lon > self.max_lon:
            raise ValueError(
                f"west edge {self.min_lon} is east of east edge {self.max_lon} "
                "(boxes across the antimeridian: query each side)"
            )
        return self

    @classmethod
    def parse(cls, text: str) -> BoundingBox:
        """From 'west,south,east,north', the order of GeoJSON's bbox and of most web maps."""
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError("a bounding box is 'west,south,east,north'")
        west, south, east, north = (float(p) for p in parts)
        return cls(min_lon=west, min_lat=south, max_lon=east, max_lat=north)


class VesselLatest(BaseModel):
    """A vessel on the COP: identity and latest known position."""

    mmsi: Mmsi
    name: str | None = None
    callsign: str | None = None
    imo: int | None = None
    ship_type: int | None = None
    time: UtcDatetime
    lat: Latitude
    lon: Longitude
    speed_kn: float | None = None
    course_deg: float | None = None
    heading_deg: int | None = None
    nav_status: int | None = None
    mmsi_valid: bool = True
    flag_country: str | None = None
    seconds_since_seen: float = Field(description="Seconds between the last report and now.")

    def feature(self) -> dict[str, JsonValue]:
        """A GeoJSON Feature (Point, [lon, lat]); every other field is a property."""
        properties = self.model_dump(mode="json", exclude={"lat", "lon"})
        return {
            "type": "Feature",
            "id": self.mmsi,
            "geometry": {"type": "Point", "coordinates": [self.lon, self.lat]},
            "properties": properties,
        }


def feature_collection(vessels: list[VesselLatest]) -> dict[str, JsonValue]:
    return {"type": "FeatureCollection", "features": [v.feature() for v in vessels]}


class TrackPoint(BaseModel):
    time: UtcDatetime
    lat: Latitude
    lon: Longitude
    speed_kn: float | None = None
    course_deg: float | None = None
    heading_deg: int | None = None


class Track(BaseModel):
    """A vessel's positions in [start, end), oldest first."""

    mmsi: Mmsi
    start: UtcDatetime
    end: UtcDatetime
    total_points: int = Field(description="Positions stored in the range before downsampling.")
    downsampled: bool
    points: list[TrackPoint]


class VesselPresence(BaseModel):
    """A vessel that reported at least one position inside an area during a window."""

    mmsi: Mmsi
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    points_inside: int


class IdentityChange(BaseModel):
    mmsi: Mmsi
    changed_at: UtcDatetime
    name: str | None
    callsign: str | None
    imo: int | None
    ship_type: int | None
    previous_name: str | None
    previous_callsign: str | None
    previous_imo: int | None
    previous_ship_type: int | None
    changed_fields: list[str]
    source: str


class StoredAlert(BaseModel):
    """An alert as the watch floor sees it: fusion's facts plus its human life cycle."""

    alert_id: uuid.UUID
    rule: AlertRule
    status: AlertStatus
    severity: Severity
    score: float
    subject: str
    mmsis: list[int]
    title: str
    started_at: UtcDatetime
    updated_at: UtcDatetime
    ended_at: UtcDatetime | None
    lat: float | None
    lon: float | None
    geofence_id: str | None
    evidence: dict[str, JsonValue]
    source_agency: str | None
    acknowledged_by: str | None
    acknowledged_at: UtcDatetime | None
    closed_by: str | None
    notes: str


class AlertQuery(BaseModel):
    """Alert search. Every filter is optional; the time window selects alerts whose life
    overlaps it (started before ``until``, not ended before ``since``)."""

    rules: list[AlertRule] | None = None
    severities: list[Severity] | None = None
    statuses: list[AlertStatus] | None = None
    bbox: BoundingBox | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None
    mmsi: Mmsi | None = None
    order: Literal["newest", "oldest"] = "newest"
    limit: int = Field(default=100, ge=1, le=5000)
    offset: int = Field(default=0, ge=0)
