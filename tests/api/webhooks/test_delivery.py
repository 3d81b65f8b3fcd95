"""Deliveries retried on the persisted schedule, on an injected clock: 500s, 429 with
Retry-After, timeouts, give-up after the last step, disabling after 5 days or a 410, and
manual redelivery — against a real receiver that verifies every signature.

Rows enter through ``Dispatcher.intake`` (the same code the Kafka loop calls); the broker
path is covered in test_dispatch_kafka.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from api.webhooks.dispatcher import Dispatcher
from api.webhooks.schedule import SVIX_SCHEDULE_S, ManualClock
from api.webhooks.settings import WebhookSettings
from api.webhooks.signing import new_secret
from bus.base import Outgoing
from bus.memory import MemoryBus
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store import webhooks as db
from store.db import Conn
from tests.store.support import records_of, wait_for
from tests.support.tasks import assert_ends_when_cancelled
from tests.support.webhook_receiver import Reply, WebhookReceiver

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def settings(**overrides: object) -> WebhookSettings:
    base: dict[str, object] = {
        "webhook_allow_cidrs": "127.0.0.0/8",
        "webhook_timeout_s": 0.5,
        "webhook_lease_s": 3.0,
        "webhook_poll_s": 0.05,
    }
    return WebhookSettings(**(base | overrides))  # type: ignore[arg-type]


def alert_event(n: int = 0, **fields: object) -> tuple[Outgoing, str]:
    values: dict[str, object] = {
        "rule": AlertRule.LOITERING,
        "severity": Severity.HIGH,
        "subject": str(525_000_000 + n),
        "title": f"loitering {n}",
        "started_at": T0 + timedelta(minutes=n),
        "lat": -8.5,
        "lon": 115.2,
    }
    alert = Alert.open(**(values | fields))
    event_id = str(uuid.uuid5(alert.alert_id, f"{alert.change}|{alert.updated_at.isoformat()}"))
    return Outgoing(Topic.FUSION_ALERTS, str(alert.alert_id), alert, event_id=event_id), event_id


@dataclass
class Rig:
    conn: Conn
    receiver: WebhookReceiver
    clock: ManualClock
    dispatcher: Dispatcher

    async def subscribe(self, path: str, secret: str | None = None, **filters: object) -> uuid.UUID:
        secret = secret or new_secret()
        self.receiver.script(path, secrets=[secret])
        row = await db.create_subscription(
            self.conn,
            agency_id="BAKAMLA",
            url=self.receiver.url(path),
            secret=secret,
            fmt="cloudevents",
            **filters,  # type: ignore[arg-type]
        )
        return row.subscription_id

    async def delivery(self, subscription_id: uuid.UUID) -> db.DeliveryRow:
        (row,) = await db.deliveries(self.conn, subscription_id)
        return row

    async def advance(self, seconds: float) -> None:
        """Move the clock, and wait until the dispatcher has looked twice."""
        self.clock.advance(seconds)
        await self.settle()

    async def settle(self) -> None:
        seen = self.dispatcher.rounds
        self.dispatcher.wake()

        async def looked_twice() -> bool:
            return self.dispatcher.rounds >= seen + 2 and not self.dispatcher.in_flight

        await wait_for(looked_twice, 10, "two claim rounds")


async def wait_until(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 10
) -> None:
    await wait_for(check, timeout_s, what)


@pytest.fixture
async def rig_factory(db_url: str, conn: Conn) -> AsyncIterator[Callable[..., Awaitable[Rig]]]:
    await conn.execute("INSERT INTO agencies (agency_id, name) VALUES ('BAKAMLA', 'Bakamla')")
    receiver = await WebhookReceiver().start()
    bus = MemoryBus(source="/tests")
    await bus.start()
    tasks: list[asyncio.Task[None]] = []

    async def make(**overrides: object) -> Rig:
        clock = ManualClock(T0)
        dispatcher = Dispatcher(bus, settings(**overrides), db_url, clock=clock)
        tasks.append(asyncio.create_task(dispatcher.run(consume=False)))
        await asyncio.wait_for(dispatcher.ready.wait(), 10)
        return Rig(conn, receiver, clock, dispatcher)

    try:
        yield make
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await receiver.stop()
        await bus.stop()


async def test_500_429_and_a_timeout_are_retried_on_schedule_then_delivered_and_redelivered(
    rig_factory: Callable[..., Awaitable[Rig]],
) -> None:
    rig = await rig_factory()
    rig.receiver.script(
        "/hook",
        Reply(500, body=b"database on fire"),
        Reply(429, headers=(("retry-after", "600"),)),
        Reply(hold=True),
    )
    sub = await rig.subscribe("/hook")
    message, event_id = alert_event()
    await rig.dispatcher.intake(records_of([message]))

    await rig.receiver.wait_for("/hook", 1)  # attempt 1: at once
    await rig.settle()
    row = await rig.delivery(sub)
    assert (row.status, row.attempts, row.last_status_code) == ("failed", 1, 500)
    assert row.next_attempt_at == T0 + timedelta(seconds=5)

    await rig.advance(4.9)
    assert len(rig.receiver.at("/hook")) == 1  # not due yet
    await rig.advance(0.1)
    await rig.receiver.wait_for("/hook", 2)  # attempt 2: 429, Retry-After 600 > 300
    await rig.settle()
    row = await rig.delivery(sub)
    assert row.last_status_code == 429
    assert row.next_attempt_at == T0 + timedelta(seconds=605)

    await rig.advance(300)  # the schedule's step has passed, the receiver's wish has not
    assert len(rig.receiver.at("/hook")) == 2
    await rig.advance(300)
    await rig.receiver.wait_for("/hook", 3)  # attempt 3: held open past the timeout
    await wait_until(
        lambda: _attempts_logged(rig, sub, 3), "the timeout to be logged", timeout_s=10
    )
    row = await rig.delivery(sub)
    assert row.next_attempt_at == T0 + timedelta(seconds=605 + 1800)

    await rig.advance(1800)
    await rig.receiver.wait_for("/hook", 4)  # attempt 4: 200
    await wait_until(lambda: _status(rig, sub, "delivered"), "delivered")

    log = await db.attempts(rig.conn, (await rig.delivery(sub)).delivery_id)
    assert [(a.outcome, a.status_code) for a in log] == [
        ("failed", 500),
        ("failed", 429),
        ("timeout", None),
        ("delivered", 200),
    ]
    assert log[0].response_excerpt == "database on fire"
    assert all(a.latency_ms is not None for a in log)

    row = await rig.delivery(sub)
    assert await db.redeliver(rig.conn, sub, row.delivery_id, rig.clock.now())
    rig.dispatcher.wake()
    received = await rig.receiver.wait_for("/hook", 5)
    assert {r.webhook_id for r in received} == {event_id}  # one id across every attempt
    assert all(r.verified for r in received)
    assert len({r.body for r in received}) == 1


async def _attempts_logged(rig: Rig, sub: uuid.UUID, n: int) -> bool:
    return (await rig.delivery(sub)).attempts >= n


async def _status(rig: Rig, sub: uuid.UUID, status: str) -> bool:
    return (await rig.delivery(sub)).status == status


async def test_an_endpoint_failing_for_five_days_is_given_up_then_disabled_and_admins_told(
    rig_factory: Callable[..., Awaitable[Rig]],
) -> None:
    rig = await rig_factory()
    rig.receiver.script("/down", default=Reply(503))
    sub = await rig.subscribe("/down")
    first, _ = alert_event(1)
    await rig.dispatcher.intake(records_of([first]))
    await rig.receiver.wait_for("/down", 1)
    for n, step in enumerate(SVIX_SCHEDULE_S[1:], start=2):  # ~28 h of schedule
        await rig.settle()  # attempt n-1 recorded, its retry set from the clock's time
        await rig.advance(step)
        await rig.receiver.wait_for("/down", n)
    await wait_until(lambda: _status(rig, sub, "dead"), "the delivery to be given up")
    assert (await rig.delivery(sub)).attempts == 8
    assert (await db.subscription(rig.conn, sub)).active  # type: ignore[union-attr]

    rig.clock.advance(5 * 86_400 - sum(SVIX_SCHEDULE_S))  # five days after the first failure
    second, _ = alert_event(2)
    await rig.dispatcher.intake(records_of([second], start_offset=1))
    await rig.receiver.wait_for("/down", 9)
    await wait_until(lambda: _disabled(rig, sub), "the endpoint to be disabled")

    cur = await rig.conn.execute(
        "SELECT action, resource, resource_id FROM audit_log WHERE resource = 'webhook'"
    )
    assert await cur.fetchall() == [("disable", "webhook", str(sub))]
    cur = await rig.conn.execute("SELECT kind, message FROM admin_notices")
    ((kind, message),) = await cur.fetchall()
    assert kind == "webhook_disabled" and "failed for 5 days" in message

    third, _ = alert_event(3)  # a disabled endpoint is sent nothing more
    await rig.dispatcher.intake(records_of([third], start_offset=2))
    await rig.advance(10)
    assert len(rig.receiver.at("/down")) == 9


async def _disabled(rig: Rig, sub: uuid.UUID) -> bool:
    row = await db.subscription(rig.conn, sub)
    return row is not None and not row.active


async def test_410_gone_disables_the_endpoint_at_once(
    rig_factory: Callable[..., Awaitable[Rig]],
) -> None:
    rig = await rig_factory()
    rig.receiver.script("/gone", default=Reply(410))
    sub = await rig.subscribe("/gone")
    message, _ = alert_event()
    await rig.dispatcher.intake(records_of([message]))
    await wait_until(lambda: _disabled(rig, sub), "the endpoint to be disabled")
    row = await db.subscription(rig.conn, sub)
    assert row is not None and row.disabled_reason == "the endpoint answered 410 Gone"


async def test_a_slow_endpoint_does_not_hold_up_a_healthy_one(
    rig_factory: Callable[..., Awaitable[Rig]],
) -> None:
    rig = await rig_factory(webhook_timeout_s=30, webhook_concurrency_per_endpoint=2)
    rig.receiver.script("/slow", default=Reply(hold=True))
    await rig.subscribe("/slow")
    await rig.subscribe("/fast")
    messages = [alert_event(n)[0] for n in range(10)]
    await rig.dispatcher.intake(records_of(messages))
    received = await rig.receiver.wait_for("/fast", 10)
    assert len({r.webhook_id for r in received}) == 10
    assert len(rig.receiver.at("/slow")) == 2  # its two slots, held; the rest wait their turn


async def test_a_dispatcher_woken_as_it_is_cancelled_stops(db_url: str) -> None:
    """A delivery ending (or a new row) wakes the dispatcher at the moment its process
    stops: it must stop, not claim on (Python 3.11's wait_for lost the cancellation then,
    and the rig's teardown, like a service's shutdown, hung on it)."""
    bus = MemoryBus(source="/tests")
    dispatcher = Dispatcher(bus, settings(webhook_poll_s=30.0), db_url, clock=ManualClock(T0))
    task = asyncio.create_task(dispatcher.run(consume=False))

    async def waiting() -> bool:  # a round done: its loop waits for a wake or the poll
        return dispatcher.rounds >= 1

    await wait_for(waiting, 10, "the first claim round")
    dispatcher.wake()
    task.cancel()
    await assert_ends_when_cancelled(task, "the dispatcher", inner=("webhook-delivery",))
