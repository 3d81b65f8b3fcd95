"""Sea routes around land: how far a boat must go from one point to others, on the water.

A coarse grid is laid over the area the points span (plus a margin); cells that touch land
(the shipped Natural Earth coastline) are closed, and one Dijkstra search from the origin
over the open cells (eight neighbours, great-circle edge lengths; no corner is cut past a
closed cell) reaches every target at once. Each target's path is then pulled straight
wherever the straight line stays clear of land (checked against the coastline itself, not
the grid), and its length measured on the sphere. So a route never crosses land, and is
never shorter than the great circle.

Why not the ``searoute`` package (Eurostat's marine network): it is a network of shipping
lanes; near Bali it joins a point north of the island to a node south of it across land
and routes 20 nm hops as 40 nm, which is fine for voyage planning but wrong for a rescue.

A target that no open water reaches (a point far inland, an area the grid cannot span) gets
the great-circle distance, with ``method = "great_circle"`` and the reason in ``note``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry.base import BaseGeometry

from fusion.geo.distance import METRES_PER_NM, haversine_m

LatLon = tuple[float, float]
RouteMethod = Literal["sea_grid", "great_circle"]

CELL_DEG = 0.05
"""Grid cell, degrees (about 3 nm): two open cells fit in the narrowest strait the
1:50m coastline keeps open in the region (Badung Strait, about 12 km)."""
MARGIN_DEG = 1.0
"""Water around the points' bounding box a route may use, degrees (about 60 nm)."""
MAX_CELLS = 250_000
"""Largest grid; a wider area gets coarser cells, never a slower search."""
SNAP_DEG = 0.25
"""How far an end point on a closed cell (a port, a coast) looks for open water, degrees."""


@dataclass(frozen=True, slots=True)
class SeaRoute:
    """The way from the origin to one target."""

    distance_nm: float
    method: RouteMethod
    path: tuple[LatLon, ...]
    """(lat, lon) from the origin to the target, both included."""
    note: str = ""
    """Why the great circle was used, when it was."""


def great_circle(origin: LatLon, target: LatLon, note: str = "") -> SeaRoute:
    metres = float(haversine_m(origin[0], origin[1], target[0], target[1]))
    return SeaRoute(metres / METRES_PER_NM, "great_circle", (origin, target), note)


@dataclass(frozen=True, slots=True)
class _Grid:
    lat0: float
    lon0: float
    cell: float
    rows: int
    cols: int
    open: npt.NDArray[np.bool_]

    def centre(self, node: int) -> LatLon:
        r, c = divmod(node, self.cols)
        return (self.lat0 + (r + 0.5) * self.cell, self.lon0 + (c + 0.5) * self.cell)

    def node_of(self, point: LatLon) -> int:
        r = min(max(int((point[0] - self.lat0) / self.cell), 0), self.rows - 1)
        c = min(max(int((point[1] - self.lon0) / self.cell), 0), self.cols - 1)
        return r * self.cols + c


class SeaRouter:
    """Answers "how far by sea from here to each of these?" over a given coastline."""

    def __init__(
        self,
        land: Sequence[BaseGeometry],
        *,
        cell_deg: float = CELL_DEG,
        margin_deg: float = MARGIN_DEG,
        max_cells: int = MAX_CELLS,
        snap_deg: float = SNAP_DEG,
    ) -> None:
        self.land = shapely.get_parts(np.asarray(land, dtype=object))
        self.tree = shapely.STRtree(self.land)
        self.cell_deg = cell_deg
        self.margin_deg = margin_deg
        self.max_cells = max_cells
        self.snap_deg = snap_deg

    def great_circle(self, origin: LatLon, target: LatLon) -> SeaRoute:
        """The straight way (aircraft, or a first cut before routing)."""
        return great_circle(origin, target)

    def on_land(self, point: LatLon) -> bool:
        hits = self.tree.query(shapely.points(point[1], point[0]), predicate="intersects")
        return len(hits) > 0

    def routes(self, origin: LatLon, targets: Sequence[LatLon]) -> list[SeaRoute]:
        """The route from ``origin`` to each of ``targets``, in their order."""
        if not targets:
            return []
        grid, land = self._grid([origin, *targets])
        start = self._snap(grid, origin)
        if start is None:
            note = "the origin is on land, away from open water"
            return [great_circle(origin, t, note) for t in targets]
        metres, previous = dijkstra(
            _graph(grid), directed=False, indices=start, return_predecessors=True
        )
        result = []
        for target in targets:
            end = self._snap(grid, target)
            if end is None or not math.isfinite(metres[end]):
                note = "no open water joins them on the grid"
                result.append(great_circle(origin, target, note))
                continue
            nodes = [end]
            while nodes[-1] != start:
                nodes.append(int(previous[nodes[-1]]))
            points = [origin, *(grid.centre(n) for n in reversed(nodes)), target]
            path = _pulled_straight(points, land)
            lats = np.array([p[0] for p in path])
            lons = np.array([p[1] for p in path])
            legs = haversine_m(lats[:-1], lons[:-1], lats[1:], lons[1:])
            result.append(SeaRoute(float(legs.sum()) / METRES_PER_NM, "sea_grid", path))
        return result

    def _grid(self, points: Sequence[LatLon]) -> tuple[_Grid, BaseGeometry]:
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        south = max(min(lats) - self.margin_deg, -89.0)
        north = min(max(lats) + self.margin_deg, 89.0)
        west = min(lons) - self.margin_deg
        east = max(lons) + self.margin_deg
        cell = max(self.cell_deg, math.sqrt((north - south) * (east - west) / self.max_cells))
        rows = math.ceil((north - south) / cell)
        cols = math.ceil((east - west) / cell)
        area = shapely.box(west, south, west + cols * cell, south + rows * cell)
        near = self.land[self.tree.query(area, predicate="intersects")]
        land = shapely.union_all(shapely.clip_by_rect(near, *area.bounds))
        shapely.prepare(land)
        r, c = np.divmod(np.arange(rows * cols), cols)
        boxes = shapely.box(
            west + c * cell, south + r * cell, west + (c + 1) * cell, south + (r + 1) * cell
        )
        is_open = ~shapely.intersects(land, boxes)
        return _Grid(south, west, cell, rows, cols, is_open), land

    def _snap(self, grid: _Grid, point: LatLon) -> int | None:
        """The open cell of ``point``, or the nearest open cell within ``snap_deg``."""
        node = grid.node_of(point)
        if grid.open[node]:
            return node
        reach = max(1, math.ceil(self.snap_deg / grid.cell))
        r0, c0 = divmod(node, grid.cols)
        rs = np.arange(max(r0 - reach, 0), min(r0 + reach + 1, grid.rows))
        cs = np.arange(max(c0 - reach, 0), min(c0 + reach + 1, grid.cols))
        rr, cc = np.meshgrid(rs, cs, indexing="ij")
        nodes = (rr * grid.cols + cc).ravel()
        nodes = nodes[grid.open[nodes]]
        if len(nodes) == 0:
            return None
        nr, nc = np.divmod(nodes, grid.cols)
        return int(nodes[np.argmin((nr - r0) ** 2 + (nc - c0) ** 2)])


def _graph(grid: _Grid) -> coo_matrix:
    """Edges between neighbouring open cells, weighted by their great-circle length;
    a diagonal step only where both cells beside it are open (no corner is cut)."""
    cols, rows, is_open = grid.cols, grid.rows, grid.open.reshape(grid.rows, grid.cols)
    sources: list[npt.NDArray[np.int64]] = []
    targets: list[npt.NDArray[np.int64]] = []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r0, r1 = 0, rows - dr
        c0, c1 = max(0, -dc), cols - max(0, dc)
        here = is_open[r0:r1, c0:c1]
        there = is_open[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        ok = here & there
        if dr and dc:
            ok &= is_open[r0 + dr : r1 + dr, c0:c1] & is_open[r0:r1, c0 + dc : c1 + dc]
        rr, cc = np.nonzero(ok)
        rr, cc = rr + r0, cc + c0
        sources.append(rr * cols + cc)
        targets.append((rr + dr) * cols + cc + dc)
    a = np.concatenate(sources)
    b = np.concatenate(targets)
    lat_a = (grid.lat0 + (a // cols + 0.5) * grid.cell).astype(np.float64)
    lon_a = (grid.lon0 + (a % cols + 0.5) * grid.cell).astype(np.float64)
    lat_b = (grid.lat0 + (b // cols + 0.5) * grid.cell).astype(np.float64)
    lon_b = (grid.lon0 + (b % cols + 0.5) * grid.cell).astype(np.float64)
    weights = haversine_m(lat_a, lon_a, lat_b, lon_b)
    size = rows * cols
    return coo_matrix((weights, (a, b)), shape=(size, size)).tocsr()


def _pulled_straight(points: list[LatLon], land: BaseGeometry) -> tuple[LatLon, ...]:
    """The path with every corner cut that can be cut without touching land: from each
    kept point, straight on to the farthest later point in clear sight of it."""
    kept = [points[0]]
    i = 0
    last = len(points) - 1
    while i < last:
        ahead = np.arange(i + 1, last + 1)
        lines = shapely.linestrings(
            [[(points[i][1], points[i][0]), (points[j][1], points[j][0])] for j in ahead]
        )
        clear = ~shapely.intersects(land, lines)
        i = int(ahead[np.nonzero(clear)[0][-1]]) if clear.any() else i + 1
        kept.append(points[i])
    return tuple(kept)
