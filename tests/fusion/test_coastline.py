"""Distance to shore: the per-cell cache of candidate coast pieces gives the answer a search
of the whole coast gives."""

from __future__ import annotations

import numpy as np
import shapely

from fusion.geo.coastline import CELL_DEG, natural_earth_coastline
from fusion.geo.distance import METRES_PER_NM, haversine_m


def whole_coast_nm(lats: np.ndarray, lons: np.ndarray, cap_nm: float) -> np.ndarray:
    """The same measure without the cache: nearest piece of the whole coast, then land."""
    coast = natural_earth_coastline()
    result = np.full(len(lats), cap_nm)
    points = shapely.points(lons, lats)
    which, piece = coast.tree.query_nearest(
        points, max_distance=cap_nm / 60.0 * 1.5, all_matches=False
    )
    ends = shapely.get_coordinates(shapely.shortest_line(points[which], coast.pieces[piece]))
    ends = ends.reshape(-1, 2, 2)[:, 1, :]
    metres = haversine_m(lats[which], lons[which], ends[:, 1], ends[:, 0])
    result[which] = np.minimum(metres / METRES_PER_NM, cap_nm)
    on_land = shapely.intersects(shapely.union_all(coast.land), points[which])
    result[which[on_land]] = 0.0
    return result


def test_cached_cells_measure_what_the_whole_coast_measures() -> None:
    rng = np.random.default_rng(11)
    coast = natural_earth_coastline()
    # Around Java, Bali and Nusa Tenggara: open sea, straits, near shore, on land; several
    # points per cell, so cells are reused, and points on cell corners.
    lats = np.concatenate([rng.uniform(-11, -5, 1500), np.round(rng.uniform(-9, -7, 200), 1)])
    lons = np.concatenate([rng.uniform(105, 125, 1500), np.round(rng.uniform(114, 117, 200), 1)])
    lats = np.concatenate([lats, lats[:300] + rng.uniform(-CELL_DEG, CELL_DEG, 300)])
    lons = np.concatenate([lons, lons[:300] + rng.uniform(-CELL_DEG, CELL_DEG, 300)])
    for cap_nm in (100.0, 20.0):
        expected = whole_coast_nm(lats, lons, cap_nm)
        assert (expected == 0).any() and (expected == cap_nm).any()
        assert ((expected > 0) & (expected < cap_nm)).sum() > 500
        first = coast.distance_nm(lats, lons, cap_nm)
        again = coast.distance_nm(lats, lons, cap_nm)  # from the cache
        np.testing.assert_array_equal(first, expected)
        np.testing.assert_array_equal(again, expected)
