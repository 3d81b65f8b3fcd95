"""The sharing rule through the HTTP API. A's report, and the alert it caused, are
invisible to B while B contributes nothing (404, and absent from every list and the COP's
alert counts), visible once B files a report, and invisible again once B's report is
older than the sharing window. AIS-derived alerts are everyone's throughout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bus.base import Outgoing
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store.api_keys import Role
from store.db import connect
from tests.api.support import ApiServer, eventually
from tests.store.factories import position

pytestmark = pytest.mark.postgres

VESSEL = 525_000_777


async def visible(client: httpx.AsyncClient, path: str) -> bool:
    response = await client.get(path)
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200


def alert_ids(page: httpx.Response) -> set[str]:
    assert page.status_code == 200, page.text
    return {a["alert_id"] for a in page.json()["items"]}


def report_ids(page: httpx.Response) -> set[str]:
    assert page.status_code == 200, page.text
    return {r["report_id"] for r in page.json()["items"]}


async def open_alerts_on_cop(client: httpx.AsyncClient) -> int:
    cop = (await client.get("/v1/cop/vessels")).json()
    counts = [f["properties"]["open_alerts"] for f in cop["features"] if f["id"] == VESSEL]
    assert counts, "the vessel is on everyone's picture (AIS is shared)"
    return int(counts[0])


async def test_reports_and_their_alerts_follow_the_sharing_rule(live_api: ApiServer) -> None:
    assert live_api.bus is not None
    now = datetime.now(UTC)
    a = await live_api.client("BAKAMLA", Role.ANALYST)
    b = await live_api.client("AMSA", Role.ANALYST)
    async with a, b:
        # A files a sighting; fusion (here: the test) raises a dark-target alert from it.
        filed = await a.post(
            "/v1/reports",
            json={
                "observed_at": (now - timedelta(minutes=10)).isoformat(),
                "lat": -8.7,
                "lon": 115.1,
                "activity": "people_smuggling",
                "vessel_description": "wooden boat, about 40 on board",
                "mmsi": VESSEL,
            },
        )
        assert filed.status_code == 201, filed.text
        report = filed.json()["report_id"]
        shared = Alert.open(
            rule=AlertRule.DARK_TARGET,
            severity=Severity.HIGH,
            subject=report,
            mmsis=[VESSEL],
            title="sighting with no AIS track",
            started_at=now - timedelta(minutes=9),
            lat=-8.7,
            lon=115.1,
            source_agency="BAKAMLA",
            evidence={"report_id": report},
        )
        ais = Alert.open(
            rule=AlertRule.LOITERING,
            severity=Severity.MEDIUM,
            subject=str(VESSEL),
            mmsis=[VESSEL],
            title="loitering",
            started_at=now - timedelta(minutes=30),
            lat=-8.7,
            lon=115.1,
        )
        await live_api.bus.publish_many(
            [
                Outgoing(
                    Topic.AIS_POSITIONS.value,
                    str(VESSEL),
                    position(VESSEL, 0, -8.7, 115.1, event_time=now - timedelta(minutes=1)),
                ),
                Outgoing(Topic.FUSION_ALERTS.value, str(shared.alert_id), shared),
                Outgoing(Topic.FUSION_ALERTS.value, str(ais.alert_id), ais),
            ]
        )
        shared_path = f"/v1/alerts/{shared.alert_id}"
        await eventually(lambda: visible(a, shared_path), "A to see the alert its report caused")
        await eventually(lambda: visible(b, f"/v1/alerts/{ais.alert_id}"), "the AIS alert")

        async def b_sees_nothing_of_a() -> None:
            assert (await b.get(f"/v1/reports/{report}")).status_code == 404
            assert (await b.get(shared_path)).status_code == 404
            assert report not in report_ids(await b.get("/v1/reports"))
            listed = alert_ids(await b.get("/v1/alerts"))
            assert str(ais.alert_id) in listed and str(shared.alert_id) not in listed
            assert str(shared.alert_id) not in alert_ids(
                await b.get("/v1/alerts", params={"mmsi": VESSEL, "rule": "dark_target"})
            )
            assert await open_alerts_on_cop(b) == 1  # the AIS alert only
            decided = await b.post(f"{shared_path}/acknowledge", json={"note": "mine?"})
            assert decided.status_code == 404

        # B contributes nothing: A's report and its alert do not exist for B.
        await b_sees_nothing_of_a()
        assert await open_alerts_on_cop(a) == 2
        assert report in report_ids(await a.get("/v1/reports"))
        detail = (await a.get(shared_path)).json()
        assert detail["sighting"]["report_id"] == report

        # B files a report of its own: now B contributes, and sees A's.
        mine = await b.post(
            "/v1/reports",
            json={"observed_at": now.isoformat(), "lat": -10.5, "lon": 123.5, "notes": "clear"},
        )
        assert mine.status_code == 201, mine.text
        await eventually(lambda: visible(b, shared_path), "B, now contributing, to see A's alert")
        assert (await b.get(f"/v1/reports/{report}")).status_code == 200
        assert report in report_ids(await b.get("/v1/reports"))
        assert str(shared.alert_id) in alert_ids(await b.get("/v1/alerts"))
        assert await open_alerts_on_cop(b) == 2

        # 91 days on, B's report is older than the window (90 days): B stops seeing A's.
        async with await connect(live_api.db_url) as owner:
            await owner.execute(
                "UPDATE patrol_reports SET received_at = received_at - interval '91 days' "
                "WHERE agency_id = 'AMSA'"
            )
        await b_sees_nothing_of_a()
        assert (await b.get(f"/v1/reports/{mine.json()['report_id']}")).status_code == 200


async def test_every_read_of_a_report_is_audited(live_api: ApiServer) -> None:
    a = await live_api.client("BAKAMLA", Role.ANALYST)
    async with a:
        filed = await a.post(
            "/v1/reports",
            json={"observed_at": datetime.now(UTC).isoformat(), "lat": -8.0, "lon": 115.0},
        )
        report = filed.json()["report_id"]
        await eventually(lambda: visible(a, f"/v1/reports/{report}"), "the report")
    rows: list[tuple[object, ...]] = []

    async def audited() -> bool:
        # The audit row commits with the request's transaction; under load the read that
        # made the report visible may still be finishing when the response arrives.
        async with await connect(live_api.db_url) as owner:
            cur = await owner.execute(
                "SELECT action, resource, resource_id FROM audit_log "
                "WHERE agency_id = 'BAKAMLA' ORDER BY audit_id"
            )
            rows[:] = await cur.fetchall()
        return ("read", "report", report) in rows

    await eventually(audited, "the audit row of the read")
    assert ("create", "report", None) in rows
    assert ("read", "report", report) in rows
