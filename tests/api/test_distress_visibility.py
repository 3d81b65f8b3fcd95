"""Safety of life first, through the HTTP API: a distress alert raised from one agency's
report is read by every agency (position, time, kind, persons estimate), while the report
behind it (narrative, reporter, notes) and any other alert it caused stay under the
sharing rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bus.base import Outgoing
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store.api_keys import Role
from tests.api.support import ApiServer, eventually
from tests.api.test_sharing import alert_ids, visible

pytestmark = pytest.mark.postgres


async def test_a_distress_alert_is_everyones_and_its_report_stays_under_the_rule(
    live_api: ApiServer,
) -> None:
    assert live_api.bus is not None
    now = datetime.now(UTC)
    a = await live_api.client("BAKAMLA", Role.ANALYST)
    b = await live_api.client("AMSA", Role.WATCH)  # files no reports: not a contributor
    async with a, b:
        filed = await a.post(
            "/v1/reports",
            json={
                "observed_at": (now - timedelta(minutes=10)).isoformat(),
                "lat": -10.2,
                "lon": 123.4,
                "activity": "distress",
                "persons_on_board": 45,
                "vessel_description": "overcrowded wooden boat, taking water",
                "notes": "reported by fisher Pak Made",
            },
        )
        assert filed.status_code == 201, filed.text
        report = filed.json()["report_id"]
        common = {
            "started_at": now - timedelta(minutes=9),
            "lat": -10.2,
            "lon": 123.4,
            "source_agency": "BAKAMLA",
        }
        # As the distress detector raises it: kinds, counts, persons, the report's id.
        distress = Alert.open(
            rule=AlertRule.DISTRESS,
            severity=Severity.CRITICAL,
            subject=f"distress:report:{report}",
            title="Vessel in distress reported",
            evidence={
                "kinds": ["report_distress"],
                "signals_active": 1,
                "persons_estimate": 45,
                "report_id": report,
            },
            **common,
        )
        dark = Alert.open(
            rule=AlertRule.DARK_TARGET,
            severity=Severity.HIGH,
            subject=report,
            title="sighting with no AIS track",
            evidence={"report_id": report},
            **common,
        )
        await live_api.bus.publish_many(
            [
                Outgoing(Topic.FUSION_ALERTS.value, str(alert.alert_id), alert)
                for alert in (distress, dark)
            ]
        )
        path = f"/v1/alerts/{distress.alert_id}"
        await eventually(lambda: visible(a, f"/v1/alerts/{dark.alert_id}"), "the dark target")
        await eventually(lambda: visible(b, path), "the distress alert, for everyone")

        seen_by_b = (await b.get(path)).json()
        assert (seen_by_b["lat"], seen_by_b["lon"], seen_by_b["severity"]) == (
            -10.2,
            123.4,
            "critical",
        )
        assert seen_by_b["evidence"]["persons_estimate"] == 45
        assert seen_by_b["evidence"]["kinds"] == ["report_distress"]
        assert seen_by_b["sighting"] is None  # the report is not B's to read
        assert "Pak Made" not in str(seen_by_b) and "wooden" not in str(seen_by_b)
        assert (await b.get(f"/v1/reports/{report}")).status_code == 404
        assert (await b.get(f"/v1/alerts/{dark.alert_id}")).status_code == 404
        listed = alert_ids(await b.get("/v1/alerts"))
        assert str(distress.alert_id) in listed and str(dark.alert_id) not in listed

        seen_by_a = (await a.get(path)).json()
        assert seen_by_a["sighting"]["notes"] == "reported by fisher Pak Made"
