"""Store benchmark: load positions through the sink's write path, then time the COP and
track queries. Prints what it measured; never part of the test suite.

    .venv/bin/python bench/store/bench_store.py [--positions 5000000] [--vessels 5000]

Starts its own embedded PostgreSQL in a temporary directory unless LOOKOUT_DATABASE_URL is
set (then it creates and drops a database ``lookout_bench`` there).
"""

from __future__ import annotations

import asyncio
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import typer
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from store import timeseries
from store.cells import cell_of
from store.db import Conn, connect
from store.decode import DecodedBatch
from store.embedded import EmbeddedPostgres
from store.migrate import migrate
from store.models import BoundingBox
from store.queries import latest_vessels_in_bbox, vessel_track
from store.settings import StoreSettings
from store.sink import write_batch
from store.write_positions import PositionRow, write_positions, write_positions_plainly

console = Console()
START = datetime(2026, 6, 1, tzinfo=UTC)
# The Indonesian archipelago and its approaches, where the vessels sail.
WEST, SOUTH, EAST, NORTH = 95.0, -11.0, 141.0, 6.0


class Fleet:
    """``vessels`` ships sailing straight lines that bounce off the area's edges."""

    def __init__(self, vessels: int, seed: int = 7, first_mmsi: int = 525_000_000) -> None:
        rng = random.Random(seed)
        self.mmsi = [first_mmsi + n for n in range(vessels)]
        self.lat = [rng.uniform(SOUTH, NORTH) for _ in range(vessels)]
        self.lon = [rng.uniform(WEST, EAST) for _ in range(vessels)]
        self.course = [rng.uniform(0, 360) for _ in range(vessels)]
        self.speed = [rng.uniform(0, 18) for _ in range(vessels)]

    def step(self, dt_s: float) -> None:
        for i in range(len(self.mmsi)):
            distance_deg = self.speed[i] * dt_s / 3600 / 60  # knots → degrees (1' = 1 nm)
            rad = math.radians(self.course[i])
            lat, lon = (
                self.lat[i] + distance_deg * math.cos(rad),
                self.lon[i] + (distance_deg * math.sin(rad)),
            )
            if not (SOUTH < lat < NORTH and WEST < lon < EAST):
                self.course[i] = (self.course[i] + 180) % 360
                continue
            self.lat[i], self.lon[i] = lat, lon


def position_batches(
    fleet: Fleet, positions: int, interval_s: float, batch: int, start: datetime
) -> Iterator[list[PositionRow]]:
    """Rows as a live feed delivers them: every vessel once per interval, in time order."""
    rows: list[PositionRow] = []
    produced, tick = 0, 0
    while produced < positions:
        base = start + timedelta(seconds=tick * interval_s)
        for i, mmsi in enumerate(fleet.mmsi):
            # Stagger vessels inside the interval, as real reports are.
            t = base + timedelta(seconds=interval_s * i / len(fleet.mmsi))
            rows.append(
                (
                    t,
                    mmsi,
                    round(fleet.lat[i], 6),
                    round(fleet.lon[i], 6),
                    1,
                    round(fleet.speed[i], 1),
                    round(fleet.course[i], 1),
                    None,
                    0,
                    None,
                    True,
                    None,
                    None,
                    "bench",
                    True,
                    "ship",
                    "ID",
                    cell_of(fleet.lat[i], fleet.lon[i]),
                )
            )
            produced += 1
            if len(rows) == batch:
                yield rows
                rows = []
            if produced == positions:
                break
        fleet.step(interval_s)
        tick += 1
    if rows:
        yield rows


def percentile(samples_ms: list[float], q: float) -> float:
    return (
        statistics.quantiles(samples_ms, n=100, method="inclusive")[q - 1]
        if len(samples_ms) > 1
        else samples_ms[0]
    )


async def timed(samples_ms: list[float], coro: object) -> object:
    started = time.perf_counter()
    result = await coro  # type: ignore[misc]
    samples_ms.append((time.perf_counter() - started) * 1000)
    return result


async def bench(
    url: str, positions: int, vessels: int, batch: int, sample: int, queries: int, hours: float
) -> None:
    settings = StoreSettings(database_url=url)
    async with await connect(url) as conn:
        report = await migrate(conn, settings)
        cur = await conn.execute("SHOW server_version")
        pg_version = (await cur.fetchone() or ["?"])[0]
        keeper = timeseries.PartitionKeeper(report.backend)
        from store.write_positions import prepare_stage

        await prepare_stage(conn)
        fleet = Fleet(vessels)
        interval_s = hours * 3600 / math.ceil(positions / vessels)
        console.print(
            f"PostgreSQL {pg_version} ({report.backend.value}); python "
            f"{platform.python_version()}; {os.cpu_count()} cpus; "
            f"{positions:,} positions of {vessels:,} vessels over {hours:g} h "
            f"(one report per vessel every {interval_s:.0f} s); batches of {batch:,}"
        )

        # 1. The sink's write path (COPY → staging → INSERT … ON CONFLICT, vessels upsert).
        written = 0
        copy_s = 0.0  # time inside the write path only, not generating the rows
        started = time.perf_counter()
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("COPY path", total=positions)
            for rows in position_batches(fleet, positions, interval_s, batch, START):
                batch_started = time.perf_counter()
                counts = await write_batch(conn, DecodedBatch(positions=rows), keeper)
                copy_s += time.perf_counter() - batch_started
                written += counts["positions"]
                bar.advance(task, len(rows))
        wall_s = time.perf_counter() - started
        copy_rate = written / copy_s

        # 2. Same-sized fresh samples, COPY path vs plain executemany, on days and vessels
        # of their own (removed afterwards, so the queries see only the main load).
        later = START + timedelta(days=30)
        sample_rows = next(
            position_batches(Fleet(vessels, 11, 600_000_000), sample, 60, sample, later)
        )
        other_rows = next(
            position_batches(
                Fleet(vessels, 12, 600_000_000), sample, 60, sample, later + timedelta(days=2)
            )
        )
        await keeper.ensure(conn, timeseries.POSITIONS, timeseries.days_ahead(later.date(), 3))
        started = time.perf_counter()
        async with conn.transaction():
            await write_positions(conn, sample_rows, latest=False)
        sample_copy_rate = sample / (time.perf_counter() - started)
        started = time.perf_counter()
        async with conn.transaction():
            await write_positions_plainly(conn, other_rows)
        plain_rate = sample / (time.perf_counter() - started)

        await conn.execute("DELETE FROM positions WHERE time >= %s", (later,))
        await conn.execute("DELETE FROM vessels WHERE mmsi >= 600000000")
        await conn.execute("VACUUM ANALYZE")

        # 3. Queries: the COP box and one vessel's 24-hour track.
        rng = random.Random(3)
        now = START + timedelta(hours=hours)
        cop_ms: list[float] = []
        cop_sizes: list[int] = []
        for _ in range(queries):
            lon, lat = rng.uniform(WEST, EAST - 5), rng.uniform(SOUTH, NORTH - 5)
            box = BoundingBox(min_lon=lon, min_lat=lat, max_lon=lon + 5, max_lat=lat + 5)
            found = await timed(cop_ms, latest_vessels_in_bbox(conn, box, now=now))
            cop_sizes.append(len(found))  # type: ignore[arg-type]
        whole_ms: list[float] = []
        region = BoundingBox(min_lon=WEST, min_lat=SOUTH, max_lon=EAST, max_lat=NORTH)
        for _ in range(max(queries // 10, 5)):
            await timed(whole_ms, latest_vessels_in_bbox(conn, region, now=now))
        track_ms: list[float] = []
        track_points: list[int] = []
        for _ in range(queries):
            mmsi = rng.choice(fleet.mmsi)
            end = START + timedelta(hours=rng.uniform(24, hours))
            track = await timed(track_ms, vessel_track(conn, mmsi, end - timedelta(hours=24), end))
            track_points.append(track.total_points)  # type: ignore[attr-defined]
        size = await _table_size(conn)

    table = Table(title="Store benchmark")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row(
        "positions stored (sink write_batch: COPY + vessels' latest state)", f"{written:,}"
    )
    table.add_row(
        "sink write path, whole load (time in the write path)",
        f"{copy_rate:,.0f} rows/s ({copy_s:.1f} s)",
    )
    table.add_row("whole load, generating the rows included", f"{written / wall_s:,.0f} rows/s")
    table.add_row(
        f"positions only: COPY path, {sample:,}-row sample", f"{sample_copy_rate:,.0f} rows/s"
    )
    table.add_row(
        f"positions only: plain executemany, {sample:,}-row sample", f"{plain_rate:,.0f} rows/s"
    )
    table.add_row(
        "ratio COPY / executemany (same sample size)", f"{sample_copy_rate / plain_rate:.1f}x"
    )
    table.add_row(
        f"COP 5°x5° box (mean {statistics.mean(cop_sizes):.0f} vessels) p50 / p95",
        f"{percentile(cop_ms, 50):.1f} / {percentile(cop_ms, 95):.1f} ms",
    )
    table.add_row(
        f"COP whole region ({vessels:,} vessels) p50 / p95",
        f"{percentile(whole_ms, 50):.1f} / {percentile(whole_ms, 95):.1f} ms",
    )
    table.add_row(
        f"24 h track (mean {statistics.mean(track_points):.0f} points) p50 / p95",
        f"{percentile(track_ms, 50):.1f} / {percentile(track_ms, 95):.1f} ms",
    )
    table.add_row("positions table size", size)
    console.print(table)


async def _table_size(conn: Conn) -> str:
    cur = await conn.execute(
        "SELECT pg_size_pretty(sum(pg_total_relation_size(inhrelid))) FROM pg_inherits "
        "WHERE inhparent = 'positions'::regclass"
    )
    row = await cur.fetchone()
    return str(row[0]) if row else "?"


def main(
    positions: int = typer.Option(5_000_000, help="Positions to load."),
    vessels: int = typer.Option(5_000, help="Distinct vessels (MMSIs)."),
    batch: int = typer.Option(5_000, help="Rows per sink batch (the sink's default)."),
    sample: int = typer.Option(50_000, help="Rows in the COPY-vs-executemany samples."),
    queries: int = typer.Option(200, help="Timed runs of each query."),
    hours: float = typer.Option(72.0, help="Time span of the loaded positions."),
) -> None:
    external = os.environ.get("LOOKOUT_DATABASE_URL")
    if external:
        with psycopg.connect(external, autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS lookout_bench WITH (FORCE)")
            admin.execute("CREATE DATABASE lookout_bench")
        url = make_conninfo("", **{**conninfo_to_dict(external), "dbname": "lookout_bench"})
        asyncio.run(bench(url, positions, vessels, batch, sample, queries, hours))
        return
    with tempfile.TemporaryDirectory(prefix="lookout-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pg")
        url = server.start()
        try:
            asyncio.run(bench(url, positions, vessels, batch, sample, queries, hours))
        finally:
            server.stop()


if __name__ == "__main__":
    typer.run(main)
