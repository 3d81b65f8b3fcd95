"""End to end on the real broker and database: alert events published on a topic reach
exactly the subscribers whose filters and sharing rule admit them, signed, as CloudEvents
or as a CAP thread (Alert, Update, Cancel with references); an unreadable record goes to
the dead-letter topic and the stream goes on."""

from __future__ import annotations

import asyncio
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from api.webhooks.dispatcher import Dispatcher
from api.webhooks.settings import WebhookSettings
from api.webhooks.signing import new_secret
from bus.base import Outgoing
from bus.kafka import KafkaBus
from schemas.alerts import Alert, AlertChange, AlertRule, AlertStatus, Severity
from store import webhooks as db
from store.db import Conn
from tests.store.support import wait_for
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
BALI = {
    "type": "Polygon",
    "coordinates": [[[114.4, -9.0], [116.0, -9.0], [116.0, -8.0], [114.4, -8.0], [114.4, -9.0]]],
}


def event(topic: str, alert: Alert) -> tuple[Outgoing, str]:
    event_id = str(uuid.uuid5(alert.alert_id, f"{alert.change}|{alert.updated_at.isoformat()}"))
    return Outgoing(topic, str(alert.alert_id), alert, event_id=event_id), event_id


def make_alert(n: int, rule: AlertRule, lat: float, lon: float, **extra: object) -> Alert:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    fields: dict[str, object] = {
        "rule": rule,
        "severity": Severity.HIGH,
        "subject": f"s{n}",
        "title": f"{rule.value} {n}",
        "started_at": start + timedelta(seconds=n),
        "lat": lat,
        "lon": lon,
    }
    return Alert.open(**(fields | extra))


async def test_filters_sharing_rule_cap_thread_and_dead_letters(
    kafka_bus: KafkaBus, db_url: str, conn: Conn, unique: str
) -> None:
    topic, dlq = f"alerts-{unique}", f"deadletter-{unique}"
    await kafka_bus.ensure_topics([topic, dlq])
    await conn.execute(
        "INSERT INTO agencies (agency_id, name) VALUES ('BAKAMLA', 'Bakamla'), ('AMSA', 'AMSA')"
    )
    receiver = await WebhookReceiver().start()
    secrets = {path: new_secret() for path in ("/a", "/b", "/cap")}
    for path, secret in secrets.items():
        receiver.script(path, secrets=[secret])
    a = await db.create_subscription(
        conn, agency_id="BAKAMLA", url=receiver.url("/a"), secret=secrets["/a"],
        fmt="cloudevents", area=BALI,
    )  # fmt: skip
    await db.create_subscription(
        conn, agency_id="AMSA", url=receiver.url("/b"), secret=secrets["/b"], fmt="cloudevents"
    )
    await db.create_subscription(
        conn, agency_id="BAKAMLA", url=receiver.url("/cap"), secret=secrets["/cap"], fmt="cap",
        rules=["ais_gap"],
    )  # fmt: skip

    inside = make_alert(1, AlertRule.LOITERING, -8.5, 115.2)
    outside = make_alert(2, AlertRule.LOITERING, -5.0, 120.0)
    reported = make_alert(3, AlertRule.DARK_TARGET, -8.6, 115.0, source_agency="BAKAMLA")
    gap = make_alert(4, AlertRule.AIS_GAP, -8.4, 115.5)
    gap_updated = gap.model_copy(
        update={"change": AlertChange.UPDATED, "updated_at": gap.started_at + timedelta(minutes=5)}
    )
    gap_closed = gap.model_copy(
        update={
            "change": AlertChange.CLOSED,
            "status": AlertStatus.CLOSED,
            "updated_at": gap.started_at + timedelta(minutes=9),
            "ended_at": gap.started_at + timedelta(minutes=9),
        }
    )
    events = {
        name: event(topic, alert)
        for name, alert in (
            ("inside", inside),
            ("outside", outside),
            ("reported", reported),
            ("gap", gap),
            ("gap_updated", gap_updated),
            ("gap_closed", gap_closed),
        )
    }
    ids = {name: event_id for name, (_, event_id) in events.items()}
    garbage = Outgoing(topic, "x", None, raw=b"not an alert")

    settings = WebhookSettings(
        webhook_allow_cidrs="127.0.0.0/8", webhook_poll_s=0.1, dispatch_group=f"wh-{unique}"
    )
    dispatcher = Dispatcher(kafka_bus, settings, db_url, topic=topic, deadletter_topic=dlq)
    task = asyncio.create_task(dispatcher.run())
    try:
        await kafka_bus.publish_many([garbage, *(message for message, _ in events.values())])
        await receiver.wait_for("/cap", 3, timeout_s=60)
        await receiver.wait_for("/a", 5, timeout_s=30)
        await receiver.wait_for("/b", 5, timeout_s=30)

        # AMSA files a report: from now on it sees alerts raised from others' reports.
        await conn.execute(
            """INSERT INTO patrol_reports (report_id, agency_id, reporter_kind, observed_at,
                   received_at, lat, lon, uncertainty_m, activity)
               VALUES (%s, 'AMSA', 'patrol', now(), now(), -10.0, 123.0, 100, 'fishing')""",
            (uuid.uuid4(),),
        )
        later, later_id = event(
            topic, make_alert(5, AlertRule.DARK_TARGET, -8.7, 115.3, source_agency="BAKAMLA")
        )
        await kafka_bus.publish_many([later])
        await receiver.wait_for("/b", 6, timeout_s=30)
        await receiver.wait_for("/a", 6, timeout_s=30)

        got = {path: [r.webhook_id for r in receiver.at(path)] for path in ("/a", "/b", "/cap")}
        assert sorted(got["/a"]) == sorted(
            [ids["inside"], ids["reported"], ids["gap"], ids["gap_updated"], ids["gap_closed"],
             later_id]
        )  # fmt: skip
        assert ids["outside"] not in got["/a"]  # outside the subscribed area
        assert sorted(got["/b"]) == sorted(
            [ids["inside"], ids["outside"], ids["gap"], ids["gap_updated"], ids["gap_closed"],
             later_id]
        )  # fmt: skip
        assert ids["reported"] not in got["/b"]  # AMSA had not contributed then
        assert got["/cap"] == [ids["gap"], ids["gap_updated"], ids["gap_closed"]]
        assert all(r.verified for r in receiver.received)

        thread = [ET.fromstring(r.body.split(b"\n", 1)[1]) for r in receiver.at("/cap")]
        assert [m.findtext("cap:msgType", namespaces=NS) for m in thread] == [
            "Alert",
            "Update",
            "Cancel",
        ]
        identifiers = [m.findtext("cap:identifier", namespaces=NS) for m in thread]
        sent = [m.findtext("cap:sent", namespaces=NS) for m in thread]
        sender = settings.webhook_cap_sender
        assert thread[1].findtext("cap:references", namespaces=NS) == (
            f"{sender},{identifiers[0]},{sent[0]}"
        )
        assert thread[2].findtext("cap:references", namespaces=NS) == (
            f"{sender},{identifiers[0]},{sent[0]} {sender},{identifiers[1]},{sent[1]}"
        )
        assert receiver.at("/cap")[0].headers["content-type"] == "application/cap+xml"
        assert receiver.at("/a")[0].headers["content-type"] == "application/cloudevents+json"

        async def all_delivered() -> bool:
            rows = await db.deliveries(conn, a.subscription_id)
            return len(rows) == 6 and {d.status for d in rows} == {"delivered"}

        await wait_for(all_delivered, 10, "the delivery rows to say delivered")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await receiver.stop()

    dead = kafka_bus.subscribe([dlq], group=f"dlq-{unique}")
    async with dead:
        records = []
        async with asyncio.timeout(30):
            while not records:
                records = await dead.getmany(timeout_s=1.0)
    (record,) = records
    headers = dict(record.headers)
    assert record.value == b"not an alert"
    assert headers["dlq_topic"] == topic.encode()
    assert b"CloudEvents" in headers["dlq_reason"]
