"""The sink's writes: idempotent, forward-only for latest state, identity history kept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from msgspec.structs import replace

from bus.base import Outgoing, Record
from bus.memory import MemoryBus
from schemas.alerts import AlertChange, AlertStatus
from schemas.topics import Topic
from store.db import Conn
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.factories import T0, alert, mixed_traffic, patrol, position, static
from tests.store.support import count, header, read_topic, records_of, snapshot

pytestmark = pytest.mark.postgres


def sink_for(settings: StoreSettings) -> StoreSink:
    return StoreSink(MemoryBus(source="/tests"), settings)


def pos(mmsi: int, minute: float, lat: float, lon: float) -> Outgoing:
    return Outgoing(Topic.AIS_POSITIONS, str(mmsi), position(mmsi, minute, lat, lon))


async def test_the_same_batch_twice_leaves_the_same_rows(
    db_url: str, store_settings: StoreSettings
) -> None:
    sink = sink_for(store_settings)
    records = records_of(mixed_traffic(vessels=8, minutes=30))
    await sink.write_durably(records)
    once = await snapshot(db_url)
    second = await sink.write_durably(records)
    await sink.close()
    assert await snapshot(db_url) == once
    assert second["positions"] == 0 and second["vessel_identity_history"] == 0
    assert len(once["positions"]) == 8 * 30 and len(once["vessels"]) == 8


async def test_latest_position_only_moves_forward_with_out_of_order_input(
    db_url: str, conn: Conn, store_settings: StoreSettings
) -> None:
    sink = sink_for(store_settings)
    await sink.write_durably(records_of([pos(525_000_001, 10, -8.0, 115.0)]))
    # An older report arriving late is stored in the track but does not move the vessel.
    await sink.write_durably(records_of([pos(525_000_001, 5, -9.0, 116.0)]))
    cur = await conn.execute("SELECT time, lat, lon FROM vessels WHERE mmsi = 525000001")
    assert await cur.fetchone() == (T0 + timedelta(minutes=10), -8.0, 115.0)
    # Within one batch, the newest wins whatever the order.
    await sink.write_durably(
        records_of([pos(525_000_001, 30, -7.0, 114.0), pos(525_000_001, 20, -7.5, 114.5)])
    )
    await sink.close()
    cur = await conn.execute("SELECT time, lat FROM vessels WHERE mmsi = 525000001")
    assert await cur.fetchone() == (T0 + timedelta(minutes=30), -7.0)
    assert await count(db_url, "positions") == 4


async def test_identity_changes_are_recorded_and_parts_a_and_b_merge(
    conn: Conn, store_settings: StoreSettings
) -> None:
    mmsi = 525_000_007
    sink = sink_for(store_settings)

    def st(minute: float, **fields: object) -> Outgoing:
        return Outgoing(Topic.AIS_STATIC, str(mmsi), static(mmsi, minute, **fields))

    await sink.write_durably(
        records_of(
            [
                st(0, msg_type=24, part="A", name="SRI REJEKI"),
                st(0, msg_type=24, part="B", callsign="YB1234", ship_type=30),
                st(60, msg_type=24, part="A", name="SRI REJEKI"),  # no change
                st(90, msg_type=24, part="A", name="LAUT BIRU"),  # renamed
            ]
        )
    )
    await sink.write_durably(records_of([st(45, msg_type=24, part="A", name="OLD NEWS")]))
    await sink.close()
    cur = await conn.execute(
        "SELECT name, callsign, ship_type, identity_time FROM vessels WHERE mmsi = %s", (mmsi,)
    )
    assert await cur.fetchone() == ("LAUT BIRU", "YB1234", 30, T0 + timedelta(minutes=90))
    cur = await conn.execute(
        "SELECT changed_at, name, previous_name, callsign, changed_fields "
        "FROM vessel_identity_history WHERE mmsi = %s ORDER BY changed_at, callsign NULLS FIRST",
        (mmsi,),
    )
    # Filling a field never said before is not a change (so the history does not depend on
    # batch boundaries); "OLD NEWS", older than the identity, changes nothing.
    assert await cur.fetchall() == [
        (T0 + timedelta(minutes=90), "LAUT BIRU", "SRI REJEKI", "YB1234", ["name"]),
    ]


async def test_an_alert_keeps_its_newest_update_and_its_acknowledgement(
    conn: Conn, store_settings: StoreSettings
) -> None:
    sink = sink_for(store_settings)
    opened = alert("525000009", 0)
    updated = opened.model_copy(
        update={
            "change": AlertChange.UPDATED,
            "score": 0.9,
            "updated_at": opened.started_at + timedelta(minutes=5),
        }
    )
    closed = updated.model_copy(
        update={
            "change": AlertChange.CLOSED,
            "status": AlertStatus.CLOSED,
            "updated_at": opened.started_at + timedelta(minutes=9),
            "ended_at": opened.started_at + timedelta(minutes=9),
        }
    )
    key = str(opened.alert_id)
    await sink.write_durably(records_of([Outgoing(Topic.FUSION_ALERTS, key, opened)]))
    await conn.execute("UPDATE alerts SET status = 'acknowledged', acknowledged_by = 'duty'")
    await sink.write_durably(records_of([Outgoing(Topic.FUSION_ALERTS, key, updated)]))
    cur = await conn.execute("SELECT status, score, acknowledged_by FROM alerts")
    assert await cur.fetchall() == [("acknowledged", pytest.approx(0.9), "duty")]
    # The close arrives, then a stale update redelivered: closed stays closed.
    await sink.write_durably(records_of([Outgoing(Topic.FUSION_ALERTS, key, closed)]))
    await sink.write_durably(records_of([Outgoing(Topic.FUSION_ALERTS, key, updated)]))
    await sink.close()
    cur = await conn.execute("SELECT status, change, ended_at FROM alerts")
    assert await cur.fetchall() == [("closed", "closed", closed.ended_at)]


async def test_a_day_without_a_partition_is_created_not_failed(
    db_url: str, store_settings: StoreSettings
) -> None:
    sink = sink_for(store_settings)
    far = replace(position(525_000_002, 0, -8.0, 115.0), event_time=T0.replace(year=2024))
    late_alert = alert("525000002", 0).model_copy(
        update={"started_at": T0.replace(year=2019), "updated_at": T0.replace(year=2019)}
    )
    await sink.write_durably(
        records_of(
            [
                Outgoing(Topic.AIS_POSITIONS, "525000002", far),
                Outgoing(Topic.FUSION_ALERTS, "x", late_alert),
            ]
        )
    )
    await sink.close()
    assert await count(db_url, "positions_p20240301") == 1
    assert await count(db_url, "alerts_p20190301") == 1


async def test_unreadable_records_go_to_the_dead_letter_topic_without_stopping(
    db_url: str, store_settings: StoreSettings
) -> None:
    bus = MemoryBus(source="/tests")
    sink = StoreSink(bus, store_settings)
    good = records_of(
        [pos(525_000_003, 1, -8.0, 115.0), Outgoing(Topic.PATROL_REPORTS, None, patrol(3))]
    )
    garbage = Record(Topic.AIS_POSITIONS, 0, 7, "1", b"{not json", good[0].headers, 0)
    wrong_type = Record(Topic.AIS_STATIC, 0, 8, "1", good[0].value, good[0].headers, 0)
    no_position = records_of(
        [
            Outgoing(
                Topic.AIS_POSITIONS,
                "4",
                replace(position(525_000_004, 2, -8.0, 115.0), lat=None, lon=None),
            )
        ],
        9,
    )
    await sink.write_durably([*good, garbage, wrong_type, *no_position])
    await sink.close()
    assert sink.status.dead_lettered == 2  # garbage and the wrong type
    assert sink.status.skipped == 1  # a report without a position is normal traffic
    assert await count(db_url, "positions") == 1
    assert await count(db_url, "patrol_reports") == 1
    dead = {header(r, "dlq_offset"): r for r in await read_topic(bus, Topic.DEADLETTER, 2)}
    assert dead.keys() == {"7", "8"}
    assert dead["7"].value == b"{not json"
    assert (header(dead["7"], "dlq_reason") or "").startswith(
        "undecodable: invalid lookout.ais.position.v1 value"
    )
    assert (header(dead["8"], "dlq_reason") or "").startswith(
        "undecodable: event type 'lookout.ais.position.v1' is not a StaticReport"
    )
