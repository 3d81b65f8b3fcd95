"""Sea routes go around land on the shipped coastline, and are never shorter than the
great circle; where no water joins two points, the great circle stands in, and says so."""

from __future__ import annotations

import functools

import pytest
import shapely

from fusion.geo.coastline import natural_earth_coastline
from fusion.geo.searoute import SeaRoute, SeaRouter, great_circle

NORTH_OF_BALI = (-8.0, 115.1)
SOUTH_OF_LOMBOK = (-9.0, 116.3)
BALI_SEA = (-7.0, 115.6)
INLAND_BORNEO = (0.5, 114.0)


@functools.cache
def router() -> SeaRouter:
    return SeaRouter(list(natural_earth_coastline().land))


def crosses_land(route: SeaRoute) -> bool:
    line = shapely.linestrings([(lon, lat) for lat, lon in route.path])
    return bool(shapely.intersects(line, natural_earth_coastline().land).any())


def test_a_route_from_north_of_bali_to_south_of_lombok_goes_around_and_never_over_land() -> None:
    [route] = router().routes(NORTH_OF_BALI, [SOUTH_OF_LOMBOK])
    straight = great_circle(NORTH_OF_BALI, SOUTH_OF_LOMBOK)
    assert crosses_land(straight)  # the straight line runs over Bali and Lombok
    assert route.method == "sea_grid" and route.note == ""
    assert route.path[0] == NORTH_OF_BALI and route.path[-1] == SOUTH_OF_LOMBOK
    assert not crosses_land(route)
    assert route.distance_nm > straight.distance_nm * 1.05
    print(f"\nby sea {route.distance_nm:.1f} nm, great circle {straight.distance_nm:.1f} nm")


def test_over_open_water_the_route_is_the_great_circle() -> None:
    [route] = router().routes(NORTH_OF_BALI, [BALI_SEA])
    assert route.method == "sea_grid" and len(route.path) == 2
    assert route.distance_nm == pytest.approx(great_circle(NORTH_OF_BALI, BALI_SEA).distance_nm)


def test_a_point_no_water_reaches_gets_the_great_circle_with_the_reason() -> None:
    sea, inland = router().routes(NORTH_OF_BALI, [BALI_SEA, INLAND_BORNEO])
    assert sea.method == "sea_grid"
    assert inland.method == "great_circle" and "no open water" in inland.note
    assert inland.distance_nm == pytest.approx(
        great_circle(NORTH_OF_BALI, INLAND_BORNEO).distance_nm
    )
