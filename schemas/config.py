"""Operational configuration that travels on compacted topics: geofences and the watchlist."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.alerts import Severity
from schemas.envelope import Event
from schemas.units import Mmsi, UtcDatetime


class ZoneKind(StrEnum):
    RESTRICTED = "restricted"
    MARINE_PROTECTED_AREA = "marine_protected_area"
    TERRITORIAL_SEA = "territorial_sea"
    EEZ = "eez"
    ANCHORAGE = "anchorage"
    PORT = "port"
    FISHING_GROUND = "fishing_ground"


class PolygonGeometry(BaseModel):
    """A GeoJSON Polygon or MultiPolygon in WGS 84 (longitude, latitude)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: list[Any]

    @model_validator(mode="after")
    def _check_rings(self) -> PolygonGeometry:
        polygons = [self.coordinates] if self.type == "Polygon" else self.coordinates
        if not polygons:
            raise ValueError("geometry has no polygon")
        for polygon in polygons:
            if not isinstance(polygon, list) or not polygon:
                raise ValueError("a polygon needs at least one ring")
            for ring in polygon:
                if not isinstance(ring, list) or len(ring) < 4:
                    raise ValueError("a ring needs at least four positions")
                for point in ring:
                    if not (isinstance(point, list | tuple) and len(point) >= 2):
                        raise ValueError("a position is [longitude, latitude]")
                    lon, lat = float(point[0]), float(point[1])
                    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                        raise ValueError(f"position [{lon}, {lat}] out of range")
                if list(ring[0])[:2] != list(ring[-1])[:2]:
                    raise ValueError("a ring must be closed (first position equals last)")
        for polygon in polygons:
            crossing = _crossing(polygon)
            if crossing:
                raise ValueError(
                    f"Self-intersection at {crossing} (lon, lat): edges of the polygon cross, "
                    "so it has no single inside; put its positions in drawing order"
                )
        return self


def _crossing(rings: list[Any]) -> str | None:
    """Where two edges of one polygon cross, as "lon, lat", if they do (GEOS
    "Self-intersection"). Fusion repairs other invalid shapes with ``make_valid`` without
    changing what is inside (a ring touching itself at a point is common in GIS exports;
    parts of a multipolygon may overlap), but a crossing ring (a bow tie, a figure eight)
    has no one inside: repaired, it is another zone than the one meant."""
    import shapely  # the geometry library of fusion and the API; only zones need it here

    shape = shapely.Polygon(rings[0], rings[1:])
    reason = shapely.is_valid_reason(shape)
    if reason is None or not reason.startswith("Self-intersection["):
        return None
    return ", ".join(reason.removeprefix("Self-intersection[").rstrip("]").split())


class GeofenceRules(BaseModel):
    """When a zone raises alerts. Thresholds are per zone; None means the global default."""

    model_config = ConfigDict(frozen=True)

    on_enter: bool = True
    on_exit: bool = False
    dwell_s: float | None = Field(
        default=None, gt=0, description="Raise a dwell alert after this long inside, seconds."
    )
    ship_types: list[int] | None = Field(
        default=None, description="Only these ITU ship types (e.g. 30 fishing); None = all."
    )
    min_speed_kn: float | None = Field(default=None, ge=0)
    max_speed_kn: float | None = Field(default=None, ge=0)
    severity: Severity = Severity.MEDIUM
    loiter_min_s: float | None = Field(
        default=None,
        gt=0,
        description="Inside this zone, slow for this long is loitering, seconds, wherever the "
        "shore is (e.g. 3600 in a marine protected area); None: the global rule only.",
    )
    loiter_max_speed_kn: float | None = Field(
        default=None,
        gt=0,
        description="Inside this zone, slower than this counts as slow for loitering, kn; "
        "None: the global speed.",
    )
    gap_s: float | None = Field(
        default=None,
        gt=0,
        description="Inside this zone, AIS silence longer than this is a gap, seconds, wherever "
        "the shore is (e.g. 7200 in a marine protected area); None: the global rule only.",
    )
    rendezvous_distance_m: float | None = Field(
        default=None,
        gt=0,
        le=5000,
        description="Inside this zone, two vessels this close count as together, metres "
        "(e.g. 250, Skylight's rendezvous rule); None: the global rule.",
    )
    rendezvous_min_s: float | None = Field(
        default=None,
        gt=0,
        description="Inside this zone, together this long is a rendezvous, seconds (e.g. "
        "1800, Skylight); None: the global rule.",
    )


def default_rules(kind: ZoneKind) -> GeofenceRules:
    """The rules a zone of this kind gets unless it says otherwise (filled in when a zone is
    loaded, so the config topic holds complete rules)."""
    hours = 3600.0
    fishing = [30]  # ITU-R M.1371 ship type 30: fishing
    match kind:
        case ZoneKind.RESTRICTED:
            return GeofenceRules(on_enter=True, on_exit=True, severity=Severity.HIGH)
        case ZoneKind.MARINE_PROTECTED_AREA:
            return GeofenceRules(
                on_enter=True, dwell_s=2 * hours, ship_types=fishing, gap_s=2 * hours
            )
        case ZoneKind.TERRITORIAL_SEA:
            return GeofenceRules(on_enter=True, severity=Severity.LOW)
        case ZoneKind.EEZ:
            return GeofenceRules(on_enter=True, ship_types=fishing, severity=Severity.LOW)
        case ZoneKind.FISHING_GROUND:
            return GeofenceRules(on_enter=False, dwell_s=2 * hours, severity=Severity.LOW)
        case ZoneKind.ANCHORAGE | ZoneKind.PORT:
            return GeofenceRules(on_enter=False, severity=Severity.LOW)


class Geofence(Event):
    """A named zone of interest and the alerts it raises."""

    ce_type = "lookout.config.geofence.v1"

    geofence_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str = Field(min_length=1, max_length=200)
    kind: ZoneKind
    geometry: PolygonGeometry
    rules: GeofenceRules = Field(default_factory=GeofenceRules)
    owner_agency: str | None = None
    active: bool = True
    updated_at: UtcDatetime

    def occurred_at(self) -> datetime:
        return self.updated_at


class WatchlistEntry(Event):
    """A vessel of interest, identified by any of MMSI, IMO, call sign or (fuzzy) name."""

    ce_type = "lookout.config.watchlist.v1"

    entry_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    mmsi: Mmsi | None = None
    imo: int | None = Field(default=None, ge=1, le=999_999_999)
    callsign: str | None = Field(default=None, max_length=7)
    name: str | None = Field(default=None, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    severity: Severity = Severity.HIGH
    owner_agency: str | None = None
    provenance: str | None = Field(
        default=None,
        max_length=500,
        description="Where the entry comes from (a notice, a file, a person), for the watch "
        "officer who must judge a match.",
    )
    expires_at: UtcDatetime | None = Field(
        default=None, description="Event time after which the entry no longer matches."
    )
    updated_at: UtcDatetime

    @field_validator("callsign", "name")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value.strip().upper() or None if value is not None else None

    @model_validator(mode="after")
    def _one_identifier(self) -> WatchlistEntry:
        if not any((self.mmsi, self.imo, self.callsign, self.name)):
            raise ValueError("a watchlist entry needs an MMSI, IMO, call sign or name")
        return self

    def occurred_at(self) -> datetime:
        return self.updated_at
