"""The area question: who was inside a polygon during a window, read through the H3 cell
of each position (migration 020) so that the database reads about as many positions as
lie inside, not every position of the window in the polygon's box."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import shapely

from schemas.config import PolygonGeometry
from store import timeseries
from store.area import area_plan, explain_scans, vessels_in_area
from store.db import Conn
from store.queries import _CANDIDATES, MAX_AREA_CANDIDATES
from store.write_positions import position_row, prepare_stage, write_positions
from tests.store.factories import T0, position

pytestmark = pytest.mark.postgres

# A triangle: its bounding box holds a corner that the triangle itself does not.
TRIANGLE = PolygonGeometry(
    type="Polygon", coordinates=[[[115.0, -9.0], [116.0, -9.0], [115.0, -8.0], [115.0, -9.0]]]
)
# A diamond of 0.8 degrees across (about 3,900 km²), not aligned with anything.
DIAMOND = PolygonGeometry(
    type="Polygon",
    coordinates=[[[115.5, -8.9], [115.9, -8.5], [115.5, -8.1], [115.1, -8.5], [115.5, -8.9]]],
)


async def store(conn: Conn, reports: list[tuple[int, float, float, float]]) -> None:
    """(mmsi, minute, lat, lon) through the sink's own row and write path."""
    rows = [position_row(position(*report)) for report in reports]
    await timeseries.ensure_partitions(
        conn, timeseries.POSITIONS, {timeseries.day_of(T0), timeseries.day_of(T0) + timedelta(1)}
    )
    await prepare_stage(conn)
    async with conn.transaction():
        await write_positions(conn, [r for r in rows if r is not None])
    await conn.execute("ANALYZE positions")


async def test_vessels_inside_a_polygon_during_a_window(conn: Conn) -> None:
    await store(
        conn,
        [
            (525_000_001, 10, -8.8, 115.2),
            (525_000_001, 20, -8.7, 115.3),  # inside
            (525_000_002, 10, -8.1, 115.9),  # in the box only
            (525_000_003, 90, -8.8, 115.2),  # too late
            (525_000_004, 15, -9.0, 115.5),  # on the edge
        ],
    )
    # A position stored before migration 020 has no cell: it is found all the same.
    await conn.execute(
        "INSERT INTO positions (time, mmsi, lat, lon, msg_type, source, mmsi_valid) "
        "VALUES (%s, 525000005, -8.9, 115.05, 1, 'old', true)",
        (T0 + timedelta(minutes=30),),
    )
    found = await vessels_in_area(conn, TRIANGLE, T0, T0 + timedelta(hours=1))
    assert [(p.mmsi, p.points_inside) for p in found] == [
        (525_000_001, 2),
        (525_000_004, 1),
        (525_000_005, 1),
    ]
    assert found[0].first_seen == T0 + timedelta(minutes=10)
    assert found[0].last_seen == T0 + timedelta(minutes=20)


async def test_the_area_question_reads_about_as_many_positions_as_lie_inside(
    conn: Conn,
) -> None:
    """12,000 positions over two hours in a 2 x 2 degree sea; the question asks for the
    first hour inside the diamond. EXPLAIN ANALYZE counts the rows the scans of positions
    read: through the cell index about as many as lie inside; the time-only query (the
    window and the polygon's box) reads every position of the window."""
    rng = random.Random(15)
    reports = [
        (
            525_100_000 + n % 60,
            rng.uniform(0, 119),
            rng.uniform(-9.5, -7.5),
            rng.uniform(114.5, 116.5),
        )
        for n in range(12_000)
    ]
    await store(conn, reports)
    start, end = T0, T0 + timedelta(hours=1)
    area = shapely.geometry.shape(DIAMOND.model_dump())
    inside = sum(
        1
        for _, minute, lat, lon in reports
        if minute < 60 and area.intersects(shapely.Point(lon, lat))
    )
    found = await vessels_in_area(conn, DIAMOND, start, end)
    assert sum(p.points_inside for p in found) == inside

    by_cell = await area_plan(conn, DIAMOND, start, end)
    west, south, east, north = area.bounds
    time_only = await explain_scans(
        conn,
        [
            (
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
        ],
    )
    print(
        f"{inside} positions inside; read through the cells {by_cell.rows_read} "
        f"({sorted(by_cell.indexes)}), by time only {time_only.rows_read}"
    )
    assert any("h3_cell" in name for name in by_cell.indexes), by_cell
    assert by_cell.rows_read <= 1.5 * inside
    assert time_only.rows_read > 3 * inside  # what the check above refuses
