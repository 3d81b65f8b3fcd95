"""The demo's zones and watchlist, published through the config topics like any other
(``lookout config load`` does the same with files): the scenario's own, plus a few zones
around Bali so the live picture has something to show; and a patrol's sighting of a boat
no AIS position explains (a dark target), published to ``patrol.reports`` as the intake
would."""

from __future__ import annotations

import uuid
from datetime import timedelta

from bus.base import Bus, Outgoing
from ingest.scenario import ORIGIN_LAT, ORIGIN_LON, Scenario
from schemas.config import Geofence, PolygonGeometry, ZoneKind, default_rules
from schemas.patrol import ObservedActivity, PatrolReport, ReporterKind
from schemas.topics import Topic
from store.db import connect


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


DEMO_AGENCY = "DEMO-PATROL"


def demo_sightings(scenario: Scenario) -> list[PatrolReport]:
    """A sighting 20 nm north of the scenario's lanes, where no vessel transmits, an hour
    before the scenario ends (its id derives from the scenario's start: a restart of the
    demo republishes the same report)."""
    seen = scenario.end - timedelta(hours=1)
    return [
        PatrolReport(
            report_id=uuid.uuid5(uuid.NAMESPACE_URL, f"lookout-demo-sighting-{scenario.start}"),
            agency=DEMO_AGENCY,
            reporter_kind=ReporterKind.PATROL_AIRCRAFT,
            observed_at=seen,
            received_at=seen,
            lat=ORIGIN_LAT + 0.35,
            lon=ORIGIN_LON + 0.4,
            uncertainty_m=500.0,
            activity=ObservedActivity.PEOPLE_SMUGGLING,
            vessel_description="wooden boat, no lights, about 15 m",
            persons_on_board=12,
        )
    ]


async def publish_demo_sightings(bus: Bus, scenario: Scenario, database_url: str) -> None:
    """The demo patrol's agency first (the store keeps reports under their agency)."""
    async with await connect(database_url) as conn:
        await conn.execute(
            "INSERT INTO agencies (agency_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (DEMO_AGENCY, "Demo patrol"),
        )
    await bus.publish_many(
        [Outgoing(Topic.PATROL_REPORTS, str(r.report_id), r) for r in demo_sightings(scenario)]
    )


async def publish_demo_config(bus: Bus, scenario: Scenario) -> None:
    zones = [*scenario.zones, *bali_zones(scenario)]
    await bus.publish_many(
        [Outgoing(Topic.CONFIG_GEOFENCES, z.geofence_id, z) for z in zones]
        + [Outgoing(Topic.CONFIG_WATCHLIST, e.entry_id, e) for e in scenario.watchlist]
    )
