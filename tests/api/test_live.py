"""Live alerts over server-sent events: under the sharing rule, in order, resumable with
Last-Event-ID, and a stalled client is cut off without holding up the others."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import REGISTRY

from api.settings import ApiSettings
from bus.base import Outgoing
from bus.memory import MemoryBus
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store.api_keys import Role
from store.settings import StoreSettings
from tests.api.conftest import running_sink
from tests.api.sse import open_stream
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
