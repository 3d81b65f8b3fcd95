"""A digest of every alert event both fusion stages publish, to show that a change to how
fusion works left what it publishes byte for byte the same: run it before and after (on
the two commits' trees) and compare the printed hashes. Not a test; not timed.

    .venv/bin/python bench/fusion/alert_digest.py [--vessels 10000] [--per-vessel 10]

Two inputs, each with default and with scaled-down thresholds: the benchmark's positions
(10,000 vessels, 1,000 zones) with sightings among them (at vessels and where none is),
and the generated scenario (every behaviour, its near misses and hard normal traffic,
three partitions, with sightings). Both stages run in one thread: each per-MMSI batch's
cell messages are handed to the cell stage as one batch of its own, on three cell
partitions (a message without a partition goes where Kafka would put it: murmur2 of its
key). Printed per run: the events by rule and change, sha256 of their values and headers
in publication order, and of the sorted list (the same set in another order), and
of the cell stage's checkpointed state at the end (but its positions waiting for the
watermark and its offsets).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import typer
from aiokafka.partitioner import murmur2

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fusion.bench_fusion import make_zones, records, sighting
from bus.base import Outgoing, Record
from fusion.cells.processor import CellFusion
from fusion.cells.state import CellShardState, encode_cell_state
from fusion.processor import Fusion
from fusion.settings import FusionSettings
from fusion.tracks import ShardState
from schemas.config import Geofence, WatchlistEntry
from schemas.topics import Topic

CELL_PARTITIONS = 3


def report_record(lat: float, lon: float, t: float, rng: random.Random, offset: int) -> Record:
    report = sighting(lat, lon, datetime.fromtimestamp(t, UTC), rng)
    value, headers = Outgoing(Topic.PATROL_REPORTS, str(report.report_id), report).encode("/b")
    return Record(Topic.PATROL_REPORTS, 0, offset, str(report.report_id), value, tuple(headers), 0)


def with_sightings(recs: list[Record], every: int, rng: random.Random) -> list[Record]:
    """A sighting after every ``every`` positions: alternately at the last position's
    place and time (not dark) and 0.3 degrees away (dark, unless a vessel is there)."""
    from fusion.wire import read_position

    out: list[Record] = []
    reports = 0
    for i, r in enumerate(recs):
        out.append(r)
        if i % every == every - 1:
            view = read_position(r)
            t = view.event_time.timestamp()
            lat, lon = view.lat or 0.0, view.lon or 0.0
            if reports % 2:
                lat, lon = lat + 0.3, lon + 0.3
            out.append(report_record(lat, lon, t, rng, reports))
            reports += 1
    return out


def run(
    recs: list[Record],
    settings: FusionSettings,
    zones: list[Geofence],
    watchlist: list[WatchlistEntry],
    batch: int,
) -> list[Outgoing]:
    fusion = Fusion(settings)
    fusion.set_zones(zones)
    fusion.set_watchlist(watchlist)
    shards = sorted({r.partition for r in recs})
    for s in range(max(shards) + 1):
        fusion.states[s] = ShardState(s)
    fusion.cell_partitions, fusion.source_partitions = CELL_PARTITIONS, max(shards) + 1
    cells = CellFusion(settings)
    for p in range(CELL_PARTITIONS):
        cells.states[p] = CellShardState(p)
    offsets = [0] * CELL_PARTITIONS
    events: list[Outgoing] = []
    for i in range(0, len(recs), batch):
        to_cells: list[Record] = []
        for o in fusion.process(recs[i : i + batch]).outgoing:
            if o.topic != Topic.FUSION_CELLS:
                events.append(o)
                continue
            p = o.partition
            if p is None:
                p = (murmur2((o.key or "").encode()) & 0x7FFFFFFF) % CELL_PARTITIONS
            to_cells.append(Record(o.topic, p, offsets[p], o.key, o.raw, o.headers, 0))
            offsets[p] += 1
        if to_cells:
            events.extend(cells.process(to_cells).outgoing)
    # Everything but the positions waiting for the watermark (since the cell stage's
    # timers, only those the rendezvous rule can use wait there) and the offsets (since
    # version 2 of the cell topic, one message per batch and partition).
    states = b"".join(
        encode_cell_state(msgspec.structs.replace(cells.states[p], pending=[], offsets={}))
        for p in range(CELL_PARTITIONS)
    )
    print(f"    cell stage's state at the end: sha256 {hashlib.sha256(states).hexdigest()[:16]}")
    return events


def digest(name: str, events: list[Outgoing]) -> None:
    blobs = []
    kinds: Counter[str] = Counter()
    for o in events:
        value, headers = o.encode("/lookout/fusion")
        blobs.append((value or b"") + repr(sorted(headers)).encode())
        payload = o.payload
        kinds[f"{getattr(payload, 'rule', '?')}/{getattr(payload, 'change', '?')}"] += 1
    ordered = hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in blobs)).hexdigest()
    unordered = hashlib.sha256(
        b"".join(sorted(hashlib.sha256(b).digest() for b in blobs))
    ).hexdigest()
    print(f"{name}: {len(events)} events, ordered {ordered[:16]}, as a set {unordered[:16]}")
    print("   ", ", ".join(f"{k.split('.')[-1]} {v}" for k, v in sorted(kinds.items())))


def scaled() -> FusionSettings:
    return FusionSettings(
        gap_s=30.0,
        loiter_min_s=30.0,
        rendezvous_min_s=30.0,
        rendezvous_max_distance_m=5000.0,
        rendezvous_min_shore_nm=0.0,
        rendezvous_max_fix_age_s=15.0,
        dark_target_window_s=20.0,
        dark_target_history_s=40.0,
        dark_target_sample_s=5.0,
        allowed_lateness_s=5.0,
        update_cooldown_s=10.0,
    )


async def scenario_input() -> tuple[list[Record], list[Geofence], list[WatchlistEntry]]:
    from ingest.scenario import build_scenario
    from tests.fusion.support import THRESHOLDS, scenario_records

    scenario = build_scenario(thresholds=THRESHOLDS)
    recs = await scenario_records(scenario)
    return recs, list(scenario.zones), list(scenario.watchlist)


def main(vessels: int = 10_000, per_vessel: int = 10, zones: int = 1000) -> None:
    from tests.fusion.support import scaled_settings

    rng = random.Random(7)
    bench = records(vessels, per_vessel, rng)
    bench_zones = make_zones(zones, rng)
    bench = with_sightings(bench, 997, random.Random(3))
    for name, settings in (
        ("default", FusionSettings()),
        ("scaled", scaled()),
        # Fixes older than the reporting interval: pairs part on the watermark.
        ("scaled, 8 s fix age", scaled().model_copy(update={"rendezvous_max_fix_age_s": 8.0})),
    ):
        digest(f"bench {name}", run(bench, settings, bench_zones, [], 5000))
    recs, scenario_zones, watchlist = asyncio.run(scenario_input())
    rng = random.Random(5)
    positions = [r for r in recs if r.topic == Topic.AIS_POSITIONS]
    sightings = with_sightings(positions[::40], 25, rng)
    extra = [r for r in sightings if r.topic == Topic.PATROL_REPORTS]
    stream = recs + extra  # sightings after the positions: dark targets judged on all
    for name, settings in (("default", FusionSettings()), ("tests' scaled", scaled_settings())):
        digest(f"scenario {name}", run(stream, settings, scenario_zones, watchlist, 300))


if __name__ == "__main__":
    typer.run(main)
