"""An alert read through the API lists the nearest available assets the reader may see,
ranked by time to reach by sea: another agency's unshared asset never appears, however
close it is."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from api.assets.nearest import RouteFinder
from bus.base import Outgoing
from bus.memory import MemoryBus
from lookout.sea_router import sea_router
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store.api_keys import Role
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.api.support import ApiServer, serve_api
from tests.api.test_nearest_assets import SOUTH_OF_BALI
from tests.fusion.test_searoute import BALI_SEA, NORTH_OF_BALI
from tests.store.support import records_of

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


async def raise_alert(db_url: str, lat: float | None, lon: float | None) -> str:
    alert = Alert.open(
        rule=AlertRule.DISTRESS,
        severity=Severity.CRITICAL,
        subject="distress:mmsi:970000001",
        title="AIS-SART active",
        started_at=T0,
        lat=lat,
        lon=lon,
    )
    sink = StoreSink(MemoryBus(source="/tests"), StoreSettings(database_url=db_url))
    await sink.write_durably(
        records_of([Outgoing(Topic.FUSION_ALERTS, str(alert.alert_id), alert)])
    )
    await sink.close()
    return str(alert.alert_id)


async def placed(
    client: httpx.AsyncClient, body: dict[str, Any], where: tuple[float, float]
) -> None:
    response = await client.post("/v1/assets", json=body)
    assert response.status_code == 201, response.text
    asset_id = response.json()["asset_id"]
    report = {"lat": where[0], "lon": where[1], "at": T0.isoformat()}
    assert (await client.post(f"/v1/assets/{asset_id}/positions", json=report)).status_code == 200


def ship(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "ship", "cruising_speed_kn": 20, "max_speed_kn": 25, **extra}


async def test_an_alert_lists_the_nearest_assets_its_reader_may_see_ranked_by_sea(
    api: ApiServer,
) -> None:
    alert_id = await raise_alert(api.db_url, *NORTH_OF_BALI)
    async with (
        await api.client("BAKAMLA", Role.ADMIN) as bakamla,
        await api.client("ABF", Role.ADMIN) as abf,
    ):
        await placed(bakamla, ship("KN TANJUNG", shared_with_partners=True), SOUTH_OF_BALI)
        await placed(bakamla, ship("KN BIMA", shared_with_partners=True), BALI_SEA)
        await placed(abf, ship("ABFC CAPE"), (-7.95, 115.1))  # closest of all, not shared
        url = f"/v1/alerts/{alert_id}/nearest-assets"
        for_abf = (await abf.get(url)).json()
        for_bakamla = (await bakamla.get(url)).json()
        read_by_abf = (await abf.get(f"/v1/alerts/{alert_id}")).json()
        read_by_bakamla = (await bakamla.get(f"/v1/alerts/{alert_id}")).json()
    # The alert itself, when read, carries the same list, per reader.
    assert read_by_abf["nearest_assets"] == for_abf
    assert read_by_bakamla["nearest_assets"] == for_bakamla
    assert [(n["name"], n["own"], n["method"]) for n in for_abf] == [
        ("ABFC CAPE", True, "sea_grid"),
        ("KN BIMA", False, "sea_grid"),
        ("KN TANJUNG", False, "sea_grid"),
    ]
    assert [n["name"] for n in for_bakamla] == ["KN BIMA", "KN TANJUNG"]
    bima, tanjung = for_bakamla
    assert bima["distance_nm"] < tanjung["distance_nm"]  # by sea; by great circle the reverse
    assert tanjung["time_to_reach_min"] == pytest.approx(tanjung["distance_nm"] / 20 * 60, abs=0.1)
    assert tanjung["route"][0] == list(SOUTH_OF_BALI) and tanjung["route"][-1] == list(
        NORTH_OF_BALI
    )


async def test_an_alert_without_a_position_lists_nothing_and_an_unknown_one_is_404(
    api: ApiServer,
) -> None:
    alert_id = await raise_alert(api.db_url, None, None)
    async with await api.client("BAKAMLA", Role.WATCH) as watch:
        assert (await watch.get(f"/v1/alerts/{alert_id}/nearest-assets")).json() == []
        unknown = await watch.get("/v1/alerts/6f2b8a7e-3c1d-5b9a-9e0f-4c8d2a1b7e55/nearest-assets")
    assert unknown.status_code == 404


async def test_the_routers_first_build_holds_no_other_request_up(db_url: str) -> None:
    """The sea router is built on first use (the coastline: about a second of CPU, many
    under load). Built on the event loop, it held every other request up meanwhile, and a
    request under load timed out. Here the build waits until another request has been
    answered: it can only be answered if the build is not on the event loop."""
    entered, release = threading.Event(), threading.Event()
    released: list[bool] = []

    def slow_router() -> RouteFinder:
        entered.set()
        released.append(release.wait(10))  # False: nothing else was answered meanwhile
        return sea_router()

    alert_id = await raise_alert(db_url, *NORTH_OF_BALI)
    async with (
        serve_api(db_url, route_finder=slow_router) as api,
        await api.client("BAKAMLA", Role.ADMIN) as client,
    ):
        await placed(client, ship("KN BIMA"), BALI_SEA)
        ranking = asyncio.create_task(client.get(f"/v1/alerts/{alert_id}/nearest-assets"))
        assert await asyncio.to_thread(entered.wait, 10), "the router was never asked for"
        assert (await client.get("/v1/assets")).status_code == 200
        release.set()
        answer = await ranking
    assert released == [True], "another request waited for the router's build"
    assert [n["name"] for n in answer.json()] == ["KN BIMA"]
