"""``/v1/assets`` through HTTP on the real database: an agency sees its own assets and the
ones partners share, never another's unshared asset; it changes only its own; where an
asset is comes from AIS or from its reports, the newer winning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from store.api_keys import Role
from store.db import connect
from tests.api.support import ApiServer

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def boat(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "boat", "cruising_speed_kn": 18, "max_speed_kn": 30, **extra}


async def register(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/assets", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_an_unshared_asset_is_invisible_to_other_agencies_and_a_shared_one_read_only(
    api: ApiServer,
) -> None:
    async with (
        await api.client("BAKAMLA", Role.ADMIN) as bakamla,
        await api.client("ABF", Role.ADMIN) as abf,
    ):
        hidden = await register(bakamla, boat("KN TANJUNG"))
        shared = await register(bakamla, boat("KN BIMA", shared_with_partners=True))
        own = await register(abf, boat("ABFC CAPE"))

        mine = (await bakamla.get("/v1/assets")).json()
        theirs = (await abf.get("/v1/assets")).json()
        assert [(a["name"], a["own"]) for a in mine] == [("KN BIMA", True), ("KN TANJUNG", True)]
        assert [(a["name"], a["own"]) for a in theirs] == [("ABFC CAPE", True), ("KN BIMA", False)]

        assert (await abf.get(f"/v1/assets/{hidden['asset_id']}")).status_code == 404
        assert (await abf.get(f"/v1/assets/{shared['asset_id']}")).status_code == 200
        refused = await abf.patch(f"/v1/assets/{shared['asset_id']}", json={"available": False})
        assert refused.status_code == 403 and "BAKAMLA" in refused.json()["detail"]
        hidden_change = await abf.patch(
            f"/v1/assets/{hidden['asset_id']}", json={"available": False}
        )
        assert hidden_change.status_code == 404  # not 403: its existence is not told
        report = {"lat": -8.5, "lon": 115.5, "at": T0.isoformat()}
        moved = await abf.post(f"/v1/assets/{shared['asset_id']}/positions", json=report)
        assert moved.status_code == 403
        assert (await bakamla.get(f"/v1/assets/{own['asset_id']}")).status_code == 404


async def test_positions_come_from_reports_or_from_ais_whichever_is_newer(
    api: ApiServer,
) -> None:
    async with (
        await api.client("BAKAMLA", Role.ADMIN) as admin,
        await api.client("BAKAMLA", Role.WATCH) as watch,
    ):
        plane = await register(
            admin,
            {"name": "CN235", "kind": "aircraft", "cruising_speed_kn": 200, "max_speed_kn": 240},
        )
        ship = await register(
            admin, {**boat("KN PULAU DERAWAN"), "kind": "ship", "mmsi": 525_019_001}
        )
        url = f"/v1/assets/{plane['asset_id']}"
        newer = {"lat": -8.1, "lon": 115.9, "at": (T0 + timedelta(minutes=5)).isoformat()}
        older = {"lat": -9.9, "lon": 119.9, "at": T0.isoformat()}
        assert (await watch.post(url + "/positions", json=newer)).status_code == 200
        after_older = (await watch.post(url + "/positions", json=older)).json()
        assert (after_older["lat"], after_older["lon"]) == (-8.1, 115.9)
        assert after_older["position_source"] == "reported"

        async with await connect(api.db_url) as conn:
            await conn.execute(
                "INSERT INTO vessels (mmsi, time, lat, lon) VALUES (%s, %s, %s, %s)",
                (525_019_001, T0 + timedelta(minutes=9), -8.3, 115.7),
            )
        seen = (await watch.get(f"/v1/assets/{ship['asset_id']}")).json()
        assert (seen["lat"], seen["lon"], seen["position_source"]) == (-8.3, 115.7, "ais")
        reported = {"lat": -8.4, "lon": 115.6, "at": (T0 + timedelta(minutes=20)).isoformat()}
        moved = await watch.post(f"/v1/assets/{ship['asset_id']}/positions", json=reported)
        assert (moved.json()["lat"], moved.json()["position_source"]) == (-8.4, "reported")

        busy = await watch.patch(f"/v1/assets/{ship['asset_id']}", json={"available": False})
        assert busy.status_code == 200 and busy.json()["available"] is False


async def test_bad_registrations_are_refused_with_a_reason(api: ApiServer) -> None:
    async with (
        await api.client("BAKAMLA", Role.ADMIN) as admin,
        await api.client("BAKAMLA", Role.WATCH) as watch,
    ):
        slow_max = await admin.post("/v1/assets", json=boat("RIB 1", max_speed_kn=10))
        assert slow_max.status_code == 422 and "below cruising" in slow_max.text
        await register(admin, boat("RIB 2"))
        twice = await admin.post("/v1/assets", json=boat("RIB 2"))
        assert twice.status_code == 409 and "RIB 2" in twice.json()["detail"]
        assert (await watch.post("/v1/assets", json=boat("RIB 3"))).status_code == 403
        # Found by schemathesis: a speed that is positive but rounds to nothing.
        tiny = boat("RIB 4", cruising_speed_kn=5e-324, max_speed_kn=5e-324)
        assert (await admin.post("/v1/assets", json=tiny)).status_code == 422
        rib = (await admin.get("/v1/assets")).json()[0]
        kept = await watch.patch(f"/v1/assets/{rib['asset_id']}", json={"available": None})
        assert kept.status_code == 200 and kept.json()["available"] is True  # null: no change
        slower = await watch.patch(f"/v1/assets/{rib['asset_id']}", json={"max_speed_kn": 5})
        assert slower.status_code == 422 and "below cruising" in slower.json()["detail"]
