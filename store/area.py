"""Which vessels were inside a polygon during a time window, read through the grid cell.

``positions.cell`` (migration 008) is a 0.25-degree grid cell computed by PostgreSQL from
lat/lon. A polygon is covered by cells; the cells wholly inside it are counted in SQL
(every position there is inside), and only the positions of the cells on its border are
fetched and tested with shapely. The (cell, time) index makes the query read about as
many rows as it returns, instead of every position of the window in the polygon's box.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime

import shapely

from schemas.config import PolygonGeometry
from store.db import Conn
from store.errors import QueryError
from store.models import VesselPresence
from store.queries import MAX_AREA_CANDIDATES, _presences

CELLS_PER_DEGREE = 4
COLUMNS = 360 * CELLS_PER_DEGREE
MAX_CELLS = 20_000
"""Cells one question may cover (about 35 x 35 degrees); beyond it, ask for smaller areas."""


def cell_of(lat: float, lon: float) -> int:
    """The same number PostgreSQL stores in positions.cell."""
    row = math.floor((lat + 90) * CELLS_PER_DEGREE)
    col = math.floor((lon + 180) * CELLS_PER_DEGREE) % COLUMNS
    return row * COLUMNS + col


def cover(area: shapely.Geometry) -> tuple[list[int], list[int]]:
    """(cells wholly inside ``area``, cells on its border)."""
    west, south, east, north = area.bounds
    rows = range(
        math.floor((south + 90) * CELLS_PER_DEGREE), math.floor((north + 90) * CELLS_PER_DEGREE) + 1
    )
    cols = range(
        math.floor((west + 180) * CELLS_PER_DEGREE),
        math.floor((east + 180) * CELLS_PER_DEGREE) + 1,
    )
    if len(rows) * len(cols) > MAX_CELLS:
        raise QueryError(
            f"the area covers {len(rows) * len(cols)} grid cells; at most {MAX_CELLS} "
            "(about 35 x 35 degrees): ask for a smaller area"
        )
    shapely.prepare(area)
    inside: list[int] = []
    border: list[int] = []
    step = 1 / CELLS_PER_DEGREE
    for row in rows:
        lat0 = row * step - 90
        for col in cols:
            lon0 = col * step - 180
            box = shapely.box(lon0, lat0, lon0 + step, lat0 + step)
            number = row * COLUMNS + col % COLUMNS
            if area.contains(box):
                inside.append(number)
            elif area.intersects(box):
                border.append(number)
    return inside, border


_INSIDE = b"""
SELECT mmsi, min(time), max(time), count(*) FROM positions
WHERE cell = ANY(%(cells)s) AND time >= %(start)s AND time < %(end)s
GROUP BY mmsi
"""
_BORDER = b"""
SELECT mmsi, time, lat, lon FROM positions
WHERE cell = ANY(%(cells)s) AND time >= %(start)s AND time < %(end)s
LIMIT %(limit)s
"""


async def vessels_in_area(
    conn: Conn, polygon: PolygonGeometry, start: datetime, end: datetime
) -> list[VesselPresence]:
    """Vessels with a position inside ``polygon`` (boundary included) in [start, end),
    first and last seen there and how often; by MMSI."""
    if end <= start:
        raise QueryError(f"window end {end.isoformat()} is not after start {start.isoformat()}")
    area = shapely.geometry.shape(polygon.model_dump())
    inside, border = await asyncio.to_thread(cover, area)
    found: dict[int, VesselPresence] = {}
    if inside:
        cur = await conn.execute(_INSIDE, {"cells": inside, "start": start, "end": end})
        for mmsi, first, last, n in await cur.fetchall():
            found[mmsi] = VesselPresence(
                mmsi=mmsi, first_seen=first, last_seen=last, points_inside=int(n)
            )
    if border:
        cur = await conn.execute(
            _BORDER,
            {"cells": border, "start": start, "end": end, "limit": MAX_AREA_CANDIDATES + 1},
        )
        rows = await cur.fetchall()
        if len(rows) > MAX_AREA_CANDIDATES:
            raise QueryError(
                f"more than {MAX_AREA_CANDIDATES} positions on the area's border in the "
                "window; ask for a shorter window"
            )
        for p in await asyncio.to_thread(_presences, area, rows) if rows else []:
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
