"""A large fleet straight into the ``vessels`` table (the COP's source), in one SQL
statement: 10,000 vessels in milliseconds, for the page's tests and its benchmark.

Vessels spread over the archipelago on two golden-ratio sequences (no two on one spot),
every ship-type category represented, headings all round, each heard within the last hour.
"""

from __future__ import annotations

from datetime import datetime

from store.db import Conn

FIRST_MMSI = 525_000_000
# The Bali Process region the watch floor opens on (bench/api uses the same spread).
WEST, EAST, SOUTH, NORTH = 95.0, 141.0, -11.0, 6.0

_FILL = b"""
INSERT INTO vessels (mmsi, name, ship_type, time, lat, lon, speed_kn, course_deg,
                     heading_deg, msg_type, mmsi_valid)
SELECT %(first)s + v, 'VESSEL ' || v, (ARRAY[30, 70, 80, 60, 52, 36, 35, 99])[1 + v %% 8],
       %(now)s - (v %% 3600) * interval '1 second',
       %(south)s + (%(north)s - %(south)s) * ((v * 0.6180339887) - floor(v * 0.6180339887)),
       %(west)s + (%(east)s - %(west)s) * ((v * 0.7548776662) - floor(v * 0.7548776662)),
       5 + v %% 12, (v * 37) %% 360,
       CASE WHEN v %% 10 = 0 THEN NULL ELSE (v * 37) %% 360 END, 1, true
FROM generate_series(0, %(count)s - 1) v
"""


def spot(n: int) -> tuple[float, float]:
    """Vessel n's (lon, lat), as the fill places it (FIRST_MMSI + n, named VESSEL n)."""
    golden_lat, golden_lon = 0.6180339887, 0.7548776662
    return (
        WEST + (EAST - WEST) * ((n * golden_lon) % 1.0),
        SOUTH + (NORTH - SOUTH) * ((n * golden_lat) % 1.0),
    )


async def fill_fleet(conn: Conn, count: int, now: datetime) -> None:
    """``count`` vessels, MMSIs from FIRST_MMSI (``conn`` autocommits, as store.db's do)."""
    await conn.execute(
        _FILL,
        {
            "first": FIRST_MMSI,
            "now": now,
            "count": count,
            "south": SOUTH,
            "north": NORTH,
            "west": WEST,
            "east": EAST,
        },
    )
