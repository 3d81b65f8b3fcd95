"""Geofences and the watchlist as the sink keeps them from the config topics."""

from __future__ import annotations

from typing import Any

from psycopg.rows import dict_row

from store.db import Conn

GEOFENCE_COLUMNS = "geofence_id, name, kind, geometry, rules, owner_agency, active, updated_at"
WATCHLIST_COLUMNS = (
    "entry_id, mmsi, imo, callsign, name, reason, severity, owner_agency, updated_at"
)


async def list_geofences(conn: Conn, *, after: str | None, limit: int) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {GEOFENCE_COLUMNS} FROM geofences WHERE deleted_at IS NULL "
            "AND (%(after)s::text IS NULL OR geofence_id > %(after)s) "
            "ORDER BY geofence_id LIMIT %(limit)s".encode(),
            {"after": after, "limit": limit},
        )
        return list(await cur.fetchall())


async def get_geofence(conn: Conn, geofence_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {GEOFENCE_COLUMNS} FROM geofences WHERE geofence_id = %s "
            "AND deleted_at IS NULL".encode(),
            (geofence_id,),
        )
        return await cur.fetchone()


async def list_watchlist(conn: Conn, *, after: str | None, limit: int) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {WATCHLIST_COLUMNS} FROM watchlist WHERE deleted_at IS NULL "
            "AND (%(after)s::text IS NULL OR entry_id > %(after)s) "
            "ORDER BY entry_id LIMIT %(limit)s".encode(),
            {"after": after, "limit": limit},
        )
        return list(await cur.fetchall())


async def get_watchlist_entry(conn: Conn, entry_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {WATCHLIST_COLUMNS} FROM watchlist WHERE entry_id = %s "
            "AND deleted_at IS NULL".encode(),
            (entry_id,),
        )
        return await cur.fetchone()
