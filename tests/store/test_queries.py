"""The questions the API asks: the COP box, a track, who was in an area, alert search."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from bus.base import Outgoing
from bus.memory import MemoryBus
from schemas.alerts import AlertChange, AlertRule, AlertStatus, Severity
from schemas.config import PolygonGeometry
from schemas.topics import Topic
from store.db import Conn
from store.errors import QueryError
from store.models import AlertQuery, BoundingBox, feature_collection
from store.queries import (
    identity_history,
    latest_vessels_in_bbox,
    search_alerts,
    vessel_track,
    vessels_in_polygon,
)
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.factories import T0, alert, position, static
from tests.store.support import records_of

pytestmark = pytest.mark.postgres

BALI = BoundingBox(min_lon=114.0, min_lat=-9.5, max_lon=116.0, max_lat=-8.0)


async def load(settings: StoreSettings, messages: list[Outgoing]) -> None:
    sink = StoreSink(MemoryBus(source="/tests"), settings)
    await sink.write_durably(records_of(messages))
    await sink.close()


def pos(mmsi: int, minute: float, lat: float, lon: float) -> Outgoing:
    return Outgoing(Topic.AIS_POSITIONS, str(mmsi), position(mmsi, minute, lat, lon))


async def test_the_cop_shows_latest_positions_in_the_box_with_their_age(
    db_url: str, conn: Conn, store_settings: StoreSettings
) -> None:
    await load(
        store_settings,
        [
            pos(525_000_001, 0, -8.5, 115.0),
            pos(525_000_001, 10, -8.6, 115.1),  # inside
            pos(525_000_002, 5, -6.0, 106.0),  # Jakarta
            pos(525_000_003, 0, -9.0, 115.5),  # inside, old
            Outgoing(Topic.AIS_STATIC, "1", static(525_000_001, 1, name="SRI REJEKI")),
        ],
    )
    now = T0 + timedelta(minutes=20)
    vessels = await latest_vessels_in_bbox(conn, BALI, now=now)
    assert [(v.mmsi, v.lat, v.seconds_since_seen) for v in vessels] == [
        (525_000_001, -8.6, 600.0),
        (525_000_003, -9.0, 1200.0),
    ]
    assert vessels[0].name == "SRI REJEKI"
    fresh = await latest_vessels_in_bbox(conn, BALI, now=now, max_age_s=900)
    assert [v.mmsi for v in fresh] == [525_000_001]
    feature: Any = feature_collection(fresh)["features"][0]  # type: ignore[index]
    assert feature["geometry"] == {"type": "Point", "coordinates": [115.1, -8.6]}
    assert feature["properties"]["name"] == "SRI REJEKI"


def test_a_bounding_box_must_make_sense() -> None:
    with pytest.raises(ValidationError, match="south edge"):
        BoundingBox(min_lon=114, min_lat=-8, max_lon=116, max_lat=-9)
    with pytest.raises(ValidationError, match="antimeridian"):
        BoundingBox.parse("179,-10,-179,10")
    with pytest.raises(ValidationError):
        BoundingBox.parse("0,0,200,10")
    assert BoundingBox.parse("114,-9.5,116,-8") == BALI


async def test_a_long_track_is_downsampled_keeping_first_and_last(
    conn: Conn, store_settings: StoreSettings
) -> None:
    track = [pos(525_000_005, m, -8.0 - m / 1000, 115.0) for m in range(0, 1440, 2)]
    await load(store_settings, track)
    start, end = T0, T0 + timedelta(days=1)
    full = await vessel_track(conn, 525_000_005, start, end)
    assert full.total_points == 720 and not full.downsampled and len(full.points) == 720
    assert [p.time for p in full.points] == sorted(p.time for p in full.points)
    for max_points in (2, 3, 100, 719):
        short = await vessel_track(conn, 525_000_005, start, end, max_points=max_points)
        assert short.downsampled and 2 <= len(short.points) <= max_points
        assert short.points[0] == full.points[0] and short.points[-1] == full.points[-1]
    window = await vessel_track(
        conn, 525_000_005, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20)
    )
    assert [p.time.minute for p in window.points] == [10, 12, 14, 16, 18]
    with pytest.raises(QueryError):
        await vessel_track(conn, 525_000_005, end, start)


async def test_vessels_present_in_a_polygon_during_a_window(
    conn: Conn, store_settings: StoreSettings
) -> None:
    # A triangle: its bounding box holds a corner that the triangle itself does not.
    triangle = PolygonGeometry(
        type="Polygon", coordinates=[[[115.0, -9.0], [116.0, -9.0], [115.0, -8.0], [115.0, -9.0]]]
    )
    await load(
        store_settings,
        [
            pos(525_000_001, 10, -8.8, 115.2),
            pos(525_000_001, 20, -8.7, 115.3),  # inside
            pos(525_000_002, 10, -8.1, 115.9),  # box only
            pos(525_000_003, 90, -8.8, 115.2),  # too late
            pos(525_000_004, 15, -9.0, 115.5),  # on the edge
        ],
    )
    found = await vessels_in_polygon(conn, triangle, T0, T0 + timedelta(hours=1))
    assert [(p.mmsi, p.points_inside) for p in found] == [(525_000_001, 2), (525_000_004, 1)]
    assert found[0].first_seen == T0 + timedelta(minutes=10)
    assert found[0].last_seen == T0 + timedelta(minutes=20)


async def test_alert_search_filters_and_orders(conn: Conn, store_settings: StoreSettings) -> None:
    gap = alert("525000001", 0, rule=AlertRule.AIS_GAP, severity=Severity.HIGH)
    loiter = alert("525000002", 30, lat=-6.0, lon=106.0)
    done = alert("525000001", 60).model_copy(
        update={
            "change": AlertChange.CLOSED,
            "status": AlertStatus.CLOSED,
            "updated_at": T0 + timedelta(minutes=70),
            "ended_at": T0 + timedelta(minutes=70),
        }
    )
    await load(
        store_settings,
        [Outgoing(Topic.FUSION_ALERTS, str(a.alert_id), a) for a in (gap, loiter, done)],
    )

    async def ids(**filters: object) -> list[str]:
        return [
            a.subject + "/" + a.rule
            for a in await search_alerts(conn, AlertQuery.model_validate(filters))
        ]

    assert await ids() == ["525000001/loitering", "525000002/loitering", "525000001/ais_gap"]
    assert await ids(order="oldest", limit=1) == ["525000001/ais_gap"]
    assert await ids(rules=["ais_gap"]) == ["525000001/ais_gap"]
    assert await ids(severities=["high"], statuses=["open"]) == ["525000001/ais_gap"]
    assert await ids(statuses=["closed"]) == ["525000001/loitering"]
    assert await ids(mmsi=525000002) == ["525000002/loitering"]
    assert await ids(bbox=BALI.model_dump()) == ["525000001/loitering", "525000001/ais_gap"]
    assert await ids(since=T0 + timedelta(minutes=75)) == [
        "525000002/loitering",
        "525000001/ais_gap",
    ]  # the closed one ended before
    assert await ids(until=T0 + timedelta(minutes=20)) == ["525000001/ais_gap"]
    with pytest.raises(QueryError):
        await ids(since=T0 + timedelta(minutes=5), until=T0)


async def test_identity_history_reads_oldest_first(
    conn: Conn, store_settings: StoreSettings
) -> None:
    await load(
        store_settings,
        [
            Outgoing(Topic.AIS_STATIC, "1", static(525_000_001, 60, name="B")),
            Outgoing(Topic.AIS_STATIC, "1", static(525_000_001, 0, name="A")),
            Outgoing(Topic.AIS_STATIC, "1", static(525_000_001, 30, name="C")),
        ],
    )
    changes = await identity_history(conn, 525_000_001)
    assert [(c.name, c.previous_name) for c in changes] == [("C", "A"), ("B", "C")]
