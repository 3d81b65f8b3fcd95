"""The demo's zones and watchlist, published through the config topics like any other
(``lookout config load`` does the same with files): the scenario's own, plus a few zones
around Bali so the live picture has something to show."""

from __future__ import annotations

from bus.base import Bus, Outgoing
from ingest.scenario import Scenario
from schemas.config import Geofence, PolygonGeometry, ZoneKind, default_rules
from schemas.topics import Topic


def _box(west: float, south: float, east: float, north: float) -> PolygonGeometry:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return PolygonGeometry(type="Polygon", coordinates=[ring])


def bali_zones(scenario: Scenario) -> list[Geofence]:
    at = scenario.start
    zones = [
        ("bali-benoa-port", "Benoa port", ZoneKind.PORT, _box(115.20, -8.77, 115.24, -8.73)),
        (
            "bali-nusa-penida-mpa",
            "Nusa Penida marine protected area",
            ZoneKind.MARINE_PROTECTED_AREA,
            _box(115.40, -8.85, 115.65, -8.65),
        ),
        (
            "bali-lombok-strait-restricted",
            "Lombok Strait exercise area",
            ZoneKind.RESTRICTED,
            _box(115.75, -8.95, 115.85, -8.85),
        ),
    ]
    return [
        Geofence(
            geofence_id=zone_id,
            name=name,
            kind=kind,
            geometry=geometry,
            rules=default_rules(kind),
            updated_at=at,
        )
        for zone_id, name, kind, geometry in zones
    ]


async def publish_demo_config(bus: Bus, scenario: Scenario) -> None:
    zones = [*scenario.zones, *bali_zones(scenario)]
    await bus.publish_many(
        [Outgoing(Topic.CONFIG_GEOFENCES, z.geofence_id, z) for z in zones]
        + [Outgoing(Topic.CONFIG_WATCHLIST, e.entry_id, e) for e in scenario.watchlist]
    )
