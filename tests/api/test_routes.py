"""The /v1 routes against the real database and the sink: the picture, tracks, alerts and
people's decisions, reports, zones and the watchlist through their config topics."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bus.base import Outgoing
from schemas.alerts import Alert, AlertChange, AlertRule, AlertStatus, Severity
from schemas.topics import Topic
from store.api_keys import Role
from store.db import connect
from tests.api.support import ApiServer, eventually
from tests.store.factories import position, static

pytestmark = pytest.mark.postgres

BALI_SEA = {
    "type": "Polygon",
    "coordinates": [[[115.0, -8.9], [115.6, -8.9], [115.6, -8.3], [115.0, -8.3], [115.0, -8.9]]],
}


async def status_of(client: httpx.AsyncClient, path: str, code: int) -> bool:
    return (await client.get(path)).status_code == code


async def test_picture_track_and_search(live_api: ApiServer) -> None:
    assert live_api.bus is not None
    now = datetime.now(UTC).replace(microsecond=0)
    mmsi = 525_000_001
    messages = [
        Outgoing(
            Topic.AIS_POSITIONS.value,
            str(mmsi),
            position(mmsi, 0, -8.5 + i * 0.01, 115.2, event_time=now - timedelta(minutes=60 - i)),
        )
        for i in range(60)
    ]
    for name, hours in (("SINAR JAYA", 3), ("SINAR BARU", 2)):  # renamed an hour later
        identity = static(
            mmsi,
            0,
            name=name,
            callsign="YB1234",
            ship_type=30,
            event_time=now - timedelta(hours=hours),
        )
        messages.append(Outgoing(Topic.AIS_STATIC.value, str(mmsi), identity))
    messages.append(  # a vessel far away, outside the box asked for
        Outgoing(
            Topic.AIS_POSITIONS.value,
            "525000002",
            position(525_000_002, 0, 1.0, 104.0, event_time=now),
        )
    )
    await live_api.bus.publish_many(messages)
    async with await live_api.client("BAKAMLA", Role.WATCH) as c:
        await eventually(lambda: status_of(c, f"/v1/vessels/{mmsi}", 200), "the vessel")
        await eventually(
            lambda: _track_points(c, mmsi, 60), "the whole track to be written", timeout_s=20
        )
        cop = await c.get("/v1/cop/vessels", params={"bbox": "114,-10,117,-7"})
        assert cop.headers["content-type"].startswith("application/geo+json")
        features = cop.json()["features"]
        assert [f["id"] for f in features] == [mmsi]
        props = features[0]["properties"]
        assert props["name"] == "SINAR BARU" and props["ship_type"] == 30
        assert features[0]["geometry"]["coordinates"] == [115.2, pytest.approx(-8.5 + 0.59)]
        assert 0 <= props["seconds_since_seen"] < 600
        everywhere = (await c.get("/v1/cop/vessels")).json()["features"]
        assert {f["id"] for f in everywhere} == {mmsi, 525_000_002}
        assert (
            await c.get("/v1/cop/vessels", params={"bbox": "117,-7,114,-10"})
        ).status_code == 422

        found = (await c.get("/v1/vessels", params={"q": "sinar"})).json()["items"]
        assert [v["mmsi"] for v in found] == [mmsi]
        assert (await c.get("/v1/vessels", params={"q": "YB1234"})).json()["items"][0][
            "mmsi"
        ] == mmsi
        history = (await c.get(f"/v1/vessels/{mmsi}/identity")).json()
        assert [(h["previous_name"], h["name"]) for h in history] == [("SINAR JAYA", "SINAR BARU")]

        track = (await c.get(f"/v1/vessels/{mmsi}/track", params={"max_points": 10})).json()
        line, *points = track["features"]
        assert line["geometry"]["type"] == "LineString"
        assert len(line["geometry"]["coordinates"]) == len(points) <= 10
        assert track["properties"]["total_points"] == 60
        as_csv = await c.get(f"/v1/vessels/{mmsi}/track", params={"format": "csv"})
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert len(rows) == 60 and rows[0]["lat"] == str(-8.5)
        too_long = await c.get(
            f"/v1/vessels/{mmsi}/track",
            params={"start": (now - timedelta(days=40)).isoformat(), "end": now.isoformat()},
        )
        assert too_long.status_code == 422 and "at most" in too_long.json()["detail"]
    async with await live_api.client("BAKAMLA", Role.ANALYST) as analyst:
        inside = await analyst.post(
            "/v1/vessels/in-area",
            json={
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [115.0, -8.9],
                            [115.6, -8.9],
                            [115.6, -8.295],
                            [115.0, -8.295],
                            [115.0, -8.9],
                        ]
                    ],
                },
                "start": (now - timedelta(hours=2)).isoformat(),
                "end": (now + timedelta(minutes=1)).isoformat(),
            },
        )
        assert inside.status_code == 200, inside.text
        [presence] = inside.json()
        # The track runs north along 115.2 E from -8.5 to -7.91, a point per 0.01 degree;
        # the box ends at -8.295: the first 21 points are inside.
        assert presence["mmsi"] == mmsi and presence["points_inside"] == 21


async def _track_points(c: httpx.AsyncClient, mmsi: int, n: int) -> bool:
    track = (await c.get(f"/v1/vessels/{mmsi}/track")).json()
    return bool(track["properties"]["total_points"] == n)


async def test_a_decision_is_kept_through_fusion_updates(live_api: ApiServer) -> None:
    """Acknowledge, escalate, close with notes; fusion's later update changes the evidence
    and never reopens what a person closed."""
    assert live_api.bus is not None
    now = datetime.now(UTC)
    opened = Alert.open(
        rule=AlertRule.LOITERING,
        severity=Severity.MEDIUM,
        subject="525000003",
        mmsis=[525_000_003],
        title="loitering",
        started_at=now - timedelta(hours=1),
        lat=-8.6,
        lon=115.3,
    )
    await live_api.bus.publish_many(
        [Outgoing(Topic.FUSION_ALERTS.value, str(opened.alert_id), opened)]
    )
    path = f"/v1/alerts/{opened.alert_id}"
    async with await live_api.client("BASARNAS", Role.WATCH) as watch:
        await eventually(lambda: status_of(watch, path, 200), "the alert")
        ack = await watch.post(f"{path}/acknowledge", json={"note": "seen"})
        assert ack.status_code == 200, ack.text
        assert (
            ack.json()["status"] == "acknowledged" and ack.json()["acknowledged_by"] == "BASARNAS"
        )
        esc = await watch.post(f"{path}/escalate", json={"note": "patrol tasked"})
        assert esc.json()["status"] == "escalated"
        closed = await watch.post(f"{path}/close", json={"note": "fishing, lawful"})
        assert closed.json()["status"] == "closed" and closed.json()["closed_by"] == "BASARNAS"
        assert "patrol tasked" in closed.json()["notes"] and "lawful" in closed.json()["notes"]
        again = await watch.post(f"{path}/acknowledge", json={})
        assert again.status_code == 409

        update = opened.model_copy(
            update={
                "change": AlertChange.UPDATED,
                "status": AlertStatus.OPEN,
                "updated_at": now,
                "evidence": {"duration_s": 7200},
            }
        )
        await live_api.bus.publish_many(
            [Outgoing(Topic.FUSION_ALERTS.value, str(opened.alert_id), update)]
        )

        async def evidence_updated() -> bool:
            return bool((await watch.get(path)).json()["evidence"] == {"duration_s": 7200})

        await eventually(evidence_updated, "fusion's update to be written")
        assert (await watch.get(path)).json()["status"] == "closed"
        listed = (await watch.get("/v1/alerts", params={"status": "closed"})).json()["items"]
        assert str(opened.alert_id) in {a["alert_id"] for a in listed}
    async with await live_api.client("BASARNAS", Role.INTEGRATOR) as machine:
        refused = await machine.post(f"{path}/acknowledge", json={})
        assert refused.status_code == 403


async def test_alert_pages_follow_the_cursor(live_api: ApiServer) -> None:
    assert live_api.bus is not None
    now = datetime.now(UTC)
    alerts = [
        Alert.open(
            rule=AlertRule.AIS_GAP,
            severity=Severity.LOW,
            subject=str(525_100_000 + n),
            title="gap",
            started_at=now - timedelta(minutes=n),
        )
        for n in range(7)
    ]
    await live_api.bus.publish_many(
        [Outgoing(Topic.FUSION_ALERTS.value, str(a.alert_id), a) for a in alerts]
    )
    async with await live_api.client("BAKAMLA", Role.WATCH) as c:

        async def all_there() -> bool:
            return len((await c.get("/v1/alerts", params={"limit": 100})).json()["items"]) == 7

        await eventually(all_there, "the alerts")
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await c.get("/v1/alerts", params=params)).json()
            seen += [a["alert_id"] for a in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [str(a.alert_id) for a in alerts]  # newest first, none twice
        assert (await c.get("/v1/alerts", params={"cursor": "garbage"})).status_code == 422


async def test_reports_in_csv_are_all_or_nothing(live_api: ApiServer) -> None:
    now = datetime.now(UTC).isoformat()
    good = (
        "observed_at,lat,lon,activity,persons_on_board\n"
        f"{now},-8.1,115.5,transit,3\n{now},-8.2,115.6,unknown,\n"
    )
    bad = f"observed_at,lat,lon\n{now},-8.1,115.5\n{now},97.2,115.6\n"
    async with await live_api.client("POLRI", Role.INTEGRATOR) as c:
        refused = await c.post("/v1/reports", content=bad, headers={"content-type": "text/csv"})
        assert refused.status_code == 422
        assert (
            "line 3" in refused.json()["detail"] and "nothing was filed" in refused.json()["detail"]
        )
        accepted = await c.post("/v1/reports", content=good, headers={"content-type": "text/csv"})
        assert accepted.status_code == 201, accepted.text
        ids = accepted.json()["report_ids"]
        assert len(ids) == 2
        await eventually(lambda: status_of(c, f"/v1/reports/{ids[1]}", 200), "the reports")
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        late = await c.post("/v1/reports", json={"observed_at": future, "lat": 0, "lon": 0})
        assert late.status_code == 422 and "future" in late.json()["detail"]


async def test_zones_and_watchlist_travel_through_their_topics(live_api: ApiServer) -> None:
    async with await live_api.client("BAKAMLA", Role.ADMIN) as admin:
        bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
        invalid = await admin.post(
            "/v1/geofences", json={"name": "bow tie", "kind": "restricted", "geometry": bowtie}
        )
        # refused by the zone schema itself (the topic's readers refuse it too), saying where
        assert invalid.status_code == 422 and "Self-intersection at 0.5, 0.5" in invalid.text
        open_ring = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}
        assert (
            await admin.post(
                "/v1/geofences", json={"name": "x", "kind": "restricted", "geometry": open_ring}
            )
        ).status_code == 422
        huge = {"type": "Polygon", "coordinates": [[[0, 0], [100, 0], [100, 10], [0, 10], [0, 0]]]}
        too_wide = await admin.post(
            "/v1/geofences", json={"name": "x", "kind": "eez", "geometry": huge}
        )
        assert too_wide.status_code == 422 and "spans" in too_wide.json()["detail"]

        feature = {
            "type": "Feature",
            "id": "benoa-anchorage",
            "geometry": BALI_SEA,
            "properties": {"name": "Benoa anchorage", "kind": "anchorage"},
        }
        created = await admin.post("/v1/geofences", json=feature)
        assert created.status_code == 201, created.text
        await eventually(lambda: status_of(admin, "/v1/geofences/benoa-anchorage", 200), "the zone")
        zones = (await admin.get("/v1/cop/zones")).json()["features"]
        assert [z["id"] for z in zones] == ["benoa-anchorage"]
        assert (await admin.delete("/v1/geofences/benoa-anchorage")).status_code == 204
        await eventually(
            lambda: status_of(admin, "/v1/geofences/benoa-anchorage", 404), "the tombstone"
        )

        entries = (
            "entry_id,mmsi,name,reason,severity\n"
            "w-1,525000009,,smuggling,high\nw-2,,KM DARK,fishing,medium\n"
        )
        uploaded = await admin.post(
            "/v1/watchlist", content=entries, headers={"content-type": "text/csv"}
        )
        assert uploaded.status_code == 201, uploaded.text
        await eventually(lambda: status_of(admin, "/v1/watchlist/w-2", 200), "the watchlist")
        assert (await admin.get("/v1/watchlist/w-2")).json()["name"] == "KM DARK"
        await admin.delete("/v1/watchlist/w-1")
        await eventually(lambda: status_of(admin, "/v1/watchlist/w-1", 404), "the tombstone")
    async with await live_api.client("BAKAMLA", Role.WATCH) as watch:
        assert (await watch.delete("/v1/watchlist/w-2")).status_code == 403
    async with await connect(live_api.db_url) as owner:
        cur = await owner.execute(
            "SELECT action, resource_id FROM audit_log WHERE resource = 'geofence'"
        )
        assert {tuple(r) for r in await cur.fetchall()} == {
            ("upsert", "benoa-anchorage"),
            ("delete", "benoa-anchorage"),
        }
