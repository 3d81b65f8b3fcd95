"""Live alerts over server-sent events: under the sharing rule, in order, resumable with
Last-Event-ID, and a stalled client is cut off without holding up the others."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY

from api.db import ApiDatabase
from api.live import LiveAlerts
from api.settings import ApiSettings
from bus.base import Bus, Outgoing
from bus.memory import MemoryBus
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store.api_keys import Role
from store.settings import StoreSettings
from tests.api.conftest import running_sink
from tests.api.sse import EventStream, open_stream
from tests.api.support import ApiServer, eventually, serve_api

pytestmark = pytest.mark.postgres


def alert(subject: str, **extra: object) -> Alert:
    fields: dict[str, object] = {
        "rule": AlertRule.LOITERING,
        "severity": Severity.HIGH,
        "subject": subject,
        "title": f"alert {subject}",
        "started_at": datetime.now(UTC) - timedelta(minutes=5),
        "lat": -8.5,
        "lon": 115.0,
    }
    return Alert.open(**(fields | extra))


async def test_the_stream_follows_the_sharing_rule_and_resumes(live_api: ApiServer) -> None:
    assert live_api.bus is not None
    a = await live_api.client("BAKAMLA", Role.WATCH)
    b = await live_api.client("AMSA", Role.WATCH)
    async with a, b, open_stream(a) as a_stream, open_stream(b) as b_stream:
        shared = alert("report-1", rule=AlertRule.DARK_TARGET, source_agency="BAKAMLA")
        started = time.monotonic()
        await live_api.bus.publish_many(
            [Outgoing(Topic.FUSION_ALERTS.value, str(shared.alert_id), shared)]
        )
        first = await a_stream.until(str(shared.alert_id))
        print(f"alert on A's stream {time.monotonic() - started:.3f}s after publishing")
        ais = alert("525000010")
        await live_api.bus.publish_many(
            [Outgoing(Topic.FUSION_ALERTS.value, str(ais.alert_id), ais)]
        )
        await b_stream.until(str(ais.alert_id))
        await a_stream.until(str(ais.alert_id))
        # B, contributing nothing, got the AIS alert (which came after) and never A's.
        assert [e.data["alert_id"] for e in b_stream.seen] == [str(ais.alert_id)]
        assert str(shared.alert_id) not in {e.data["alert_id"] for e in b_stream.seen}
        assert int(first.id or 0) < int(a_stream.seen[-1].id or 0)  # ids order changes

    # A is away while B... no: while someone at A acknowledges; A comes back with its id.
    async with await live_api.client("BAKAMLA", Role.WATCH) as other_desk:
        ack = await other_desk.post(
            f"/v1/alerts/{shared.alert_id}/acknowledge", json={"note": "on it"}
        )
        assert ack.status_code == 200
    async with (
        await live_api.client("BAKAMLA", Role.WATCH) as back,
        open_stream(back, {"Last-Event-ID": str(first.id)}) as resumed,
    ):
        event = await resumed.until(str(shared.alert_id), status="acknowledged")
        assert event.data["acknowledged_by"] == "BAKAMLA"


async def test_a_decision_reaches_every_watch_floor_at_once(live_api: ApiServer) -> None:
    assert live_api.bus is not None
    opened = alert("525000011")
    await live_api.bus.publish_many(
        [Outgoing(Topic.FUSION_ALERTS.value, str(opened.alert_id), opened)]
    )
    jakarta = await live_api.client("BAKAMLA", Role.WATCH)
    darwin = await live_api.client("AMSA", Role.WATCH)
    async with jakarta, darwin, open_stream(darwin) as darwin_stream:
        path = f"/v1/alerts/{opened.alert_id}"

        async def written() -> bool:
            return (await jakarta.get(path)).status_code == 200

        await eventually(written, "the alert")
        assert (await jakarta.post(f"{path}/close", json={"note": "lawful"})).status_code == 200
        closed = await darwin_stream.until(str(opened.alert_id), status="closed")
        assert closed.data["closed_by"] == "BAKAMLA"


async def test_a_stalled_client_is_cut_off_and_the_others_go_on(
    db_url: str, store_settings: StoreSettings
) -> None:
    """One browser stops reading (its socket buffers fill, then its queue of 8); a reading
    client of the same agency keeps receiving every alert, and the stalled one is cut off."""
    bus = MemoryBus(source="/tests/api")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    try:
        async with (
            running_sink(bus, store_settings),
            serve_api(db_url, ApiSettings(sse_queue_size=8), bus) as api,
        ):
            key = await api.key("BAKAMLA", Role.WATCH)
            stalled = httpx.AsyncClient(base_url=api.base_url, headers={"X-API-Key": key})
            reader = await api.client("BAKAMLA", Role.WATCH)
            async with (
                stalled,
                reader,
                open_stream(reader) as live,
                stalled.stream("GET", "/v1/alerts/stream") as response,
            ):
                assert response.status_code == 200  # connected, and never reads again
                padding = "x" * 100_000  # so that kernel socket buffers fill quickly
                for batch in range(60):
                    alerts = [
                        alert(f"5250{batch:02d}{n:03d}", evidence={"padding": padding})
                        for n in range(2)
                    ]
                    await bus.publish_many(
                        [Outgoing(Topic.FUSION_ALERTS.value, str(a.alert_id), a) for a in alerts]
                    )
                    for a in alerts:
                        await live.until(str(a.alert_id))
                    if _dropped() >= 1:
                        break
                assert _dropped() >= 1, "the stalled client was never cut off"
    finally:
        await bus.stop()


def _dropped() -> float:
    return REGISTRY.get_sample_value("lookout_sse_clients_dropped_total") or 0.0


def _ids(stream: EventStream) -> list[str]:
    return [e.data["alert_id"] for e in stream.seen]


async def test_a_resuming_client_gets_its_backlog_once_and_the_others_no_repeat(
    db_url: str, store_settings: StoreSettings
) -> None:
    """A follows the live changes; B of the same agency comes back with an older
    Last-Event-ID after those changes settled (settle time 0: every change read is final),
    so the hub reads them again for B. B gets each once, A none twice."""
    bus = MemoryBus(source="/tests/api")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    try:
        async with (
            running_sink(bus, store_settings),
            serve_api(db_url, ApiSettings(sse_settle_s=0), bus) as api,
        ):
            a = await api.client("BAKAMLA", Role.WATCH)
            b = await api.client("BAKAMLA", Role.WATCH)
            x1, x2, x3 = alert("525000021"), alert("525000022"), alert("525000023")
            async with a, b, open_stream(a) as a_stream:
                await _publish(bus, x1)
                first = await a_stream.until(str(x1.alert_id))
                await _publish(bus, x2)
                await a_stream.until(str(x2.alert_id))
                resume = {"Last-Event-ID": str(int(first.id or 0) - 1)}
                async with open_stream(b, resume) as b_stream:
                    await b_stream.until(str(x2.alert_id))
                    await _publish(bus, x3)
                    await a_stream.until(str(x3.alert_id))
                    await b_stream.until(str(x3.alert_id))
            expected = [str(x.alert_id) for x in (x1, x2, x3)]
            assert _ids(a_stream) == expected
            assert _ids(b_stream) == expected
    finally:
        await bus.stop()


async def test_a_resuming_client_gets_a_change_the_others_have_just_had(
    live_api: ApiServer,
) -> None:
    """The change is still settling (seen less than sse_settle_s ago) when B resumes from
    before it: B gets it all the same, and A not twice."""
    assert live_api.bus is not None
    a = await live_api.client("BAKAMLA", Role.WATCH)
    b = await live_api.client("BAKAMLA", Role.WATCH)
    x1, x2 = alert("525000031"), alert("525000032")
    async with a, b, open_stream(a) as a_stream:
        await _publish(live_api.bus, x1)
        first = await a_stream.until(str(x1.alert_id))
        resume = {"Last-Event-ID": str(int(first.id or 0) - 1)}
        async with open_stream(b, resume) as b_stream:
            await b_stream.until(str(x1.alert_id), timeout_s=8)
            await _publish(live_api.bus, x2)
            await a_stream.until(str(x2.alert_id))
            await b_stream.until(str(x2.alert_id))
    assert _ids(a_stream) == _ids(b_stream) == [str(x1.alert_id), str(x2.alert_id)]


async def _publish(bus: Bus, *alerts: Alert) -> None:
    await bus.publish_many(
        [Outgoing(Topic.FUSION_ALERTS.value, str(a.alert_id), a) for a in alerts]
    )


async def test_the_hub_stops_when_woken_as_it_is_stopped() -> None:
    """An API shutting down while an alert wakes the live hub: the hub's loop must end
    (Python 3.11's wait_for lost the cancellation then, and the shutdown hung on it)."""
    settings = ApiSettings()
    hub = LiveAlerts(ApiDatabase("postgresql:///unused", settings), None, 10, poll_s=30.0)
    await hub.start()
    for _ in range(3):  # let its loop reach its wait (no client: nothing else to await)
        await asyncio.sleep(0)
    hub.wake()
    stopping = asyncio.create_task(hub.stop())
    done, _ = await asyncio.wait([stopping], timeout=5)
    if not done:  # clean up: cancelling the stop cancels the loop it awaits, a second time
        stopping.cancel()
        await asyncio.gather(stopping, return_exceptions=True)
    assert done, "the live hub went on after it was stopped"
