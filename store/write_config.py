"""Geofences and the watchlist into their tables, kept in step with the config topics.

The compacted topics ``config.geofences`` and ``config.watchlist`` are the one source of
truth (the API publishes there, and so does ``lookout config load``); the sink applies
each record in offset order: a value replaces the row with that key, a tombstone deletes
it. Re-reading a batch after a crash applies the same records in the same order, so the
tables end the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from psycopg.types.json import Jsonb

from bus.base import Record
from schemas.config import Geofence, WatchlistEntry
from schemas.topics import Topic
from store.db import Conn

CONFIG_TOPICS: tuple[Topic, ...] = (Topic.CONFIG_GEOFENCES, Topic.CONFIG_WATCHLIST)


@dataclass(frozen=True)
class ConfigChange:
    topic: Topic
    key: str
    value: Geofence | WatchlistEntry | None
    """None: a tombstone (the object was deleted)."""


def decode_config(record: Record, topic: Topic) -> ConfigChange:
    """Raises ``EnvelopeError`` / ``ValueError`` for a record that is not a config object."""
    if record.key is None:
        raise ValueError("a config record needs its object id as key")
    if record.value is None:
        return ConfigChange(topic, record.key, None)
    value: Geofence | WatchlistEntry
    if topic == Topic.CONFIG_GEOFENCES:
        value = record.decode(Geofence)
        object_id = value.geofence_id
    else:
        value = record.decode(WatchlistEntry)
        object_id = value.entry_id
    if object_id != record.key:
        raise ValueError(f"record key {record.key!r} is not the object's id {object_id!r}")
    return ConfigChange(topic, record.key, value)


_UPSERT_GEOFENCE = b"""
INSERT INTO geofences (geofence_id, name, kind, geometry, min_lon, min_lat, max_lon, max_lat,
    rules, owner_agency, active, updated_at, deleted_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL)
ON CONFLICT (geofence_id) DO UPDATE SET
    name = excluded.name, kind = excluded.kind, geometry = excluded.geometry,
    min_lon = excluded.min_lon, min_lat = excluded.min_lat, max_lon = excluded.max_lon,
    max_lat = excluded.max_lat, rules = excluded.rules, owner_agency = excluded.owner_agency,
    active = excluded.active, updated_at = excluded.updated_at, deleted_at = NULL
"""
_UPSERT_WATCHLIST = b"""
INSERT INTO watchlist (entry_id, mmsi, imo, callsign, name, reason, severity, owner_agency,
    updated_at, deleted_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL)
ON CONFLICT (entry_id) DO UPDATE SET
    mmsi = excluded.mmsi, imo = excluded.imo, callsign = excluded.callsign,
    name = excluded.name, reason = excluded.reason, severity = excluded.severity,
    owner_agency = excluded.owner_agency, updated_at = excluded.updated_at, deleted_at = NULL
"""


async def write_config(conn: Conn, changes: Sequence[ConfigChange]) -> int:
    """Apply ``changes`` in order; returns the rows written or deleted."""
    async with conn.cursor() as cur:
        for change in changes:
            value = change.value
            if value is None:
                table, column = (
                    ("geofences", "geofence_id")
                    if change.topic == Topic.CONFIG_GEOFENCES
                    else ("watchlist", "entry_id")
                )
                await cur.execute(
                    f"DELETE FROM {table} WHERE {column} = %s".encode(), (change.key,)
                )
            elif isinstance(value, Geofence):
                west, south, east, north = shapely.geometry.shape(
                    value.geometry.model_dump()
                ).bounds
                await cur.execute(
                    _UPSERT_GEOFENCE,
                    (
                        value.geofence_id,
                        value.name,
                        value.kind.value,
                        Jsonb(value.geometry.model_dump(mode="json")),
                        west,
                        south,
                        east,
                        north,
                        Jsonb(value.rules.model_dump(mode="json")),
                        value.owner_agency,
                        value.active,
                        value.updated_at,
                    ),
                )
            else:
                await cur.execute(
                    _UPSERT_WATCHLIST,
                    (
                        value.entry_id,
                        value.mmsi,
                        value.imo,
                        value.callsign,
                        value.name,
                        value.reason,
                        value.severity.value,
                        value.owner_agency,
                        value.updated_at,
                    ),
                )
    return len(changes)
