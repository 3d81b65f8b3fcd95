"""The watch-floor page in a real headless Chromium (Debian's chromium, driven by
playwright): it signs in with a key, shows the vessels, receives an alert published during
the test, and acknowledging it from the list changes the alert in the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from bus.base import Outgoing
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store.api_keys import Role
from store.db import connect
from tests.api.conftest import WatchFloor
from tests.api.support import ApiServer, eventually
from tests.store.factories import position, static

if TYPE_CHECKING:
    from playwright.async_api import Route

pytestmark = pytest.mark.postgres


async def publish_fleet(api: ApiServer, now: datetime, count: int) -> None:
    assert api.bus is not None
    messages = []
    for n in range(count):
        mmsi = 525_200_000 + n
        lat, lon = -11 + (n % 40) * 0.4, 105 + (n // 40) * 1.6
        messages.append(
            Outgoing(
                Topic.AIS_POSITIONS.value,
                str(mmsi),
                position(
                    mmsi,
                    0,
                    lat,
                    lon,
                    event_time=now - timedelta(seconds=n),
                    heading_deg=(n * 37) % 360,
                    speed_kn=5 + n % 10,
                ),
            )
        )
        ship_type = (30, 70, 80, 60, 52, 36, 99)[n % 7]
        messages.append(
            Outgoing(
                Topic.AIS_STATIC.value,
                str(mmsi),
                static(
                    mmsi,
                    0,
                    name=f"VESSEL {n}",
                    ship_type=ship_type,
                    event_time=now - timedelta(hours=1),
                ),
            )
        )
    await api.bus.publish_many(messages)


async def test_the_watch_floor_page(watch_floor: WatchFloor) -> None:
    live_api, page = watch_floor.api, watch_floor.page
    assert live_api.bus is not None
    now = datetime.now(UTC)
    await publish_fleet(live_api, now, 280)
    async with await live_api.client("BAKAMLA", Role.ADMIN) as admin:
        zone = {
            "type": "Polygon",
            "coordinates": [
                [[114.5, -9.2], [116.2, -9.2], [116.2, -8.0], [114.5, -8.0], [114.5, -9.2]]
            ],
        }
        made = await admin.post(
            "/v1/geofences", json={"name": "Lombok Strait", "kind": "restricted", "geometry": zone}
        )
        assert made.status_code == 201

        async def fleet_stored() -> bool:
            cop = (await admin.get("/v1/cop/vessels")).json()
            return len(cop["features"]) == 280

        await eventually(fleet_stored, "the fleet in the store")

    await watch_floor.sign_in()
    await page.wait_for_function("window.lookout.vesselCount === 280", timeout=20_000)

    alert = Alert.open(
        rule=AlertRule.GEOFENCE_ENTER,
        severity=Severity.HIGH,
        subject="525200003",
        mmsis=[525_200_003],
        title="VESSEL 3 entered Lombok Strait",
        started_at=now - timedelta(minutes=2),
        lat=-9.8,
        lon=105.0,
    )
    await live_api.bus.publish_many(
        [Outgoing(Topic.FUSION_ALERTS.value, str(alert.alert_id), alert)]
    )
    item = page.locator(f'#alerts li[data-alert-id="{alert.alert_id}"]')
    await item.wait_for(timeout=20_000)
    assert "Lombok Strait" in await item.inner_text()

    await page.select_option("#lang", "id")  # Bahasa Indonesia
    await page.wait_for_function("document.documentElement.lang === 'id'")
    assert await item.locator("button.ack").inner_text() == "Terima"
    await item.locator("button.ack").click()
    await page.wait_for_selector(
        f'#alerts li[data-alert-id="{alert.alert_id}"][data-status="acknowledged"]',
        timeout=20_000,
    )
    async with await connect(live_api.db_url) as owner:
        cur = await owner.execute(
            "SELECT status, acknowledged_by FROM alerts WHERE alert_id = %s",
            (alert.alert_id,),
        )
        assert await cur.fetchone() == ("acknowledged", "BAKAMLA")

    await item.click()  # the alert's vessel: identity and its last 24 h
    await page.wait_for_selector("#vessel:not([hidden])", timeout=10_000)
    assert "VESSEL 3" in await page.inner_text("#vessel")
    await page.select_option("#lang", "en")
    await page.wait_for_function("document.documentElement.lang === 'en'")
    shot = await watch_floor.screenshot("watch-floor.png")
    assert len(shot) > 10_000
    assert watch_floor.errors == [], watch_floor.errors


async def test_an_alert_stored_while_the_page_loads_its_list_is_not_missed(
    watch_floor: WatchFloor,
) -> None:
    """The list of open alerts and the live stream must leave no gap between them: here the
    alert is stored after the list was read but before the page has it, the moment a page
    that opened its stream only after the list would start "from now" past the alert."""
    live_api, page = watch_floor.api, watch_floor.page
    assert live_api.bus is not None
    alert = Alert.open(
        rule=AlertRule.WATCHLIST,
        severity=Severity.HIGH,
        subject="525200007",
        mmsis=[525_200_007],
        title="VESSEL 7 on the watchlist",
        started_at=datetime.now(UTC) - timedelta(minutes=1),
        lat=-8.5,
        lon=115.5,
    )

    async def stored() -> bool:
        async with await connect(live_api.db_url) as owner:
            cur = await owner.execute("SELECT 1 FROM alerts WHERE alert_id = %s", (alert.alert_id,))
            return await cur.fetchone() is not None

    async def list_read_then_alert_stored(route: Route) -> None:
        response = await route.fetch()  # the list as the database had it
        assert live_api.bus is not None
        await live_api.bus.publish_many(
            [Outgoing(Topic.FUSION_ALERTS.value, str(alert.alert_id), alert)]
        )
        await eventually(stored, "the alert in the database")
        await route.fulfill(response=response)

    await page.route("**/v1/alerts?*", list_read_then_alert_stored)
    await watch_floor.sign_in()
    item = page.locator(f'#alerts li[data-alert-id="{alert.alert_id}"]')
    await item.wait_for(timeout=20_000)
    assert watch_floor.errors == []
