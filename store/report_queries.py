"""Patrol and community reports as the API reads them (row-level security decides which)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from store.db import Conn

REPORT_COLUMNS = (
    "report_id, agency_id, reporter_kind, observed_at, received_at, lat, lon, uncertainty_m, "
    "activity, vessel_description, vessel_name, mmsi, persons_on_board, heading_deg, "
    "speed_kn, notes"
)


async def list_reports(
    conn: Conn,
    *,
    since: datetime | None,
    until: datetime | None,
    agency: str | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Reports by observation time, newest first; ``after`` is the keyset cursor."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""
            SELECT {REPORT_COLUMNS} FROM patrol_reports
            WHERE (%(since)s::timestamptz IS NULL OR observed_at >= %(since)s)
              AND (%(until)s::timestamptz IS NULL OR observed_at < %(until)s)
              AND (%(agency)s::text IS NULL OR agency_id = %(agency)s)
              AND (%(after_t)s::timestamptz IS NULL
                   OR (observed_at, report_id) < (%(after_t)s, %(after_id)s::uuid))
            ORDER BY observed_at DESC, report_id DESC
            LIMIT %(limit)s
            """.encode(),
            {
                "since": since,
                "until": until,
                "agency": agency,
                "after_t": after[0] if after else None,
                "after_id": after[1] if after else None,
                "limit": limit,
            },
        )
        return list(await cur.fetchall())


async def get_report(conn: Conn, report_id: uuid.UUID) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {REPORT_COLUMNS} FROM patrol_reports WHERE report_id = %s".encode(),
            (report_id,),
        )
        return await cur.fetchone()
