"""Geofences and the watchlist as the sink keeps them from the config topics.

Both are read the same way (a page by id, or one object by id, never a deleted one), so
one pair of queries serves both, given the table's ``ConfigTable``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.rows import dict_row

from store.db import Conn


@dataclass(frozen=True)
class ConfigTable:
    """A table the sink keeps in step with a compacted config topic."""

    table: str
    key: str
    """The object's id column (the topic's key)."""
    columns: tuple[str, ...]
    what: str
    """How a reader names one object ("geofence"), for messages."""

    @property
    def select(self) -> str:
        return f"SELECT {', '.join(self.columns)} FROM {self.table} WHERE deleted_at IS NULL"


GEOFENCES = ConfigTable(
    "geofences",
    "geofence_id",
    ("geofence_id", "name", "kind", "geometry", "rules", "owner_agency", "active", "updated_at"),
    "geofence",
)
WATCHLIST = ConfigTable(
    "watchlist",
    "entry_id",
    (
        "entry_id",
        "mmsi",
        "imo",
        "callsign",
        "name",
        "reason",
        "severity",
        "owner_agency",
        "updated_at",
    ),
    "watchlist entry",
)


async def list_config(
    conn: Conn, table: ConfigTable, *, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` live objects with ids after ``after``, by id."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{table.select} AND (%(after)s::text IS NULL OR {table.key} > %(after)s) "
            f"ORDER BY {table.key} LIMIT %(limit)s".encode(),
            {"after": after, "limit": limit},
        )
        return list(await cur.fetchall())


async def get_config(conn: Conn, table: ConfigTable, object_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{table.select} AND {table.key} = %s".encode(), (object_id,))
        return await cur.fetchone()
