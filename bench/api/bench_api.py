"""API benchmark: the COP, 24 h tracks and alert search with row-level security on (the
API's role, an agency set) and off (the owner, whom the policies do not bind), beside the
store's earlier COP path (pydantic models per vessel) as the baseline; then live-alert
fan-out to many SSE clients. Prints what it measured; never part of the test suite.

    .venv/bin/python bench/api/bench_api.py [--positions 10000000] [--vessels 10000]

Starts its own embedded PostgreSQL in a temporary directory. The benchmark process is
pinned to one core; PostgreSQL runs unpinned (on the other core, mostly).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from api.cop_cache import CopCache
from api.db import ApiDatabase, set_agency
from api.settings import ApiSettings, api_database_url
from bus.base import Outgoing
from bus.memory import MemoryBus
from schemas.alerts import Alert, AlertRule, Severity
from schemas.topics import Topic
from store import timeseries
from store.alert_queries import list_alerts
from store.api_keys import Role, create_key
from store.cop import cop_vessels_geojson
from store.db import Conn, connect
from store.embedded import EmbeddedPostgres
from store.migrate import migrate
from store.models import BoundingBox, feature_collection
from store.queries import latest_vessels_in_bbox
from store.settings import StoreSettings
from store.sink import StoreSink
from store.vessel_queries import track_geojson

console = Console()
WHOLE_REGION = BoundingBox(min_lon=90, min_lat=-15, max_lon=145, max_lat=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def load(conn: Conn, positions: int, vessels: int) -> None:
    per_vessel = max(1, positions // vessels)
    now = datetime.now(UTC).replace(microsecond=0)
    days = {timeseries.day_of(now - timedelta(hours=h)) for h in range(0, 26)}
    await timeseries.ensure_partitions(conn, timeseries.POSITIONS, days)
    await timeseries.ensure_partitions(conn, timeseries.ALERTS, days)
    chunk = max(1, 500_000 // per_vessel)
    with Progress(console=console) as progress:
        task = progress.add_task("positions", total=vessels * per_vessel)
        for first in range(0, vessels, chunk):
            last = min(vessels, first + chunk) - 1
            # Each vessel wanders around its own spot in the archipelago, a report every
            # 24 h / per_vessel, all within the last 24 h.
            await conn.execute(
                """
                INSERT INTO positions (time, mmsi, lat, lon, msg_type, speed_kn, course_deg,
                                       heading_deg, source, mmsi_valid)
                SELECT %(now)s - interval '24 hours'
                           + (i * (86400.0 / %(n)s::int)) * interval '1 second',
                       525000000 + v,
                       -11 + 17 * ((v * 0.6180339887) - floor(v * 0.6180339887))
                           + 0.3 * sin(i / 50.0 + v),
                       95 + 46 * ((v * 0.7548776662) - floor(v * 0.7548776662))
                           + 0.3 * cos(i / 50.0 + v),
                       1, 10, (v * 37) %% 360, (v * 37) %% 360, 'bench', true
                FROM generate_series(%(first)s::int, %(last)s::int) v,
                     generate_series(0, %(n)s::int - 1) i
                """,
                {"now": now, "n": per_vessel, "first": first, "last": last},
            )
            progress.advance(task, (last - first + 1) * per_vessel)
    await conn.execute(
        """
        INSERT INTO vessels (mmsi, name, ship_type, time, lat, lon, speed_kn, course_deg,
                             heading_deg, msg_type, mmsi_valid)
        SELECT DISTINCT ON (mmsi) mmsi, 'VESSEL ' || mmsi,
               (ARRAY[30,70,80,60,52,36])[1 + mmsi %% 6],
               time, lat, lon, speed_kn, course_deg, heading_deg, msg_type, mmsi_valid
        FROM positions ORDER BY mmsi, time DESC
        """,
        {},
    )
    await conn.execute("INSERT INTO agencies (agency_id, name) VALUES ('A', 'A'), ('B', 'B')")
    await conn.execute(
        """
        INSERT INTO patrol_reports (report_id, agency_id, reporter_kind, observed_at,
            received_at, lat, lon, uncertainty_m, activity)
        SELECT gen_random_uuid(), CASE WHEN g %% 10 = 0 THEN 'B' ELSE 'A' END, 'fisher',
               %(now)s - g * interval '1 minute', %(now)s - g * interval '1 minute',
               -8, 115, 1000, 'unknown'
        FROM generate_series(1, 2000) g
        """,
        {"now": now},
    )
    # 20,000 alerts in the last day: nine in ten from AIS, one in ten from A's reports.
    await conn.execute(
        """
        INSERT INTO alerts (alert_id, started_at, updated_at, rule, change, status, severity,
            score, subject, mmsis, title, lat, lon, source_agency)
        SELECT gen_random_uuid(), %(now)s - g * interval '4 seconds',
               %(now)s - g * interval '4 seconds',
               CASE WHEN g %% 10 = 0 THEN 'dark_target' ELSE 'loitering' END, 'opened',
               (ARRAY['open','acknowledged','closed'])[1 + g %% 3],
               (ARRAY['low','medium','high','critical'])[1 + g %% 4], 0.5,
               (525000000 + g %% %(vessels)s)::text, ARRAY[525000000 + g %% %(vessels)s],
               'bench alert', -11 + (g %% 17), 95 + (g %% 46),
               CASE WHEN g %% 10 = 0 THEN 'A' END
        FROM generate_series(1, 20000) g
        """,
        {"now": now, "vessels": vessels},
    )
    await conn.execute("ANALYZE")


async def measure(
    name: str, runs: int, session: Callable[[], object], work: Callable[[Conn], Awaitable[object]]
) -> tuple[float, float]:
    samples: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        async with session() as conn:  # type: ignore[attr-defined]
            await work(conn)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), percentile(samples, 0.99)


async def query_figures(owner_url: str, api_db: ApiDatabase, vessels: int, runs: int) -> Table:
    from contextlib import asynccontextmanager

    owner = await connect(owner_url)

    @asynccontextmanager
    async def as_owner():  # type: ignore[no-untyped-def]
        async with owner.transaction():
            await set_agency(owner, "B", 90)  # the same round trip; the owner ignores it
            yield owner

    def as_api():  # type: ignore[no-untyped-def]
        return api_db.session("B")

    rng = random.Random(3)
    now = datetime.now(UTC)

    async def cop(conn: Conn) -> str:
        return await cop_vessels_geojson(conn, WHOLE_REGION, oldest=None, limit=50_000)

    async def cop_models(conn: Conn) -> object:
        found = await latest_vessels_in_bbox(conn, WHOLE_REGION, limit=50_000)
        return json.dumps(feature_collection(found))

    async def track(conn: Conn) -> object:
        mmsi = 525_000_000 + rng.randrange(vessels)
        return await track_geojson(conn, mmsi, now - timedelta(hours=24), now, 5000)

    async def alerts(conn: Conn) -> object:
        return await list_alerts(
            conn,
            rules=None,
            severities=["high", "critical"],
            statuses=["open"],
            bbox=None,
            since=now - timedelta(hours=12),
            until=None,
            mmsi=None,
            after=None,
            limit=100,
        )

    table = Table(
        "query", "RLS", "p50 ms", "p99 ms", title="queries (in-process, one transaction each)"
    )
    cop_size = len(await cop(owner))
    for label, work in (
        (
            f"COP whole region, {vessels} vessels, GeoJSON by PostgreSQL ({cop_size / 1e6:.1f} MB)",
            cop,
        ),
        ("COP whole region, store's earlier path (pydantic per vessel) — baseline", cop_models),
        ("24 h track of one vessel, GeoJSON", track),
        ("alert search: open, high+critical, last 12 h, 100 rows", alerts),
    ):
        for rls, session in (("off (owner)", as_owner), ("on (lookout_api, agency B)", as_api)):
            p50, p99 = await measure(label, runs, session, work)
            table.add_row(label, rls, f"{p50:.1f}", f"{p99:.1f}")
            console.print(f"{label} | RLS {rls}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    # What the route serves: the picture through the 1 s cache, requests one after another
    # for a while, so that the background rebuild every second is among them.
    cache = CopCache(api_db, 1.0)
    question = ("whole region",)
    samples: list[float] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        started = time.perf_counter()
        async with api_db.session("B") as conn:
            await cache.get(conn, "B", question, cop)
        samples.append((time.perf_counter() - started) * 1000)
    await cache.close()
    label = "COP whole region through the 1 s cache (the route's work, 10 s of requests)"
    p50, p99 = statistics.median(samples), percentile(samples, 0.99)
    table.add_row(label, "on (lookout_api, agency B)", f"{p50:.1f}", f"{p99:.1f}")
    console.print(f"{label}: {len(samples)} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    await owner.close()
    return table


async def fanout(owner_url: str, clients: int, alerts: int) -> tuple[float, float, int]:
    """Publish alerts on the bus; the sink writes them, the live hub reads and fans out to
    ``clients`` SSE connections. Latency: publish to receipt at each client."""
    from tests.api.support import serve_api

    bus = MemoryBus(source="/bench")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    sink = StoreSink(bus, StoreSettings(database_url=owner_url))
    sink_task = asyncio.create_task(sink.run())
    published: dict[str, float] = {}
    latencies: list[float] = []
    try:
        async with serve_api(owner_url, ApiSettings(api_db_pool_size=20), bus) as api:
            async with await connect(owner_url) as conn:
                key = (await create_key(conn, "BENCH", Role.WATCH)).secret
            http = httpx.AsyncClient(
                base_url=api.base_url,
                headers={"X-API-Key": key},
                limits=httpx.Limits(max_connections=clients + 10),
                timeout=None,
            )
            ready = asyncio.Semaphore(0)

            async def client() -> None:
                async with http.stream("GET", "/v1/alerts/stream") as response:
                    ready.release()
                    async for line in response.aiter_lines():
                        if line.startswith("data:"):
                            alert_id = json.loads(line[5:])["alert_id"]
                            if alert_id in published:
                                latencies.append(time.perf_counter() - published[alert_id])

            tasks = [asyncio.create_task(client()) for _ in range(clients)]
            for _ in range(clients):
                await ready.acquire()
            await asyncio.sleep(1)  # every client registered with the hub
            for n in range(alerts):
                alert = Alert.open(
                    rule=AlertRule.LOITERING,
                    severity=Severity.HIGH,
                    subject=f"fanout-{n}",
                    title="fan-out",
                    started_at=datetime.now(UTC),
                )
                published[str(alert.alert_id)] = time.perf_counter()
                await bus.publish_many(
                    [Outgoing(Topic.FUSION_ALERTS.value, str(alert.alert_id), alert)]
                )
                await asyncio.sleep(0.25)
            deadline = time.monotonic() + 10
            while len(latencies) < clients * alerts and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await http.aclose()
    finally:
        sink_task.cancel()
        await asyncio.gather(sink_task, return_exceptions=True)
        await bus.stop()
    ms = [x * 1000 for x in latencies]
    return statistics.median(ms), percentile(ms, 0.99), len(ms)


async def cop_over_http(
    owner_url: str, cache_s: float, floors: int, seconds: float
) -> tuple[float, float, float, float, int]:
    """``floors`` watch floors of one agency each asking for the whole-region COP over
    HTTP, one request after another, for ``seconds``: time to the answer's headers (the
    server's work) and to its last byte (with the 4 MB read by a client on the same core)."""
    from tests.api.support import serve_api

    samples: list[float] = []
    first_bytes: list[float] = []
    async with serve_api(owner_url, ApiSettings(api_db_pool_size=20, cop_cache_s=cache_s)) as api:
        async with await connect(owner_url) as conn:
            key = (await create_key(conn, "B", Role.WATCH)).secret
        http = httpx.AsyncClient(base_url=api.base_url, headers={"X-API-Key": key}, timeout=None)
        bbox = ",".join(
            str(x)
            for x in (
                WHOLE_REGION.min_lon,
                WHOLE_REGION.min_lat,
                WHOLE_REGION.max_lon,
                WHOLE_REGION.max_lat,
            )
        )
        await http.get("/v1/cop/vessels", params={"bbox": bbox})  # connections, first build
        deadline = time.monotonic() + seconds

        async def floor() -> None:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                async with http.stream("GET", "/v1/cop/vessels", params={"bbox": bbox}) as answer:
                    assert answer.status_code == 200
                    first_bytes.append((time.perf_counter() - started) * 1000)
                    await answer.aread()
                samples.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(floor() for _ in range(floors)))
        await http.aclose()
    return (
        statistics.median(first_bytes),
        percentile(first_bytes, 0.99),
        statistics.median(samples),
        percentile(samples, 0.99),
        len(samples),
    )


async def run(
    positions: int, vessels: int, runs: int, clients: int, floors: int, seconds: float
) -> None:
    with tempfile.TemporaryDirectory(prefix="lookout-bench-api-") as folder:
        os.chmod(folder, 0o755)
        server = EmbeddedPostgres(Path(folder) / "pg")
        url = server.start()
        try:
            settings = StoreSettings(database_url=url)
            async with await connect(url) as conn:
                await migrate(conn, settings)
                started = time.perf_counter()
                await load(conn, positions, vessels)
                cur = await conn.execute("SELECT count(*) FROM positions")
                row = await cur.fetchone()
                console.print(
                    f"loaded {row[0] if row else 0:,} positions, {vessels:,} vessels, 20,000 "
                    f"alerts, 2,000 reports in {time.perf_counter() - started:.0f} s"
                )
            api_settings = ApiSettings()
            api_db = ApiDatabase(api_database_url(url, api_settings), api_settings)
            await api_db.open()
            try:
                console.print(await query_figures(url, api_db, vessels, runs))
            finally:
                await api_db.close()
            table = Table(
                "COP over HTTP, whole region, agency B",
                "watch floors",
                "requests",
                "headers p50 / p99 ms",
                "last byte p50 / p99 ms",
                title=f"watch floors asking one request after another for {seconds:g} s",
            )
            for label, cache_s in (("no cache (every request builds)", 0.0), ("1 s cache", 1.0)):
                for n_floors in sorted({1, floors}):
                    h50, h99, p50, p99, n = await cop_over_http(url, cache_s, n_floors, seconds)
                    table.add_row(
                        label,
                        str(n_floors),
                        str(n),
                        f"{h50:.1f} / {h99:.1f}",
                        f"{p50:.1f} / {p99:.1f}",
                    )
                    console.print(
                        f"COP over HTTP, {label}, {n_floors} floors: {n} requests, headers "
                        f"p50 {h50:.1f} / p99 {h99:.1f} ms, "
                        f"last byte p50 {p50:.1f} / p99 {p99:.1f} ms"
                    )
            console.print(table)
            p50, p99, n = await fanout(url, clients, 20)
            console.print(
                f"SSE fan-out to {clients} clients: {n} deliveries, publish -> client "
                f"p50 {p50:.0f} ms, p99 {p99:.0f} ms (bus -> sink -> database -> hub -> client)"
            )
        finally:
            server.stop()


def main(
    positions: int = typer.Option(10_000_000, help="Positions to load (last 24 h)."),
    vessels: int = typer.Option(10_000, help="Vessels."),
    runs: int = typer.Option(100, help="Timed runs per query and setting."),
    clients: int = typer.Option(200, help="SSE clients for the fan-out."),
    floors: int = typer.Option(4, help="Watch floors asking for the COP over HTTP at once."),
    seconds: float = typer.Option(10.0, help="How long the watch floors ask, seconds."),
) -> None:
    os.sched_setaffinity(0, {1})
    console.print(
        f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        "benchmark pinned to core 1, PostgreSQL unpinned"
    )
    asyncio.run(run(positions, vessels, runs, clients, floors, seconds))


if __name__ == "__main__":
    typer.run(main)
