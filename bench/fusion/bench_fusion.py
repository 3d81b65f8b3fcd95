"""Fusion benchmark: positions per second through the detectors and the alert engine on
one core, with many zones and vessels, beside the cost of only reading the records (the
floor) in the same run; then precision and recall per detector on the generated scenario.
Prints what it measured; never part of the test suite.

    taskset -c 1 .venv/bin/python bench/fusion/bench_fusion.py [--vessels 10000] [--zones 1000]
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bus.base import Outgoing, Record
from fusion.processor import Fusion
from fusion.settings import FusionSettings
from fusion.tracks import ShardState
from fusion.wire import read_position
from schemas.ais import PositionReport
from schemas.alerts import AlertChange
from schemas.config import Geofence, PolygonGeometry, ZoneKind, default_rules
from schemas.topics import Topic
from schemas.vessel import MmsiInfo, MmsiKind

console = Console()
START = datetime(2026, 6, 1, tzinfo=UTC)
WEST, SOUTH, EAST, NORTH = 105.0, -11.0, 125.0, -3.0  # Java, Bali, Nusa Tenggara seas
SHIP = MmsiInfo(valid=True, kind=MmsiKind.SHIP, mid=525, country="ID")


def make_zones(count: int, rng: random.Random) -> list[Geofence]:
    out = []
    for i in range(count):
        lat, lon, half = rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST), rng.uniform(0.01, 0.05)
        ring = [
            [lon - half, lat - half],
            [lon + half, lat - half],
            [lon + half, lat + half],
            [lon - half, lat + half],
            [lon - half, lat - half],
        ]
        kind = (ZoneKind.RESTRICTED, ZoneKind.MARINE_PROTECTED_AREA, ZoneKind.PORT)[i % 3]
        out.append(
            Geofence(
                geofence_id=f"z{i}",
                name=f"zone {i}",
                kind=kind,
                geometry=PolygonGeometry(type="Polygon", coordinates=[ring]),
                rules=default_rules(kind),
                updated_at=START,
            )
        )
    return out


def records(vessels: int, per_vessel: int, rng: random.Random) -> list[Record]:
    state = [
        (rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST), rng.uniform(0, 14))
        for _ in range(vessels)
    ]
    out: list[Record] = []
    for step in range(per_vessel):
        for v in range(vessels):
            lat, lon, speed = state[v]
            lon += speed * 10 / 3600 / 60  # 10 s at `speed` kn, eastward (degrees)
            state[v] = (lat, lon, speed)
            event = PositionReport(
                mmsi=525_000_000 + v,
                msg_type=1,
                event_time=START + timedelta(seconds=step * 10 + v * 10 / vessels),
                lat=lat,
                lon=lon,
                speed_kn=round(speed, 1),
                source="bench",
                station="rx",
                mmsi_info=SHIP,
            )
            value, headers = Outgoing(Topic.AIS_POSITIONS, str(event.mmsi), event).encode("/b")
            out.append(
                Record(Topic.AIS_POSITIONS, 0, len(out), str(event.mmsi), value, tuple(headers), 0)
            )
    return out


def throughput(vessels: int, zone_count: int, per_vessel: int) -> tuple[float, float, int]:
    rng = random.Random(7)
    recs = records(vessels, per_vessel, rng)
    started = time.perf_counter()
    for r in recs:
        read_position(r)
    floor = len(recs) / (time.perf_counter() - started)
    fusion = Fusion(FusionSettings())
    fusion.set_zones(make_zones(zone_count, rng))
    fusion.states[0] = ShardState(0)
    alerts = 0
    started = time.perf_counter()
    for i in range(0, len(recs), 5000):
        alerts += len(fusion.process(recs[i : i + 5000]).outgoing)
    full = len(recs) / (time.perf_counter() - started)
    return floor, full, alerts


async def precision_recall() -> dict[str, tuple[float, float, int]]:
    from ingest.scenario import build_scenario
    from tests.fusion.support import THRESHOLDS, alerts_of
    from tests.fusion.test_scenario_memory import run_scenario

    scenario = build_scenario(thresholds=THRESHOLDS)
    found = {
        (a.rule.value, a.mmsis[0])
        for a in alerts_of(await run_scenario(scenario))
        if a.change is AlertChange.OPENED
    }
    expected = {(e.rule.value, e.mmsi) for e in scenario.expected}
    out = {}
    for rule in sorted({r for r, _ in expected | found}):
        f = {x for x in found if x[0] == rule}
        e = {x for x in expected if x[0] == rule}
        tp = len(f & e)
        out[rule] = (tp / len(f) if f else 1.0, tp / len(e) if e else 1.0, len(e))
    return out


def main(vessels: int = 10_000, zones: int = 1000, per_vessel: int = 10) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1 % (os.cpu_count() or 1)})
    console.print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} cores, pinned to core {sorted(os.sched_getaffinity(0))}"
    )
    floor, full, alerts = throughput(vessels, zones, per_vessel)
    table = Table("path", "positions/s")
    table.add_row("read only (msgspec view of each record: the floor)", f"{floor:,.0f}")
    table.add_row(
        f"fusion.process: {vessels:,} vessels, {zones:,} zones, batches of 5,000", f"{full:,.0f}"
    )
    console.print(table)
    console.print(f"{vessels * per_vessel:,} positions, {alerts:,} alert events")
    pr = asyncio.run(precision_recall())
    table = Table("detector", "precision", "recall", "expected")
    for rule, (p, r, n) in pr.items():
        table.add_row(rule, f"{p:.2f}", f"{r:.2f}", str(n))
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
