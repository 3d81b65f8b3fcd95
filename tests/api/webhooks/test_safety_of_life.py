"""Safety of life before the sharing rule: a distress alert raised from one agency's report
goes, with its position, kind and persons estimate, to every subscription that asks for
distress alerts, also of agencies that contribute no reports; any other alert from that
report stays under the sharing rule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.webhooks.intake import FilterCache, plan_batch
from api.webhooks.settings import WebhookSettings
from bus.base import Outgoing
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store import webhooks as db
from store.db import Conn
from tests.store.support import records_of

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def from_report(rule: AlertRule, **fields: object) -> Outgoing:
    alert = Alert.open(
        rule=rule,
        subject=f"{rule.value}:report",
        started_at=NOW - timedelta(minutes=5),
        lat=-10.2,
        lon=123.4,
        source_agency="BAKAMLA",
        **fields,
    )
    return Outgoing(Topic.FUSION_ALERTS, str(alert.alert_id), alert, event_id=str(uuid.uuid4()))


async def test_a_distress_alert_from_a_report_reaches_non_contributors_that_ask_for_it(
    conn: Conn,
) -> None:
    await conn.execute(
        "INSERT INTO agencies (agency_id, name) VALUES ('BAKAMLA', 'Bakamla'), ('AMSA', 'AMSA')"
    )
    await conn.execute(
        "INSERT INTO patrol_reports (report_id, agency_id, reporter_kind, observed_at, "
        "received_at, lat, lon, uncertainty_m, activity) VALUES "
        "(%s, 'BAKAMLA', 'patrol_vessel', %s, %s, -10.2, 123.4, 500, 'distress')",
        (uuid.uuid4(), NOW - timedelta(minutes=6), NOW - timedelta(minutes=5)),
    )

    async def subscribe(rules: list[str] | None) -> uuid.UUID:
        row = await db.create_subscription(
            conn,
            agency_id="AMSA",  # files no reports: not a contributor
            url="https://rcc.example.org/hook",
            secret="whsec_" + "A" * 32,
            fmt="cloudevents",
            rules=rules,
        )
        return row.subscription_id

    distress_only = await subscribe(["distress"])
    everything = await subscribe(None)
    dark_only = await subscribe(["dark_target"])
    evidence = {"kinds": ["report_overcrowded"], "persons_estimate": 45, "signals_active": 1}
    records = records_of(
        [
            from_report(
                AlertRule.DISTRESS,
                severity=Severity.CRITICAL,
                title="Overcrowded vessel reported",
                evidence=evidence,
            ),
            from_report(AlertRule.DARK_TARGET, severity=Severity.HIGH, title="dark target"),
        ]
    )
    async with conn.transaction():
        result = await plan_batch(
            conn,
            records,
            WebhookSettings(),
            FilterCache(),
            now=NOW,
            first_attempt_at=NOW,
        )
    assert result.unreadable == []
    for subscription in (distress_only, everything):
        [delivery] = await db.deliveries(conn, subscription)
        cur = await conn.execute(
            "SELECT payload FROM webhook_deliveries WHERE delivery_id = %s",
            (delivery.delivery_id,),
        )
        row = await cur.fetchone()
        assert row is not None
        payload = row[0]
        assert (payload["rule"], payload["lat"], payload["lon"]) == ("distress", -10.2, 123.4)
        assert payload["evidence"] == evidence  # kind and persons estimate: everyone's
    assert await db.deliveries(conn, dark_only) == []  # BAKAMLA's dark target: not AMSA's
