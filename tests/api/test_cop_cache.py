"""The common operating picture is kept a moment per agency (LOOKOUT_COP_CACHE_S), and
the sharing rule holds through it: one agency's open-alert counts never reach another,
and a change of an agency's standing under the rule is never answered with a picture
built before it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import pytest

from api.settings import ApiSettings
from store import timeseries
from store.api_keys import Role
from store.db import Conn, connect
from tests.api.support import eventually, serve_api

pytestmark = pytest.mark.postgres

VESSEL = 525_000_888


async def open_alerts(client: httpx.AsyncClient) -> int:
    cop = await client.get("/v1/cop/vessels")
    assert cop.status_code == 200, cop.text
    return sum(f["properties"]["open_alerts"] for f in cop.json()["features"] if f["id"] == VESSEL)


async def add_alert(owner: Conn, source_agency: str | None) -> None:
    now = datetime.now(UTC)
    await owner.execute(
        "INSERT INTO alerts (alert_id, started_at, updated_at, rule, change, status, severity, "
        "score, subject, mmsis, title, lat, lon, source_agency) VALUES (%s, %s, %s, "
        "'dark_target', 'opened', 'open', 'high', 0.5, %s, ARRAY[%s::int], 'test', -8.5, "
        "115.2, %s)",
        (uuid.uuid4(), now, now, str(VESSEL), VESSEL, source_agency),
    )


async def test_a_kept_picture_follows_the_agency_and_its_standing(db_url: str) -> None:
    async with await connect(db_url) as owner:
        await timeseries.ensure_partitions(
            owner, timeseries.ALERTS, {timeseries.day_of(datetime.now(UTC))}
        )
        await owner.execute(
            "INSERT INTO vessels (mmsi, time, lat, lon) VALUES (%s, now(), -8.5, 115.2)",
            (VESSEL,),
        )
        # Kept for a minute: whatever a request gets from the cache, it gets here.
        async with serve_api(db_url, ApiSettings(cop_cache_s=60)) as api:
            a = await api.client("BAKAMLA", Role.WATCH)
            b = await api.client("AMSA", Role.WATCH)
            async with a, b:
                await add_alert(owner, None)  # from AIS: everyone's
                await add_alert(owner, "BAKAMLA")  # from BAKAMLA's report
                assert await open_alerts(a) == 2
                assert await open_alerts(b) == 1  # not BAKAMLA's picture
                # AMSA files a report: it contributes, and its picture is built anew.
                await owner.execute(
                    "INSERT INTO patrol_reports (report_id, agency_id, reporter_kind, "
                    "observed_at, received_at, lat, lon, uncertainty_m, activity) VALUES "
                    "(%s, 'AMSA', 'patrol', now(), now(), -8.6, 115.3, 500, 'unknown')",
                    (uuid.uuid4(),),
                )
                assert await open_alerts(b) == 2
                # Within the minute the same question is answered from the cache.
                await add_alert(owner, None)
                assert await open_alerts(a) == 2


async def test_a_kept_picture_is_renewed_after_its_time(db_url: str) -> None:
    async with await connect(db_url) as owner:
        await timeseries.ensure_partitions(
            owner, timeseries.ALERTS, {timeseries.day_of(datetime.now(UTC))}
        )
        await owner.execute(
            "INSERT INTO vessels (mmsi, time, lat, lon) VALUES (%s, now(), -8.5, 115.2)",
            (VESSEL,),
        )
        async with serve_api(db_url, ApiSettings(cop_cache_s=0.2)) as api:
            a = await api.client("BAKAMLA", Role.WATCH)
            async with a:
                assert await open_alerts(a) == 0
                await add_alert(owner, None)

                async def counted() -> bool:
                    return await open_alerts(a) == 1

                await eventually(counted, "the new alert on the picture", timeout_s=10)
