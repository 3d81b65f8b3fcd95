"""Vessel questions the API asks: search by identity, one vessel, its track as GeoJSON
(built by PostgreSQL) or as rows for CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from store.db import Conn

VESSEL_COLUMNS = (
    "mmsi, name, callsign, imo, ship_type, to_bow_m, to_stern_m, to_port_m, to_starboard_m, "
    "draught_m, destination, eta, identity_time, time, lat, lon, speed_kn, course_deg, "
    "heading_deg, nav_status, mmsi_valid, mmsi_kind, flag_country"
)

_SEARCH = f"""
SELECT {VESSEL_COLUMNS} FROM vessels
WHERE (%(after)s::integer IS NULL OR mmsi > %(after)s)
  AND (%(q)s::text IS NULL
       OR mmsi = %(q_int)s OR imo = %(q_int)s
       OR upper(callsign) = upper(%(q)s)
       OR name ILIKE '%%' || %(q_like)s || '%%')
ORDER BY mmsi
LIMIT %(limit)s
""".encode()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_vessels(
    conn: Conn, q: str | None, *, after_mmsi: int | None, limit: int
) -> list[dict[str, Any]]:
    """Vessels whose MMSI or IMO equals ``q``, whose call sign is ``q``, or whose name
    contains it (any case); by MMSI, after ``after_mmsi`` (the cursor)."""
    q = q.strip() if q else None
    q_int = int(q) if q and q.isascii() and q.isdigit() and len(q) <= 9 else None
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _SEARCH,
            {
                "q": q or None,
                "q_int": q_int,
                "q_like": _like_escape(q) if q else None,
                "after": after_mmsi,
                "limit": limit,
            },
        )
        return list(await cur.fetchall())


async def vessel(conn: Conn, mmsi: int) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {VESSEL_COLUMNS} FROM vessels WHERE mmsi = %s".encode(), (mmsi,))
        return await cur.fetchone()


# Every Nth point of the range, always its first and last, at most max_points.
_TRACK_POINTS = """
WITH t AS (
    SELECT time, lat, lon, speed_kn, course_deg, heading_deg, nav_status,
           row_number() OVER (ORDER BY time, lat, lon) AS n, count(*) OVER () AS total
    FROM positions
    WHERE mmsi = %(mmsi)s AND time >= %(start)s AND time < %(end)s
), kept AS (
    SELECT * FROM t
    WHERE total <= %(max_points)s OR n = 1 OR n = total
       OR (n - 1) %% greatest(1, ceil((total - 1)::numeric
                                      / greatest(%(max_points)s - 2, 1)))::bigint = 0
)
"""

_TRACK_GEOJSON = (
    _TRACK_POINTS
    + """
SELECT json_build_object(
    'type', 'FeatureCollection',
    'properties', json_build_object('mmsi', %(mmsi)s::integer, 'start', %(start)s::timestamptz,
        'end', %(end)s::timestamptz, 'total_points', coalesce(max(total), 0),
        'returned_points', count(*)),
    'features', CASE WHEN count(*) = 0 THEN '[]'::json ELSE (
        json_build_array(json_build_object(
            'type', 'Feature', 'id', 'track',
            'geometry', json_build_object('type', 'LineString', 'coordinates',
                json_agg(json_build_array(lon, lat) ORDER BY n)),
            'properties', json_build_object('mmsi', %(mmsi)s::integer,
                'start', min(time), 'end', max(time)))
        )::jsonb || coalesce(jsonb_agg(jsonb_build_object(
            'type', 'Feature',
            'geometry', jsonb_build_object('type', 'Point',
                                           'coordinates', jsonb_build_array(lon, lat)),
            'properties', jsonb_build_object('time', time, 'speed_kn', speed_kn,
                'course_deg', course_deg, 'heading_deg', heading_deg)
        ) ORDER BY n), '[]'::jsonb))::json
        END
)::text
FROM kept
"""
).encode()

_TRACK_ROWS = (
    _TRACK_POINTS
    + """
SELECT time, lat, lon, speed_kn, course_deg, heading_deg, nav_status FROM kept ORDER BY n
"""
).encode()


async def track_geojson(
    conn: Conn, mmsi: int, start: datetime, end: datetime, max_points: int
) -> str:
    """The track in [start, end) as a FeatureCollection: one LineString, then one Point
    per position (time, speed, course, heading), downsampled to ``max_points``."""
    cur = await conn.execute(
        _TRACK_GEOJSON, {"mmsi": mmsi, "start": start, "end": end, "max_points": max_points}
    )
    row = await cur.fetchone()
    return str(row[0]) if row else ""


async def track_rows(
    conn: Conn, mmsi: int, start: datetime, end: datetime, max_points: int
) -> list[tuple[Any, ...]]:
    cur = await conn.execute(
        _TRACK_ROWS, {"mmsi": mmsi, "start": start, "end": end, "max_points": max_points}
    )
    return list(await cur.fetchall())
