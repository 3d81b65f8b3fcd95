"""The active geofences in an STRtree, queried a whole batch of points at a time.

Each zone is held twice: as drawn, and grown by the hysteresis distance. A vessel enters
when a fix is inside the zone as drawn and leaves only when a fix is outside the grown one,
so a vessel riding the border does not flap in and out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from fusion.geo.distance import METRES_PER_DEGREE_LAT, Floats
from schemas.config import Geofence, ZoneKind

PORT_KINDS = frozenset({ZoneKind.PORT, ZoneKind.ANCHORAGE})
"""Zones whose inside counts as "in port" (no gap or loitering there)."""


def zone_geometry(zone: Geofence) -> shapely.Geometry:
    """The zone's polygon, made valid (a self-touching ring from a GIS export is common)."""
    geometry = shapely.from_geojson(zone.geometry.model_dump_json())
    return shapely.make_valid(geometry)


@dataclass(frozen=True)
class ZoneHits:
    """For each point, the zones it is inside (as drawn) and near (inside the grown zone)."""

    inside: list[frozenset[str]]
    near: list[frozenset[str]]
    in_port: np.ndarray


EMPTY: frozenset[str] = frozenset()


class ZoneIndex:
    def __init__(self, zones: list[Geofence], hysteresis_m: float) -> None:
        self.zones = {z.geofence_id: z for z in zones if z.active}
        self.ids = sorted(self.zones)
        shapes = [zone_geometry(self.zones[i]) for i in self.ids]
        grown = [
            shapely.buffer(s, hysteresis_m / METRES_PER_DEGREE_LAT) if hysteresis_m else s
            for s in shapes
        ]
        self.shapes = np.asarray(shapes, dtype=object)
        self.grown = np.asarray(grown, dtype=object)
        shapely.prepare(self.shapes)
        shapely.prepare(self.grown)
        self.tree = shapely.STRtree(self.shapes)
        self.grown_tree = shapely.STRtree(self.grown)
        self.port = np.asarray([self.zones[i].kind in PORT_KINDS for i in self.ids], dtype=bool)

    def hits(self, lats: Floats, lons: Floats) -> ZoneHits:
        n = len(lats)
        inside: list[frozenset[str]] = [EMPTY] * n
        near: list[frozenset[str]] = [EMPTY] * n
        in_port = np.zeros(n, dtype=bool)
        if n and self.ids:
            points = shapely.points(lons, lats)
            point, zone = self._within(self.tree, self.shapes, points, lons, lats)
            in_port[point[self.port[zone]]] = True
            self._collect(inside, point, zone)
            self._collect(near, *self._within(self.grown_tree, self.grown, points, lons, lats))
        return ZoneHits(inside, near, in_port)

    @staticmethod
    def _within(
        tree: shapely.STRtree, shapes: np.ndarray, points: np.ndarray, lons: Floats, lats: Floats
    ) -> tuple[np.ndarray, np.ndarray]:
        """(point, zone) pairs of points inside zones. The tree finds the zones whose
        bounds hold a point; the test is then made on the prepared zone (the tree's own
        predicate prepares the point, which does not help a point-in-polygon test)."""
        point, zone = tree.query(points)
        inside = shapely.contains_xy(shapes[zone], lons[point], lats[point])
        return point[inside], zone[inside]

    def _collect(self, into: list[frozenset[str]], point: np.ndarray, zone: np.ndarray) -> None:
        """Only points inside some zone get a set of their own (most get none)."""
        found: dict[int, list[str]] = {}
        for p, z in zip(point.tolist(), zone.tolist(), strict=True):
            found.setdefault(p, []).append(self.ids[z])
        for p, ids in found.items():
            into[p] = frozenset(ids)
