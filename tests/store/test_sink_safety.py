"""The sink stores AIS safety-related messages from ``ais.safety``, once each."""

from __future__ import annotations

import pytest

from bus.base import Outgoing
from bus.memory import MemoryBus
from schemas.safety import SafetyMessage
from schemas.topics import Topic
from store.db import Conn
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.ingest.support import decode_all
from tests.ingest.test_safety_messages import SART_MMSI, SHIP_MMSI, addressed, broadcast
from tests.store.support import records_of

pytestmark = pytest.mark.postgres


def decoded(lines: list[str]) -> Outgoing:
    [event], _ = decode_all(lines)
    assert isinstance(event, SafetyMessage)
    return Outgoing(Topic.AIS_SAFETY, str(event.mmsi), event)


async def test_safety_messages_are_stored_once_with_their_kind(
    conn: Conn, store_settings: StoreSettings
) -> None:
    records = records_of(
        [
            decoded(broadcast(SART_MMSI, "SART ACTIVE")),
            decoded(addressed(SART_MMSI, SHIP_MMSI, "SART TEST")),
            decoded(broadcast(SHIP_MMSI, "MAYDAY FIRE ON BOARD")),
        ]
    )
    sink = StoreSink(MemoryBus(source="/tests"), store_settings)
    first = await sink.write_durably(records)
    again = await sink.write_durably(records)  # a redelivered batch
    await sink.close()
    assert first["ais_safety_messages"] == 3 and sink.status.skipped == 0
    cur = await conn.execute(
        "SELECT mmsi, msg_type, dest_mmsi, text, kind, mmsi_kind FROM ais_safety_messages"
        " ORDER BY text"
    )
    assert await cur.fetchall() == [
        (SHIP_MMSI, 14, None, "MAYDAY FIRE ON BOARD", "mayday", "ship"),
        (SART_MMSI, 14, None, "SART ACTIVE", "sart_active", "sart"),
        (SART_MMSI, 12, SHIP_MMSI, "SART TEST", "sart_test", "sart"),
    ]
    assert again["ais_safety_messages"] == 3  # offered again, stored once (above)
