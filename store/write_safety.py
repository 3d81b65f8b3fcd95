"""AIS safety-related messages (``ais.safety``) into ``ais_safety_messages``, once each."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.safety import SafetyMessage
from store.db import Conn

_INSERT_SAFETY = b"""
INSERT INTO ais_safety_messages (mmsi, event_time, msg_type, text, dest_mmsi, kind, station,
    source, mmsi_kind)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (mmsi, event_time, msg_type, text) DO NOTHING
"""


async def write_safety_messages(conn: Conn, messages: Sequence[SafetyMessage]) -> int:
    """Insert ``messages`` (a message already stored is left as it is); returns how many
    were offered."""
    rows = [
        (
            m.mmsi,
            m.event_time,
            m.msg_type,
            m.text,
            m.dest_mmsi,
            m.kind.value,
            m.station,
            m.source,
            m.mmsi_info.kind.value,
        )
        for m in messages
    ]
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(_INSERT_SAFETY, rows)
    return len(rows)
