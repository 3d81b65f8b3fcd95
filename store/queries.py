"""The questions the API asks of the store, each one function returning pydantic models.

There is no PostGIS on every deployment, so area questions prefilter by bounding box in
SQL (indexes do that well) and decide "inside the polygon" with shapely 2's vectorised
predicates on the candidates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from psycopg import sql
from psycopg.rows import dict_row

from schemas.config import PolygonGeometry
from store.db import Conn
from store.errors import QueryError
from store.models import (
    AlertQuery,
    BoundingBox,
    IdentityChange,
    StoredAlert,
    Track,
    TrackPoint,
    VesselLatest,
    VesselPresence,
)

MAX_AREA_CANDIDATES = 5_000_000
"""Positions an area-and-time question may examine; beyond it, ask for a shorter window."""

_LATEST_IN_BOX = b"""
SELECT mmsi, name, callsign, imo, ship_type, time, lat, lon, speed_kn, course_deg,
       heading_deg, nav_status, mmsi_valid, flag_country,
       extract(epoch FROM %(now)s - time)::float8 AS seconds_since_seen
FROM vessels
WHERE lat IS NOT NULL
  AND point(lon, lat) <@ box(point(%(w)s, %(s)s), point(%(e)s, %(n)s))
  AND time > %(oldest)s AND time <= %(now)s
ORDER BY time DESC
LIMIT %(limit)s
"""


async def latest_vessels_in_bbox(
    conn: Conn,
    bbox: BoundingBox,
    *,
    now: datetime | None = None,
    max_age_s: float | None = None,
    limit: int = 10_000,
) -> list[VesselLatest]:
    """Vessels whose latest position lies in ``bbox`` (edges included), newest first. A
    vessel not heard for ``max_age_s`` is left off the picture."""
    now = now or datetime.now(UTC)
    oldest = (
        datetime.min.replace(tzinfo=UTC)
        if max_age_s is None
        else (datetime.fromtimestamp(now.timestamp() - max_age_s, UTC))
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _LATEST_IN_BOX,
            {
                "now": now,
                "oldest": oldest,
                "limit": limit,
                "w": bbox.min_lon,
                "s": bbox.min_lat,
                "e": bbox.max_lon,
                "n": bbox.max_lat,
            },
        )
        return [VesselLatest.model_validate(row) for row in await cur.fetchall()]


_TRACK = b"""
WITH t AS (
    SELECT time, lat, lon, speed_kn, course_deg, heading_deg,
           row_number() OVER (ORDER BY time, lat, lon) AS n, count(*) OVER () AS total
    FROM positions
    WHERE mmsi = %(mmsi)s AND time >= %(start)s AND time < %(end)s
)
SELECT time, lat, lon, speed_kn, course_deg, heading_deg, total
FROM t
WHERE %(max_points)s::int IS NULL OR total <= %(max_points)s OR n = 1 OR n = total
   OR (n - 1) %% greatest(1, ceil((total - 1)::numeric
                                   / greatest(%(max_points)s - 2, 1)))::bigint = 0
ORDER BY n
"""


async def vessel_track(
    conn: Conn, mmsi: int, start: datetime, end: datetime, *, max_points: int | None = None
) -> Track:
    """Positions of ``mmsi`` in [start, end). With ``max_points``, a long track keeps every
    Nth point, always including the first and the last, and at most ``max_points``."""
    if end <= start:
        raise QueryError(f"track end {end.isoformat()} is not after start {start.isoformat()}")
    if max_points is not None and max_points < 2:
        raise QueryError("a downsampled track keeps at least its first and last point (2)")
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _TRACK, {"mmsi": mmsi, "start": start, "end": end, "max_points": max_points}
        )
        rows = await cur.fetchall()
    total = int(rows[0]["total"]) if rows else 0
    return Track(
        mmsi=mmsi,
        start=start,
        end=end,
        total_points=total,
        downsampled=len(rows) < total,
        points=[TrackPoint.model_validate(row) for row in rows],
    )


_CANDIDATES = b"""
SELECT mmsi, time, lat, lon FROM positions
WHERE time >= %(start)s AND time < %(end)s
  AND lat BETWEEN %(s)s AND %(n)s AND lon BETWEEN %(w)s AND %(e)s
LIMIT %(limit)s
"""


async def vessels_in_polygon(
    conn: Conn, polygon: PolygonGeometry, start: datetime, end: datetime
) -> list[VesselPresence]:
    """Vessels with at least one position inside ``polygon`` (boundary included) in
    [start, end), with when they were first and last seen there; by MMSI."""
    if end <= start:
        raise QueryError(f"window end {end.isoformat()} is not after start {start.isoformat()}")
    area = shapely.geometry.shape(polygon.model_dump())
    shapely.prepare(area)
    west, south, east, north = area.bounds
    async with conn.cursor() as cur:
        await cur.execute(
            _CANDIDATES,
            {
                "start": start,
                "end": end,
                "w": west,
                "s": south,
                "e": east,
                "n": north,
                "limit": MAX_AREA_CANDIDATES + 1,
            },
        )
        rows = await cur.fetchall()
    if len(rows) > MAX_AREA_CANDIDATES:
        raise QueryError(
            f"more than {MAX_AREA_CANDIDATES} positions in the area's box and "
            "window; ask for a shorter window"
        )
    if not rows:
        return []
    return await asyncio.to_thread(_presences, area, rows)


def _presences(area: shapely.Geometry, rows: Sequence[tuple[Any, ...]]) -> list[VesselPresence]:
    """The CPU part of ``vessels_in_polygon`` (run in a worker thread, never on the event
    loop): which candidates are inside, then first/last/count per vessel, vectorised."""
    n = len(rows)
    mmsi = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    epoch_s = np.fromiter((r[1].timestamp() for r in rows), dtype=np.float64, count=n)
    lat = np.fromiter((r[2] for r in rows), dtype=np.float64, count=n)
    lon = np.fromiter((r[3] for r in rows), dtype=np.float64, count=n)
    inside = shapely.intersects_xy(area, lon, lat)
    mmsi, epoch_s = mmsi[inside], epoch_s[inside]
    if mmsi.size == 0:
        return []
    order = np.lexsort((epoch_s, mmsi))  # by vessel, then time
    mmsi, epoch_s = mmsi[order], epoch_s[order]
    starts = np.flatnonzero(np.r_[True, mmsi[1:] != mmsi[:-1]])
    ends = np.r_[starts[1:], mmsi.size]  # exclusive
    return [
        VesselPresence(
            mmsi=int(vessel),
            points_inside=int(count),
            first_seen=datetime.fromtimestamp(float(first), UTC),
            last_seen=datetime.fromtimestamp(float(last), UTC),
        )
        for vessel, count, first, last in zip(
            mmsi[starts].tolist(),
            (ends - starts).tolist(),
            epoch_s[starts].tolist(),
            epoch_s[ends - 1].tolist(),
            strict=True,
        )
    ]


_ALERT_COLUMNS = sql.SQL(
    "alert_id, rule, status, severity, score, subject, mmsis, title, started_at, updated_at, "
    "ended_at, lat, lon, geofence_id, evidence, source_agency, acknowledged_by, "
    "acknowledged_at, closed_by, notes"
)


async def search_alerts(conn: Conn, query: AlertQuery) -> list[StoredAlert]:
    """Alerts matching every filter given, by last update (newest first by default)."""
    where: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if query.rules:
        where.append(sql.SQL("rule = ANY(%(rules)s)"))
        params["rules"] = [r.value for r in query.rules]
    if query.severities:
        where.append(sql.SQL("severity = ANY(%(severities)s)"))
        params["severities"] = [s.value for s in query.severities]
    if query.statuses:
        where.append(sql.SQL("status = ANY(%(statuses)s)"))
        params["statuses"] = [s.value for s in query.statuses]
    if query.bbox is not None:
        where.append(sql.SQL("lat BETWEEN %(s)s AND %(n)s AND lon BETWEEN %(w)s AND %(e)s"))
        params |= {
            "w": query.bbox.min_lon,
            "s": query.bbox.min_lat,
            "e": query.bbox.max_lon,
            "n": query.bbox.max_lat,
        }
    if query.since is not None:
        where.append(sql.SQL("(ended_at IS NULL OR ended_at >= %(since)s)"))
        params["since"] = query.since
    if query.until is not None:
        where.append(sql.SQL("started_at < %(until)s"))
        params["until"] = query.until
    if query.since and query.until and query.until <= query.since:
        raise QueryError("'until' must be after 'since'")
    if query.mmsi is not None:
        where.append(sql.SQL("mmsis @> ARRAY[%(mmsi)s]::integer[]"))
        params["mmsi"] = query.mmsi
    direction = sql.SQL("DESC" if query.order == "newest" else "ASC")
    statement = sql.SQL(
        "SELECT {columns} FROM alerts WHERE {where} "
        "ORDER BY updated_at {direction}, alert_id {direction} "
        "LIMIT %(limit)s OFFSET %(offset)s"
    ).format(
        columns=_ALERT_COLUMNS,
        where=sql.SQL(" AND ").join(where or [sql.SQL("TRUE")]),
        direction=direction,
    )
    params |= {"limit": query.limit, "offset": query.offset}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, params)
        return [StoredAlert.model_validate(row) for row in await cur.fetchall()]


async def identity_history(conn: Conn, mmsi: int) -> list[IdentityChange]:
    """Every recorded identity change of a vessel, oldest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            b"SELECT mmsi, changed_at, name, callsign, imo, ship_type, previous_name, "
            b"previous_callsign, previous_imo, previous_ship_type, changed_fields, source "
            b"FROM vessel_identity_history WHERE mmsi = %s ORDER BY changed_at, name",
            (mmsi,),
        )
        return [IdentityChange.model_validate(row) for row in await cur.fetchall()]
