"""Distance to shore on whole batches: Natural Earth 1:50m land in an STRtree.

The coastlines are cut into short pieces (``PIECE_VERTICES``) so a nearest-neighbour query
touches a few dozen vertices, not a continent's; points within reach of a coast are then
tested against the land polygons (distance 0 on land). Distances are found in degree space
(nearest piece, then the nearest point on it) and measured on the sphere; near the equator,
where Lookout's region is, degree space and the sphere agree closely. 1:50m land is coarse:
a small island may be missing or a few hundred metres off (README, Fusion).

A nearest-neighbour search over the whole coast costs tens of microseconds a point, and
vessels that need the distance (slow ones) stay in one place, so the search is done once
per grid cell (``CELL_DEG``) and remembered (``CellCoast``): the pieces that can be nearest
to any point of the cell, or that none is within reach. A point then measures only those
few pieces; the answer is the same as a search of the whole coast.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt
import shapely

from fusion.geo.distance import METRES_PER_NM, Floats, haversine_m
from fusion.geo.topojson import polygons_of

LAND_FILE = "land-50m.json"
PIECE_VERTICES = 32
CELL_DEG = 0.05
"""Cells of the candidate cache, degrees (~5.5 km): small enough that a cell's candidates
are a handful of pieces, large enough that an anchored or drifting vessel stays in one."""
CELL_CACHE_MAX = 200_000
"""Cells remembered (a few hundred bytes each); the cache starts afresh past this."""
_HALF_DIAGONAL_DEG = CELL_DEG * math.sqrt(2) / 2
_OFFSET, _SPAN = 4_000, 10_000

Ints = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class CellCoast:
    """What one cell needs to measure its points: the coast pieces that can be nearest to
    one of them (empty: no coast within reach of any), and whether any land polygon's
    bounds touch the cell (if not, no point of it is on land)."""

    pieces: Ints
    land: Ints


class Coastline:
    """Answers "how far from land is each of these points?" in nautical miles."""

    def __init__(self, land: list[shapely.Geometry]) -> None:
        self.land = shapely.get_parts(np.asarray(land, dtype=object))
        shapely.prepare(self.land)
        self.land_tree = shapely.STRtree(self.land)
        self.pieces = _pieces(land)
        self.tree = shapely.STRtree(self.pieces)
        self._cells: dict[tuple[float, tuple[int, int]], CellCoast] = {}

    def distance_nm(self, lats: Floats, lons: Floats, cap_nm: float) -> Floats:
        """Distance from each point to the nearest land, nm; 0 on land; ``cap_nm`` when
        farther than ``cap_nm``."""
        result = np.full(len(lats), cap_nm, dtype=float)
        if len(lats) == 0:
            return result
        # Degree space: a degree of longitude is shorter than one of latitude away from the
        # equator, so search a little wider than cap_nm / 60 and cap after measuring.
        search_deg = cap_nm / 60.0 * 1.5
        rows = np.floor(lats / CELL_DEG).astype(np.int64)
        cols = np.floor(lons / CELL_DEG).astype(np.int64)
        # One non-negative number per cell (|rows|, |cols| <= 3600), to find each point's
        # cell among the batch's distinct ones.
        cells, cell_of = np.unique((rows + _OFFSET) * _SPAN + cols + _OFFSET, return_inverse=True)
        coasts = [
            self._cell(search_deg, int(c // _SPAN) - _OFFSET, int(c % _SPAN) - _OFFSET)
            for c in cells
        ]
        which_all, tile_all = _expand(cell_of, [c.pieces for c in coasts])
        if len(which_all) == 0:
            return result
        points = shapely.points(lons, lats)
        degrees = shapely.distance(points[which_all], self.pieces[tile_all])
        # The nearest piece of each point: sort by (point, distance), keep each point's first.
        by = np.lexsort((degrees, which_all))
        firsts = by[np.flatnonzero(np.diff(which_all[by], prepend=-1))]
        reach = degrees[firsts] <= search_deg
        which, tile = which_all[firsts][reach], tile_all[firsts][reach]
        if len(which):
            lines = shapely.shortest_line(points[which], self.pieces[tile])
            ends = shapely.get_coordinates(lines).reshape(-1, 2, 2)[:, 1, :]
            metres = haversine_m(lats[which], lons[which], ends[:, 1], ends[:, 0])
            result[which] = np.minimum(metres / METRES_PER_NM, cap_nm)
        candidates, polygons = _expand(cell_of, [c.land for c in coasts])
        if len(candidates):
            near = np.zeros(len(lats), dtype=bool)
            near[which] = True
            keep = near[candidates]
            candidates, polygons = candidates[keep], polygons[keep]
            # The land polygons are prepared: a point-in-polygon test on them is fast.
            on_land = shapely.intersects(self.land[polygons], points[candidates])
            result[candidates[on_land]] = 0.0
        return result

    def _cell(self, search_deg: float, row: int, col: int) -> CellCoast:
        key = (search_deg, (row, col))
        found = self._cells.get(key)
        if found is not None:
            return found
        if len(self._cells) >= CELL_CACHE_MAX:
            self._cells.clear()
        found = self._cells[key] = self._cell_coast(search_deg, row, col)
        return found

    def _cell_coast(self, search_deg: float, row: int, col: int) -> CellCoast:
        """The pieces that can be nearest to a point of the cell. Its centre c is within
        r (half the diagonal) of each of its points p; if D is the distance from c to the
        nearest piece, p's nearest piece is within D + r of p, so within D + 2r of c."""
        r = _HALF_DIAGONAL_DEG
        centre = shapely.points((col + 0.5) * CELL_DEG, (row + 0.5) * CELL_DEG)
        nearest, distances = self.tree.query_nearest(
            centre, max_distance=search_deg + r, return_distance=True, all_matches=False
        )
        if len(distances) == 0:
            # Nothing within search_deg + r of the centre: nothing within search_deg of any
            # point of the cell.
            empty = np.empty(0, dtype=np.intp)
            return CellCoast(empty, empty)
        del nearest
        pieces = self.tree.query(centre, predicate="dwithin", distance=float(distances[0]) + 2 * r)
        box = shapely.box(
            col * CELL_DEG, row * CELL_DEG, (col + 1) * CELL_DEG, (row + 1) * CELL_DEG
        )
        land = self.land_tree.query(box)
        return CellCoast(np.sort(pieces).astype(np.intp), np.sort(land).astype(np.intp))


def _expand(cell_of: Ints, per_cell: list[Ints]) -> tuple[Ints, Ints]:
    """Each point paired with each item of its cell: (point indices, items), flat."""
    counts = np.fromiter((len(items) for items in per_cell), dtype=np.intp, count=len(per_cell))
    if not counts.any():
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    flat = np.concatenate(per_cell)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    per_point = counts[cell_of]
    points = np.repeat(np.arange(len(cell_of)), per_point)
    # The k-th pair of a point takes item starts[cell] + k.
    first_pair = np.cumsum(per_point) - per_point
    k = np.arange(len(points)) - np.repeat(first_pair, per_point)
    return points, flat[np.repeat(starts[cell_of], per_point) + k]


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
