"""Alert latency through the real fusion loops (both stages, as `lookout fusion` runs
them): from a position's or a sighting's arrival on the bus to the publication of the
alert it raises, p50 / p99, with positions arriving at a steady rate (default 5,000/s) on
the memory bus, pinned to one core. Beside it, in the same run, the floor: the same feed
through a loop that only reads each batch and republishes its trigger records (the bus
and the batching, no fusion). Prints what it measured; never a test.

    .venv/bin/python bench/fusion/bench_latency.py [--rate 5000] [--seconds 20]

The feed: ``--vessels`` vessels around Java and Bali, each reporting in turn, with event
times that follow the wall clock (so the watermark moves as in a live feed), against
``--zones`` zones. Every ``--trigger-every`` positions a watchlisted MMSI (an exact MMSI
entry) reports for the first time: the per-MMSI stage opens its watchlist alert on that
position. Every ``--sighting-every`` positions a patrol reports a sighting where no vessel
is: it goes through the per-MMSI stage to the cell stage, which opens a dark-target alert
the moment it arrives.
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fusion.bench_fusion import SHIP, SOUTH, WEST, make_zones
from bus.base import Outgoing, Record
from bus.memory import MemoryBus
from fusion.cells.service import CellService
from fusion.checkpoint import MemoryCheckpointStore
from fusion.service import FusionService
from fusion.settings import FusionSettings
from schemas.ais import PositionReport
from schemas.alerts import Alert, AlertChange, AlertRule
from schemas.config import WatchlistEntry
from schemas.patrol import PatrolReport, ReporterKind
from schemas.topics import Topic

console = Console()
WATCHED_BASE = 525_900_000
ECHO_TOPIC = "bench.echo"
TICK_S = 0.005
"""The feed publishes a slice every 5 ms (a receiver network delivers in small bursts)."""


@dataclass
class Feed:
    """Pre-encoded position records (and sightings) and which of them are triggers
    (index -> MMSI, or the report id of a sighting)."""

    messages: list[Outgoing]
    triggers: dict[int, int | str]


@dataclass
class Timings:
    played_s: float = 0.0
    """How long handing every position to the bus took (the achieved rate)."""
    cpu_share: float = 0.0
    """CPU time of this process (feed, bus and loop) over wall time while playing."""
    arrived: dict[int | str, float] = field(default_factory=dict)
    """Trigger (MMSI or report id) -> when it was handed to the bus (perf_counter)."""
    published: dict[int | str, float] = field(default_factory=dict)
    """Trigger -> when the alert (or echo) carrying it was handed to the bus."""

    def latencies_ms(self, kind: type) -> list[float]:
        return sorted(
            (self.published[m] - t) * 1000
            for m, t in self.arrived.items()
            if m in self.published and isinstance(m, kind)
        )


def build_feed(
    count: int, vessels: int, trigger_every: int, rate: float, sighting_every: int
) -> Feed:
    rng = random.Random(11)
    start = datetime.now(UTC)
    places = [(rng.uniform(SOUTH, SOUTH + 8), rng.uniform(WEST, WEST + 20)) for _ in range(vessels)]
    messages: list[Outgoing] = []
    triggers: dict[int, int | str] = {}
    for i in range(count):
        if sighting_every and i % sighting_every == sighting_every // 2:
            # Half a degree south of every vessel: a dark target.
            report = PatrolReport(
                report_id=uuid.UUID(int=rng.getrandbits(128)),
                agency="BENCH",
                reporter_kind=ReporterKind.PATROL_VESSEL,
                observed_at=start + timedelta(seconds=i / rate),
                received_at=start + timedelta(seconds=i / rate),
                lat=SOUTH - 0.5,
                lon=rng.uniform(WEST, WEST + 20),
            )
            key = str(report.report_id)
            value, headers = Outgoing(Topic.PATROL_REPORTS, key, report).encode("/bench")
            triggers[len(messages)] = key
            messages.append(
                Outgoing(Topic.PATROL_REPORTS, key, None, headers=tuple(headers), raw=value)
            )
        if i % trigger_every == trigger_every - 1:
            mmsi = WATCHED_BASE + i
            lat, lon = rng.uniform(SOUTH, SOUTH + 8), rng.uniform(WEST, WEST + 20)
            triggers[len(messages)] = mmsi
        else:
            v = i % vessels
            mmsi = 525_000_000 + v
            lat, lon = places[v]
            places[v] = (lat, lon + 0.0001)
        event = PositionReport(
            mmsi=mmsi,
            msg_type=1,
            event_time=start + timedelta(seconds=i / rate),
            lat=lat,
            lon=lon,
            speed_kn=8.0,
            source="bench",
            station="rx",
            mmsi_info=SHIP,
        )
        value, headers = Outgoing(Topic.AIS_POSITIONS, str(mmsi), event).encode("/bench")
        messages.append(
            Outgoing(Topic.AIS_POSITIONS, str(mmsi), None, headers=tuple(headers), raw=value)
        )
    return Feed(messages, triggers)


async def play(bus: MemoryBus, feed: Feed, rate: float, timings: Timings) -> None:
    """Hand the records to the bus at ``rate`` per second, in slices every ``TICK_S``."""
    started, cpu = time.perf_counter(), time.process_time()
    sent = 0
    while sent < len(feed.messages):
        due = min(len(feed.messages), int((time.perf_counter() - started) * rate) + 1)
        if due > sent:
            now = time.perf_counter()
            for i in range(sent, due):
                mmsi = feed.triggers.get(i)
                if mmsi is not None:
                    timings.arrived[mmsi] = now
            await bus.publish_many(feed.messages[sent:due])
            sent = due
        await asyncio.sleep(TICK_S)
    timings.played_s = time.perf_counter() - started
    timings.cpu_share = (time.process_time() - cpu) / timings.played_s


def timed_publish(bus: MemoryBus, timings: Timings) -> None:
    """Note when each opened watchlist alert (or echo) is handed to the bus."""
    publish_many = bus.publish_many

    async def publish(messages: Sequence[Outgoing]) -> None:
        await publish_many(messages)
        now = time.perf_counter()
        for m in messages:
            payload = m.payload
            if isinstance(payload, Alert) and payload.change is AlertChange.OPENED:
                if payload.rule is AlertRule.WATCHLIST:
                    timings.published.setdefault(payload.mmsis[0], now)
                elif payload.rule is AlertRule.DARK_TARGET:
                    timings.published.setdefault(payload.evidence["report_id"], now)  # type: ignore[arg-type]
            elif m.topic == ECHO_TOPIC and m.key is not None:
                timings.published.setdefault(int(m.key) if m.key.isdigit() else m.key, now)

    bus.publish_many = publish  # type: ignore[method-assign]


async def new_bus(zones: int) -> MemoryBus:
    bus = MemoryBus(source="/lookout/bench")
    await bus.start()
    await bus.ensure_topics([*list(Topic), ECHO_TOPIC])
    rng = random.Random(7)
    await bus.publish_many(
        [Outgoing(Topic.CONFIG_GEOFENCES, z.geofence_id, z) for z in make_zones(zones, rng)]
    )
    return bus


async def run_fusion(feed: Feed, rate: float, zones: int, settings: FusionSettings) -> Timings:
    bus = await new_bus(zones)
    entries = [
        WatchlistEntry(entry_id=f"w{m}", mmsi=m, reason="bench", updated_at=datetime.now(UTC))
        for m in feed.triggers.values()
        if isinstance(m, int)
    ]
    await bus.publish_many([Outgoing(Topic.CONFIG_WATCHLIST, e.entry_id, e) for e in entries])
    timings = Timings()
    timed_publish(bus, timings)
    checkpoints = MemoryCheckpointStore()
    service = FusionService(bus, settings, checkpoints)
    cells = CellService(bus, settings, checkpoints)
    tasks = [asyncio.create_task(service.run()), asyncio.create_task(cells.run())]
    await until(lambda: bool(service.fusion.states), "fusion's partitions assigned")
    deadline = time.monotonic() + 60.0
    while not await cells.drained():  # assigned, polled, nothing to read
        if time.monotonic() > deadline:
            raise TimeoutError("the cell stage's partitions not assigned within 60s")
        await asyncio.sleep(0.01)
    await play(bus, feed, rate, timings)
    await until(lambda: len(timings.published) >= len(feed.triggers), "every alert published")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await bus.stop()
    return timings


async def run_echo(feed: Feed, rate: float, settings: FusionSettings) -> Timings:
    """The floor: read batches as fusion does, republish the trigger records."""
    bus = await new_bus(0)
    timings = Timings()
    timed_publish(bus, timings)
    watched = {str(t) for t in feed.triggers.values()}
    sub = bus.subscribe([Topic.AIS_POSITIONS, Topic.PATROL_REPORTS], group="echo")

    async def loop() -> None:
        async with sub:
            while True:
                records: list[Record] = await sub.getmany(
                    max_records=settings.batch_max_records, timeout_s=settings.poll_timeout_s
                )
                echo = [
                    Outgoing(ECHO_TOPIC, r.key, None, raw=r.value)
                    for r in records
                    if r.key is not None and r.key in watched
                ]
                if echo:
                    await bus.publish_many(echo)
                await sub.commit(records)

    task = asyncio.create_task(loop())
    await sub.wait_assigned()
    await play(bus, feed, rate, timings)
    await until(lambda: len(timings.published) >= len(feed.triggers), "every echo published")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await bus.stop()
    return timings


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not {what} within {timeout_s}s")
        await asyncio.sleep(0.01)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


def main(
    rate: float = 5000.0,
    seconds: float = 20.0,
    vessels: int = 10_000,
    zones: int = 1000,
    trigger_every: int = 50,
    sighting_every: int = 500,
) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1 % (os.cpu_count() or 1)})
    console.print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} cores, pinned to core {sorted(os.sched_getaffinity(0))}"
    )
    count = int(rate * seconds)
    feed = build_feed(count, vessels, trigger_every, rate, sighting_every)
    settings = FusionSettings()
    table = Table(
        "loop", "positions", "achieved/s", "CPU", "alerts", "p50 ms", "p90 ms", "p99 ms", "max ms"
    )
    for name, run in (
        ("floor: read each batch, republish triggers", run_echo(feed, rate, settings)),
        (
            f"fusion, both stages: {vessels:,} vessels, {zones:,} zones, every detector",
            run_fusion(feed, rate, zones, settings),
        ),
    ):
        timings = asyncio.run(run)
        for what, kind in (("watchlist (per-MMSI stage)", int), ("dark target (both)", str)):
            found = timings.latencies_ms(kind)
            expected = sum(isinstance(t, kind) for t in feed.triggers.values())
            if len(found) < expected:
                console.print(f"[red]{name}, {what}: {expected - len(found)} alerts missing")
            table.add_row(
                f"{name}: {what}",
                f"{count:,}",
                f"{count / timings.played_s:,.0f}",
                f"{timings.cpu_share:.0%}",
                f"{len(found):,}",
                f"{percentile(found, 50):.1f}",
                f"{percentile(found, 90):.1f}",
                f"{percentile(found, 99):.1f}",
                f"{found[-1]:.1f}",
            )
    console.print(table)
    console.print(
        f"settings: batch_max_records {settings.batch_max_records}, "
        f"poll_timeout_s {settings.poll_timeout_s}, "
        f"checkpoint_every_records {settings.checkpoint_every_records}"
    )


if __name__ == "__main__":
    typer.run(main)
