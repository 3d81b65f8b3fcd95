"""Positions into ``positions`` (COPY into a staging table, then one INSERT … ON CONFLICT
DO NOTHING on the natural key) and each vessel's latest position into ``vessels``.

Rows are plain tuples (``position_row``), so the benchmark drives the very same path
without building millions of pydantic objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from schemas.ais import PositionReport
from store.cells import cell_of
from store.db import Conn
from store.timeseries import day_of

PositionRow = tuple[Any, ...]

# Staging columns: every column of ``positions``, then what ``vessels`` also wants.
POSITION_COLUMNS = (
    "time",
    "mmsi",
    "lat",
    "lon",
    "msg_type",
    "speed_kn",
    "course_deg",
    "heading_deg",
    "nav_status",
    "turn_rate_deg_min",
    "position_accuracy_high",
    "altitude_m",
    "station",
    "source",
    "mmsi_valid",
    "h3_cell",
)
# The row of a report is the positions columns but the cell, what ``vessels`` also wants,
# then the cell (store/cells.py): COPY names the staging columns in this order.
STAGE_COLUMNS = (*POSITION_COLUMNS[:-1], "mmsi_kind", "flag_country", "h3_cell")
# Binary COPY needs the exact types; it is several times faster than text COPY here
# (measured in bench/store: about 0.9M against 0.12M rows/s into the staging table).
STAGE_TYPES = (
    "timestamptz",
    "integer",
    "float8",
    "float8",
    "smallint",
    "float4",
    "float4",
    "smallint",
    "smallint",
    "float4",
    "bool",
    "smallint",
    "text",
    "text",
    "bool",
    "text",
    "text",
    "int8",
)
_COLS = ", ".join(POSITION_COLUMNS)

_CREATE_STAGE = b"""
CREATE TEMP TABLE IF NOT EXISTS positions_stage
    (LIKE positions, mmsi_kind text, flag_country text) ON COMMIT DELETE ROWS
"""

_INSERT_POSITIONS = f"""
INSERT INTO positions ({_COLS}) SELECT {_COLS} FROM positions_stage
ON CONFLICT (mmsi, time, lat, lon) DO NOTHING
""".encode()

# A report dated beyond the clock-skew allowance (a station with a wrong clock) is kept in
# the track but never becomes the latest state: it would freeze the vessel until that
# date. A vessel frozen that way before this rule is freed by its next sane report.
# (time, lat, lon) orders reports totally, so which report is "latest" never depends on
# how the input was cut into batches (a restarted sink must end exactly where one run ends).
_LATEST_OF_BATCH = """
SELECT DISTINCT ON (mmsi) mmsi, time, lat, lon, speed_kn, course_deg, heading_deg,
       nav_status, msg_type, mmsi_valid, mmsi_kind, flag_country
FROM positions_stage
WHERE time <= now() + make_interval(secs => %(max_ahead_s)s)
ORDER BY mmsi, time DESC, lat DESC, lon DESC
"""
_NEWER = """(v.time IS NULL OR v.time > now() + make_interval(secs => %(max_ahead_s)s)
   OR ({new}.time, {new}.lat, {new}.lon) > (v.time, v.lat, v.lon))"""
_SET_LATEST = """time = {new}.time, lat = {new}.lat, lon = {new}.lon, speed_kn = {new}.speed_kn,
    course_deg = {new}.course_deg, heading_deg = {new}.heading_deg,
    nav_status = {new}.nav_status, msg_type = {new}.msg_type, mmsi_valid = {new}.mmsi_valid,
    mmsi_kind = {new}.mmsi_kind, flag_country = {new}.flag_country"""
# Known vessels are moved by an UPDATE joined to the batch's latest reports, and only new
# ones inserted: about a quarter less server CPU per position than one INSERT … ON
# CONFLICT DO UPDATE for all (measured in bench/store, 5,000 vessels a batch). The insert
# keeps ON CONFLICT with the same rule, for a vessel another sink inserts meanwhile.
MOVE_LATEST = f"""
WITH latest AS ({_LATEST_OF_BATCH}),
moved AS (
    UPDATE vessels AS v SET {_SET_LATEST.format(new="l")}
    FROM latest AS l
    WHERE v.mmsi = l.mmsi AND {_NEWER.format(new="l")}
    RETURNING 1
),
added AS (
    INSERT INTO vessels AS v (mmsi, time, lat, lon, speed_kn, course_deg, heading_deg,
                              nav_status, msg_type, mmsi_valid, mmsi_kind, flag_country)
    SELECT * FROM latest AS l WHERE NOT EXISTS (SELECT FROM vessels WHERE mmsi = l.mmsi)
    ON CONFLICT (mmsi) DO UPDATE SET {_SET_LATEST.format(new="excluded")}
    WHERE {_NEWER.format(new="excluded")}
    RETURNING 1
)
SELECT (SELECT count(*) FROM moved) + (SELECT count(*) FROM added)
""".encode()


def position_row(report: PositionReport) -> PositionRow | None:
    """The staging row of a report, or None when it carries no position."""
    if report.lat is None or report.lon is None:
        return None
    info = report.mmsi_info
    return (
        report.event_time,
        report.mmsi,
        report.lat,
        report.lon,
        report.msg_type,
        report.speed_kn,
        report.course_deg,
        report.heading_deg,
        report.nav_status,
        report.turn_rate_deg_min,
        report.position_accuracy_high,
        report.altitude_m,
        report.station,
        report.source,
        info.valid,
        info.kind.value,
        info.country,
        cell_of(report.lat, report.lon),
    )


def position_days(rows: Sequence[PositionRow]) -> set[date]:
    """The UTC days of the rows' times; a batch within one day (nearly every batch of a
    live feed) is found from its earliest and latest time alone."""
    if not rows:
        return set()
    times = [row[0] for row in rows]
    first, last = day_of(min(times)), day_of(max(times))
    if first == last:
        return {first}
    return {day_of(instant) for instant in times}


async def prepare_stage(conn: Conn) -> None:
    """Once per connection (temporary tables live as long as their session)."""
    await conn.execute(_CREATE_STAGE)


async def write_positions(
    conn: Conn,
    rows: Sequence[PositionRow],
    *,
    latest: bool = True,
    max_clock_ahead_s: float = 300.0,
) -> tuple[int, int]:
    """Inside the caller's transaction; returns (positions inserted, vessels moved). Only
    reports dated at most ``max_clock_ahead_s`` past now may move a vessel.
    ``latest=False`` leaves ``vessels`` alone (a backfill of history; the benchmark's
    like-for-like comparison with executemany)."""
    if not rows:
        return 0, 0
    async with conn.cursor() as cur:
        async with cur.copy(
            f"COPY positions_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN (FORMAT BINARY)".encode()
        ) as copy:
            copy.set_types(list(STAGE_TYPES))
            for row in rows:
                await copy.write_row(row)
        await cur.execute(_INSERT_POSITIONS)
        inserted = max(cur.rowcount, 0)
        moved = 0
        if latest:
            await cur.execute(MOVE_LATEST, {"max_ahead_s": float(max_clock_ahead_s)})
            moved = int((await cur.fetchone() or (0,))[0])
        # ON COMMIT DELETE ROWS empties the stage at commit; a second write in the same
        # transaction must not see this batch again. DELETE, not TRUNCATE: a temporary
        # table's rows are not WAL-logged, while TRUNCATE gives the table a new file and
        # catalog row every batch (about 0.5 us of server CPU per position, bench/store).
        await cur.execute(b"DELETE FROM positions_stage")
    return inserted, moved


async def write_positions_plainly(conn: Conn, rows: Sequence[PositionRow]) -> int:
    """The same positions with one parameterised INSERT per row (executemany): what the
    benchmark compares COPY against. Not used by the sink."""
    if not rows:
        return 0
    placeholders = ", ".join(["%s"] * len(POSITION_COLUMNS))
    async with conn.cursor() as cur:
        await cur.executemany(
            f"INSERT INTO positions ({_COLS}) VALUES ({placeholders}) "
            "ON CONFLICT (mmsi, time, lat, lon) DO NOTHING".encode(),
            [(*row[: len(POSITION_COLUMNS) - 1], row[-1]) for row in rows],
        )
    return len(rows)
