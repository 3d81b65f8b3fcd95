"""The nearest help to an alert is ranked by time to reach at cruising speed, by sea around
land for ships and boats, straight for aircraft; unavailable, unplaced and out-of-range
assets are left out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from api.assets.nearest import nearest_assets
from schemas.assets import Asset, AssetKind
from tests.fusion.test_searoute import BALI_SEA, INLAND_BORNEO, NORTH_OF_BALI, router

SOUTH_OF_BALI = (-9.0, 115.2)
FLORES_SEA = (-5.0, 118.0)
SEEN = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def asset(
    name: str,
    kind: AssetKind,
    where: tuple[float, float] | None,
    speed_kn: float = 20.0,
    *,
    available: bool = True,
) -> Asset:
    return Asset(
        asset_id=uuid.uuid5(uuid.NAMESPACE_DNS, name),
        agency_id="BAKAMLA",
        name=name,
        kind=kind,
        mmsi=None,
        cruising_speed_kn=speed_kn,
        max_speed_kn=speed_kn * 1.5,
        available=available,
        shared_with_partners=False,
        own=True,
        lat=where[0] if where else None,
        lon=where[1] if where else None,
        position_at=SEEN if where else None,
        position_source="reported" if where else None,
    )


def test_assets_are_ranked_by_time_to_reach_by_sea_not_by_straight_distance() -> None:
    assets = [
        asset("KN TANJUNG", AssetKind.BOAT, SOUTH_OF_BALI),  # 60 nm straight, ~98 by sea
        asset("KN BIMA", AssetKind.SHIP, BALI_SEA),  # 67 nm, open water
        asset("CN235 P-8301", AssetKind.AIRCRAFT, FLORES_SEA, 150.0),  # 250 nm, flies
        asset("RIB 3", AssetKind.BOAT, (-7.9, 115.1), available=False),  # closest, busy
        asset("RIB 4", AssetKind.BOAT, None),  # no position known
        asset("KN JAUH", AssetKind.SHIP, INLAND_BORNEO),  # beyond range
    ]
    ranked = nearest_assets(NORTH_OF_BALI, assets, router(), limit=5, max_range_nm=300.0)
    print(
        "\n"
        + "\n".join(
            f"{n.name}: {n.distance_nm} nm {n.time_to_reach_min} min {n.method}" for n in ranked
        )
    )
    assert [n.name for n in ranked] == ["CN235 P-8301", "KN BIMA", "KN TANJUNG"]
    plane, ship, boat = ranked
    assert (plane.method, plane.note) == ("great_circle", "aircraft fly the great circle")
    assert (ship.method, boat.method) == ("sea_grid", "sea_grid")
    straight = router().great_circle(NORTH_OF_BALI, SOUTH_OF_BALI).distance_nm
    assert straight < ship.distance_nm < boat.distance_nm  # closer straight, farther by sea
    assert boat.time_to_reach_min == round(boat.distance_nm / 20.0 * 60.0, 1)
    assert boat.route[0] == SOUTH_OF_BALI and boat.route[-1] == NORTH_OF_BALI
    assert nearest_assets(NORTH_OF_BALI, assets, router(), limit=1, max_range_nm=300.0)[0] == plane
