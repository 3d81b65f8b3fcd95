"""The nearest help to an alert: the reader's visible, available assets ranked by how
soon each could be there.

Ranked by time to reach at cruising speed (a helicopter 80 nm off beats a boat 20 nm off),
then by distance. Ships and boats go by sea around land (``RouteFinder.routes``: one search
from the alert reaches every asset); aircraft fly the great circle. The method of each
distance is named in the result, with the reason whenever the great circle stood in for a
sea route. Computed when an alert is read, from the assets the reader may see: never
stored, so no agency learns of another's hidden asset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from schemas.assets import Asset, AssetKind, NearestAsset

LatLon = tuple[float, float]


class Route(Protocol):
    @property
    def distance_nm(self) -> float: ...
    @property
    def method(self) -> Literal["sea_grid", "great_circle"]: ...
    @property
    def path(self) -> tuple[LatLon, ...]: ...
    @property
    def note(self) -> str: ...


class RouteFinder(Protocol):
    """Distances over the water (fusion.geo.searoute.SeaRouter is the one Lookout ships;
    the composition root hands it to the API)."""

    def routes(self, origin: LatLon, targets: Sequence[LatLon]) -> Sequence[Route]:
        """The route from ``origin`` to each target, in their order."""
        ...

    def great_circle(self, origin: LatLon, target: LatLon) -> Route: ...


def nearest_assets(
    alert_at: LatLon,
    assets: Sequence[Asset],
    finder: RouteFinder,
    *,
    limit: int,
    max_range_nm: float,
) -> list[NearestAsset]:
    """Up to ``limit`` available assets with a known position, whose great-circle
    distance is within ``max_range_nm``, soonest first."""
    placed = [
        (a, (a.lat, a.lon))
        for a in assets
        if a.available and a.lat is not None and a.lon is not None
    ]
    in_range = [
        (asset, where, line)
        for asset, where in placed
        if (line := finder.great_circle(alert_at, where)).distance_nm <= max_range_nm
    ]
    by_sea = [
        (asset, where) for asset, where, _ in in_range if asset.kind is not AssetKind.AIRCRAFT
    ]
    sea_routes = finder.routes(alert_at, [where for _, where in by_sea])
    route_of = {asset.asset_id: route for (asset, _), route in zip(by_sea, sea_routes, strict=True)}
    found = []
    for asset, where, line in in_range:
        route = route_of.get(asset.asset_id, line)
        note = "aircraft fly the great circle" if asset.kind is AssetKind.AIRCRAFT else route.note
        found.append(
            NearestAsset(
                asset_id=asset.asset_id,
                agency_id=asset.agency_id,
                name=asset.name,
                kind=asset.kind,
                own=asset.own,
                lat=where[0],
                lon=where[1],
                position_at=asset.position_at,
                distance_nm=round(route.distance_nm, 2),
                time_to_reach_min=round(route.distance_nm / asset.cruising_speed_kn * 60.0, 1),
                method=route.method,
                note=note,
                route=list(reversed(route.path)),
            )
        )
    found.sort(key=lambda n: (n.time_to_reach_min, n.distance_nm))
    return found[:limit]
