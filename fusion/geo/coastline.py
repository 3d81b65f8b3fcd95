"""Distance to shore on whole batches: Natural Earth 1:50m land in an STRtree.

The coastlines are cut into short pieces (``PIECE_VERTICES``) so a nearest-neighbour query
touches a few dozen vertices, not a continent's; points within reach of a coast are then
tested against the land polygons (distance 0 on land). Distances are found in degree space (nearest
tile, then the nearest point on it) and measured on the sphere; near the equator, where
Lookout's region is, degree space and the sphere agree closely. 1:50m land is coarse: a
small island may be missing or a few hundred metres off (README, Fusion).
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np
import shapely

from fusion.geo.distance import METRES_PER_NM, Floats, haversine_m
from fusion.geo.topojson import polygons_of

LAND_FILE = "land-50m.json"
PIECE_VERTICES = 32


class Coastline:
    """Answers "how far from land is each of these points?" in nautical miles."""

    def __init__(self, land: list[shapely.Geometry]) -> None:
        self.land = shapely.get_parts(np.asarray(land, dtype=object))
        shapely.prepare(self.land)
        self.land_tree = shapely.STRtree(self.land)
        self.pieces = _pieces(land)
        self.tree = shapely.STRtree(self.pieces)

    def distance_nm(self, lats: Floats, lons: Floats, cap_nm: float) -> Floats:
        """Distance from each point to the nearest land, nm; 0 on land; ``cap_nm`` when
        farther than ``cap_nm``."""
        result = np.full(len(lats), cap_nm, dtype=float)
        if len(lats) == 0:
            return result
        points = shapely.points(lons, lats)
        # Degree space: a degree of longitude is shorter than one of latitude away from the
        # equator, so search a little wider than cap_nm / 60 and cap after measuring.
        search_deg = cap_nm / 60.0 * 1.5
        pairs = self.tree.query_nearest(points, max_distance=search_deg, all_matches=False)
        if pairs.shape[1] == 0:
            return result
        which, tile = pairs
        lines = shapely.shortest_line(points[which], self.pieces[tile])
        ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)[:, 1, :]
        metres = haversine_m(lats[which], lons[which], ends[:, 1], ends[:, 0])
        result[which] = np.minimum(metres / METRES_PER_NM, cap_nm)
        on_land, _ = self.land_tree.query(points[which], predicate="intersects")
        result[which[on_land]] = 0.0
        return result


def _pieces(land: list[shapely.Geometry]) -> np.ndarray:
    """The coastlines cut into short line strings of at most ``PIECE_VERTICES`` vertices."""
    parts = shapely.get_parts(np.asarray(land, dtype=object))
    rings = shapely.get_rings(parts)
    pieces: list[shapely.Geometry] = []
    for ring in rings:
        coords = shapely.get_coordinates(ring)
        for start in range(0, len(coords) - 1, PIECE_VERTICES - 1):
            chunk = coords[start : start + PIECE_VERTICES]
            if len(chunk) >= 2:
                pieces.append(shapely.linestrings(chunk))
    return np.asarray(pieces, dtype=object)


@functools.cache
def natural_earth_coastline() -> Coastline:
    """The bundled Natural Earth 1:50m land (loaded once per process, ~1 s)."""
    raw = resources.files("fusion.geo.data").joinpath(LAND_FILE).read_bytes()
    return Coastline(polygons_of(json.loads(raw), "land"))
