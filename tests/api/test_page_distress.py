"""The watch floor in headless Chromium, safety of life first: a distress alert is pinned
at the top of the list in its own colour and sounds (when sound is on); clicking it lists
the nearest available asset and draws its route to the alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bus.base import Outgoing
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store.api_keys import Role
from tests.api.conftest import WatchFloor
from tests.api.test_nearest_assets import SOUTH_OF_BALI
from tests.fusion.test_searoute import NORTH_OF_BALI

pytestmark = pytest.mark.postgres


async def test_a_distress_alert_is_pinned_sounds_and_shows_its_nearest_help(
    watch_floor: WatchFloor,
) -> None:
    live_api, page = watch_floor.api, watch_floor.page
    assert live_api.bus is not None
    now = datetime.now(UTC)
    async with await live_api.client("BAKAMLA", Role.ADMIN) as admin:
        made = await admin.post(
            "/v1/assets",
            json={
                "name": "KN TANJUNG",
                "kind": "ship",
                "cruising_speed_kn": 20,
                "max_speed_kn": 25,
            },
        )
        assert made.status_code == 201, made.text
        asset_id = made.json()["asset_id"]
        where = {"lat": SOUTH_OF_BALI[0], "lon": SOUTH_OF_BALI[1], "at": now.isoformat()}
        assert (await admin.post(f"/v1/assets/{asset_id}/positions", json=where)).status_code == 200

    await watch_floor.sign_in()
    await page.click("#sound")
    assert await page.get_attribute("#sound", "aria-pressed") == "true"

    distress = Alert.open(
        rule=AlertRule.DISTRESS,
        severity=Severity.CRITICAL,
        subject="distress:mmsi:970000001",
        mmsis=[970_000_001],
        title="AIS-SART active",
        started_at=now - timedelta(minutes=5),
        lat=NORTH_OF_BALI[0],
        lon=NORTH_OF_BALI[1],
    )
    newer = Alert.open(  # critical too, and newer: it would be first if not pinned
        rule=AlertRule.WATCHLIST,
        severity=Severity.CRITICAL,
        subject="525000009:entry",
        mmsis=[525_000_009],
        title="watchlisted vessel",
        started_at=now - timedelta(minutes=1),
        lat=-8.5,
        lon=116.0,
    )
    await live_api.bus.publish_many(
        [Outgoing(Topic.FUSION_ALERTS.value, str(a.alert_id), a) for a in (distress, newer)]
    )
    await page.locator(f'#alerts li[data-alert-id="{newer.alert_id}"]').wait_for(timeout=20_000)
    first = page.locator("#alerts li").first
    await first.wait_for(timeout=20_000)
    assert await first.get_attribute("data-alert-id") == str(distress.alert_id)
    assert "distress" in (await first.get_attribute("class") or "")
    colours = await page.eval_on_selector_all(
        "#alerts li", "items => items.map(li => getComputedStyle(li).backgroundColor)"
    )
    assert colours[0] != colours[1]  # a colour of its own
    assert await page.evaluate("window.lookout.alarms") == 1

    await first.click()
    helper = page.locator(f'#nearest-list li[data-asset-id="{asset_id}"]')
    await helper.wait_for(timeout=20_000)
    text = await helper.inner_text()
    assert "KN TANJUNG" in text and "by sea" in text
    route = await page.evaluate("window.lookout.nearest.assets[0].route")
    assert route[0] == list(SOUTH_OF_BALI) and route[-1] == list(NORTH_OF_BALI)
    assert len(route) > 2  # around Bali, not straight over it
    assert watch_floor.errors == [], watch_floor.errors
