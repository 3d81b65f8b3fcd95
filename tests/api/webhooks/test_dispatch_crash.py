"""A ``lookout dispatch`` process killed with SIGKILL mid-delivery loses nothing: a second
one finishes the work, and any duplicate carries the same webhook-id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from api.webhooks.signing import new_secret
from bus import BusSettings
from bus.kafka import KafkaBus
from schemas.alerts import AlertRule
from store import webhooks as db
from store.db import Conn
from tests.api.webhooks.test_dispatch_kafka import event, make_alert
from tests.store.support import wait_for
from tests.support.webhook_receiver import Reply, WebhookReceiver

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

LOOKOUT = Path(sys.executable).with_name("lookout")


def start_dispatcher(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(LOOKOUT), "--log-json", "dispatch"], env=env, stdout=out, stderr=out
        )


async def test_a_dispatcher_killed_mid_delivery_resumes_without_losing_one(
    kafka_bus: KafkaBus,
    kafka_settings: BusSettings,
    db_url: str,
    conn: Conn,
    unique: str,
    tmp_path: Path,
) -> None:
    topic = f"alerts-{unique}"
    await kafka_bus.ensure_topics([topic])
    await conn.execute("INSERT INTO agencies (agency_id, name) VALUES ('AMSA', 'AMSA')")
    receiver = await WebhookReceiver().start()
    secret = new_secret()
    receiver.script("/k", default=Reply(delay_s=0.3), secrets=[secret])
    await db.create_subscription(
        conn, agency_id="AMSA", url=receiver.url("/k"), secret=secret, fmt="cloudevents"
    )
    env = {
        **os.environ,
        "LOOKOUT_BUS": "kafka",
        "LOOKOUT_KAFKA_BOOTSTRAP": kafka_settings.kafka_bootstrap,
        "LOOKOUT_KAFKA_IDEMPOTENCE": str(kafka_settings.kafka_idempotence).lower(),
        "LOOKOUT_KAFKA_SESSION_TIMEOUT_MS": "6000",
        "LOOKOUT_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        "LOOKOUT_DATABASE_URL": db_url,
        "LOOKOUT_DISPATCH_TOPIC": topic,
        "LOOKOUT_DISPATCH_GROUP": f"wh-{unique}",
        "LOOKOUT_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
        "LOOKOUT_WEBHOOK_CONCURRENCY_PER_ENDPOINT": "2",
        "LOOKOUT_WEBHOOK_TIMEOUT_S": "2",
        "LOOKOUT_WEBHOOK_LEASE_S": "3",
        "LOOKOUT_WEBHOOK_POLL_S": "0.2",
        "LOOKOUT_OPS_PORT": "0",
    }
    messages, ids = [], set()
    for n in range(30):
        message, event_id = event(topic, make_alert(n, AlertRule.LOITERING, -8.5, 115.2))
        messages.append(message)
        ids.add(event_id)
    log = tmp_path / "dispatch.log"
    first = start_dispatcher(env, log)
    second: subprocess.Popen[bytes] | None = None
    try:
        await kafka_bus.publish_many(messages)
        await receiver.wait_for("/k", 6, timeout_s=60)
        first.send_signal(signal.SIGKILL)  # two requests are in flight right now
        first.wait(10)
        assert len({r.webhook_id for r in receiver.received}) < len(ids)

        second = start_dispatcher(env, log)

        async def all_arrived() -> bool:
            return {r.webhook_id for r in receiver.received} >= ids

        await wait_for(all_arrived, 90, "every event to arrive after the restart")

        async def all_delivered() -> bool:  # those in flight at the kill were sent again
            counts = await db.delivery_counts(conn)
            return counts == {"delivered": len(ids)}

        await wait_for(all_delivered, 30, "every delivery row to say delivered")
        received = receiver.at("/k")
        assert {r.webhook_id for r in received} == ids  # nothing lost, nothing foreign
        assert all(r.verified for r in received)
        by_id: dict[str, set[bytes]] = {}
        for r in received:
            by_id.setdefault(r.webhook_id, set()).add(r.body)
        assert all(len(bodies) == 1 for bodies in by_id.values())  # a duplicate is the same
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(15)
        await receiver.stop()
