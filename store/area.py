"""Which vessels were inside a polygon during a time window, read through H3 cells.

``positions.h3_cell`` (migration 020, ``store/cells.py``) is the H3 cell of each position,
indexed with time. A polygon is covered by cells: those wholly inside it are counted in
SQL (every position there is inside), and only the positions of the cells on its border
are fetched and tested with shapely. The (h3_cell, time) index makes the question read
about as many rows as it returns, instead of every position of the window in the polygon's
box (``area_plan`` shows it; tests/store/test_area.py checks it).

Positions stored before migration 020 have no cell: they are read by time and box (their
own partial index, empty once those days have aged out) and tested with shapely too.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import shapely
from h3.api import basic_int as h3

from schemas.config import PolygonGeometry
from store.cells import H3_RESOLUTION
from store.db import Conn
from store.errors import QueryError
from store.models import VesselPresence
from store.queries import MAX_AREA_CANDIDATES, _presences

MAX_CELLS = 50_000
"""Cells one question may cover (about 1.8 million km², a square of some 1,300 km);
beyond it, ask for smaller areas."""
_CELL_KM2 = 36.0
"""Mean area of a cell at H3_RESOLUTION, km² (H3's table of cell statistics)."""
_PAD_DEG = 0.1
"""The polygon is widened by this much before its cells are listed by their centres: more
than a cell's radius (about 4 km), so every cell that touches the polygon is listed."""
_EDGE_DEG = 1e-4
"""About 11 m: H3 cell edges are great-circle arcs, the hexagons shapely tests are drawn
with straight lines in longitude and latitude; they differ by centimetres at this
resolution. A cell counts as inside only with this margin to spare."""


def cover(area: shapely.Geometry) -> tuple[list[int], list[int]]:
    """(cells wholly inside ``area``, cells on its border), as ``positions.h3_cell``."""
    west, south, east, north = area.bounds
    km_per_deg = 111.32
    box_km2 = (
        (east - west + 2 * _PAD_DEG)
        * km_per_deg
        * math.cos(math.radians(min(abs(south), abs(north), 89.0)))
        * (north - south + 2 * _PAD_DEG)
        * km_per_deg
    )
    if box_km2 / _CELL_KM2 > MAX_CELLS:
        raise QueryError(
            f"the area's box covers about {box_km2 / _CELL_KM2:,.0f} cells; at most "
            f"{MAX_CELLS:,} (about 1.8 million km²): ask for a smaller area"
        )
    padded = area.buffer(_PAD_DEG, join_style="mitre")
    cells = h3.h3shape_to_cells(h3.geo_to_h3shape(padded.__geo_interface__), H3_RESOLUTION)
    if not cells:
        return [], []
    hexagons = shapely.polygons(
        [[(lon, lat) for lat, lon in h3.cell_to_boundary(cell)] for cell in cells]
    )
    inside_area = area.buffer(-_EDGE_DEG, join_style="mitre")
    near_area = area.buffer(_EDGE_DEG, join_style="mitre")
    shapely.prepare(inside_area)
    shapely.prepare(near_area)
    inside = shapely.contains(inside_area, hexagons)
    touching = shapely.intersects(near_area, hexagons)
    return (
        [c for c, i in zip(cells, inside, strict=True) if i],
        [c for c, i, t in zip(cells, inside, touching, strict=True) if t and not i],
    )


_INSIDE = b"""
SELECT mmsi, min(time), max(time), count(*) FROM positions
WHERE h3_cell = ANY(%(cells)s) AND time >= %(start)s AND time < %(end)s
GROUP BY mmsi
"""
_BORDER = b"""
SELECT mmsi, time, lat, lon FROM positions
WHERE h3_cell = ANY(%(cells)s) AND time >= %(start)s AND time < %(end)s
LIMIT %(limit)s
"""
_UNCELLED = b"""
SELECT mmsi, time, lat, lon FROM positions
WHERE h3_cell IS NULL AND time >= %(start)s AND time < %(end)s
  AND lat BETWEEN %(s)s AND %(n)s AND lon BETWEEN %(w)s AND %(e)s
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class _Plan:
    area: shapely.Geometry
    inside: dict[str, Any] | None
    """Parameters of the count over the inside cells, or None when there are none."""
    candidates: list[dict[str, Any]]
    """Parameters of the positions to test with shapely (border cells, then uncelled)."""

    def statements(self) -> Iterator[tuple[bytes, dict[str, Any]]]:
        if self.inside is not None:
            yield _INSIDE, self.inside
        for params in self.candidates:
            yield (_BORDER if "cells" in params else _UNCELLED), params


async def _plan(polygon: PolygonGeometry, start: datetime, end: datetime) -> _Plan:
    if end <= start:
        raise QueryError(f"window end {end.isoformat()} is not after start {start.isoformat()}")
    area = shapely.geometry.shape(polygon.model_dump())
    inside, border = await asyncio.to_thread(cover, area)
    window = {"start": start, "end": end, "limit": MAX_AREA_CANDIDATES + 1}
    west, south, east, north = area.bounds
    candidates = [{"cells": border, **window}] if border else []
    candidates.append({"w": west, "s": south, "e": east, "n": north, **window})
    return _Plan(area, {"cells": inside, **window} if inside else None, candidates)


async def vessels_in_area(
    conn: Conn, polygon: PolygonGeometry, start: datetime, end: datetime
) -> list[VesselPresence]:
    """Vessels with a position inside ``polygon`` (boundary included) in [start, end),
    first and last seen there and how often; by MMSI."""
    plan = await _plan(polygon, start, end)
    found: dict[int, VesselPresence] = {}
    if plan.inside is not None:
        cur = await conn.execute(_INSIDE, plan.inside)
        for mmsi, first, last, n in await cur.fetchall():
            found[mmsi] = VesselPresence(
                mmsi=mmsi, first_seen=first, last_seen=last, points_inside=int(n)
            )
    rows: list[tuple[Any, ...]] = []
    for sql, params in plan.statements():
        if sql is _INSIDE:
            continue
        cur = await conn.execute(sql, params)
        rows.extend(await cur.fetchall())
        if len(rows) > MAX_AREA_CANDIDATES:
            raise QueryError(
                f"more than {MAX_AREA_CANDIDATES} positions on the area's border in the "
                "window; ask for a shorter window"
            )
    for p in await asyncio.to_thread(_presences, plan.area, rows) if rows else []:
        known = found.get(p.mmsi)
        found[p.mmsi] = (
            p
            if known is None
            else VesselPresence(
                mmsi=p.mmsi,
                first_seen=min(known.first_seen, p.first_seen),
                last_seen=max(known.last_seen, p.last_seen),
                points_inside=known.points_inside + p.points_inside,
            )
        )
    return [found[m] for m in sorted(found)]


@dataclass(frozen=True)
class ScanFigures:
    """What the database did for an area question (EXPLAIN ANALYZE)."""

    rows_read: int
    """Rows the scans of ``positions`` produced or removed by a filter."""
    indexes: frozenset[str]
    """Indexes of ``positions`` (or of its partitions) the scans used."""


async def area_plan(
    conn: Conn, polygon: PolygonGeometry, start: datetime, end: datetime
) -> ScanFigures:
    """Runs the area question's statements under EXPLAIN (ANALYZE) and sums what its scans
    of positions read: the figure to hold beside the positions it returns."""
    plan = await _plan(polygon, start, end)
    return await explain_scans(conn, list(plan.statements()))


async def explain_scans(conn: Conn, statements: list[tuple[bytes, dict[str, Any]]]) -> ScanFigures:
    rows, indexes = 0, set[str]()
    for sql, params in statements:
        cur = await conn.execute(b"EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        row = await cur.fetchone()
        assert row is not None
        document = row[0] if not isinstance(row[0], str) else json.loads(row[0])
        for node in _nodes(document[0]["Plan"]):
            if str(node.get("Relation Name", "")).startswith("positions"):
                loops = int(node.get("Actual Loops", 1))
                rows += round(float(node.get("Actual Rows", 0)) * loops)
                rows += int(node.get("Rows Removed by Filter", 0))
                rows += int(node.get("Rows Removed by Index Recheck", 0))
                if "Index Name" in node:
                    indexes.add(str(node["Index Name"]))
            if node.get("Node Type") == "Bitmap Index Scan":
                indexes.add(str(node["Index Name"]))
    return ScanFigures(rows, frozenset(indexes))


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)
