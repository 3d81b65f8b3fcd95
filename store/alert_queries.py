"""Alerts as the API reads and decides them. Every statement runs under the caller's
row-level security: an alert the caller may not see is neither listed nor changed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from schemas.alerts import AlertStatus
from store.db import Conn
from store.models import BoundingBox

ALERT_COLUMNS = (
    "alert_id, rule, status, severity, score, subject, mmsis, title, started_at, updated_at, "
    "ended_at, lat, lon, geofence_id, evidence, source_agency, acknowledged_by, "
    "acknowledged_at, closed_by, notes, change_seq"
)


async def list_alerts(
    conn: Conn,
    *,
    rules: list[str] | None,
    severities: list[str] | None,
    statuses: list[str] | None,
    bbox: BoundingBox | None,
    since: datetime | None,
    until: datetime | None,
    mmsi: int | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Matching alerts by last update, newest first; ``after`` is the keyset cursor (the
    (updated_at, alert_id) of the last alert of the previous page)."""
    where: list[sql.Composable] = []
    params: dict[str, Any] = {"limit": limit}
    if rules:
        where.append(sql.SQL("rule = ANY(%(rules)s)"))
        params["rules"] = rules
    if severities:
        where.append(sql.SQL("severity = ANY(%(severities)s)"))
        params["severities"] = severities
    if statuses:
        where.append(sql.SQL("status = ANY(%(statuses)s)"))
        params["statuses"] = statuses
    if bbox is not None:
        where.append(sql.SQL("lat BETWEEN %(s)s AND %(n)s AND lon BETWEEN %(w)s AND %(e)s"))
        params |= {"w": bbox.min_lon, "s": bbox.min_lat, "e": bbox.max_lon, "n": bbox.max_lat}
    if since is not None:
        where.append(sql.SQL("(ended_at IS NULL OR ended_at >= %(since)s)"))
        params["since"] = since
    if until is not None:
        where.append(sql.SQL("started_at < %(until)s"))
        params["until"] = until
    if mmsi is not None:
        where.append(sql.SQL("mmsis @> ARRAY[%(mmsi)s]::integer[]"))
        params["mmsi"] = mmsi
    if after is not None:
        where.append(sql.SQL("(updated_at, alert_id) < (%(after_t)s, %(after_id)s)"))
        params |= {"after_t": after[0], "after_id": after[1]}
    statement = sql.SQL(
        "SELECT {columns} FROM alerts WHERE {where} "
        "ORDER BY updated_at DESC, alert_id DESC LIMIT %(limit)s"
    ).format(
        columns=sql.SQL(ALERT_COLUMNS),
        where=sql.SQL(" AND ").join(where or [sql.SQL("TRUE")]),
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(statement, params)
        return list(await cur.fetchall())


async def get_alert(conn: Conn, alert_id: uuid.UUID) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE alert_id = %s".encode(), (alert_id,)
        )
        return await cur.fetchone()


async def alerts_changed_after(conn: Conn, change_seq: int, limit: int) -> list[dict[str, Any]]:
    """Alerts written after change number ``change_seq``, in the order they were written
    (the live stream's resume)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts WHERE change_seq > %s "
            "ORDER BY change_seq LIMIT %s".encode(),
            (change_seq, limit),
        )
        return list(await cur.fetchall())


async def last_change_seq(conn: Conn) -> int:
    cur = await conn.execute(
        b"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM alert_change_seq"
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def decide(
    conn: Conn,
    alert_id: uuid.UUID,
    status: AlertStatus,
    agency: str,
    note: str,
    at: datetime,
) -> dict[str, Any] | None:
    """A person's decision: acknowledge, escalate or close, with a note appended to the
    alert's notes. None when the caller cannot see the alert."""
    note_line = f"[{at:%Y-%m-%d %H:%M}Z {agency} {status.value}] {note}".rstrip()
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"""
            UPDATE alerts SET
                status = %(status)s,
                acknowledged_by = CASE WHEN %(status)s IN ('acknowledged', 'escalated')
                    THEN coalesce(acknowledged_by, %(agency)s) ELSE acknowledged_by END,
                acknowledged_at = CASE WHEN %(status)s IN ('acknowledged', 'escalated')
                    THEN coalesce(acknowledged_at, %(at)s) ELSE acknowledged_at END,
                closed_by = CASE WHEN %(status)s = 'closed' THEN %(agency)s ELSE closed_by END,
                notes = CASE WHEN notes = '' THEN %(line)s ELSE notes || E'\\n' || %(line)s END
            WHERE alert_id = %(id)s
            RETURNING {ALERT_COLUMNS}
            """.encode(),
            {"status": status.value, "agency": agency, "at": at, "line": note_line, "id": alert_id},
        )
        return await cur.fetchone()
