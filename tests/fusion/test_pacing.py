"""Event time, not the wall clock: the scenario's capture replayed through ``lookout
ingest``'s file source as fast as possible, and paced at 1000x into a fusion instance
reading live, raise the same alerts (ids, final states, events). Thresholds are scaled down
(``THRESHOLDS``) so the paced replay of the scenario's 28 minutes takes 1.7 seconds.

Ingest publishes to the default topic names, so each replay gets a Tansu of its own; the
two run side by side."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bus import BusSettings
from bus.base import Record, TopicPartition
from bus.kafka import KafkaBus
from fusion.cells.service import CellService
from fusion.cells.state import CellShardState
from fusion.checkpoint import MemoryCheckpointStore
from fusion.service import FusionService
from fusion.tracks import ShardState
from ingest.pipeline import run_ingest
from ingest.scenario import build_scenario
from ingest.settings import IngestSettings
from ingest.sources.file import FileSource
from schemas.alerts import AlertRule
from schemas.topics import Topic
from tests.fusion.support import (
    THRESHOLDS,
    alerts_of,
    publish_config,
    read_all,
    scaled_settings,
)
from tests.fusion.test_recovery import compare, drain, stop
from tests.support.tansu import TansuBroker

pytestmark = [pytest.mark.kafka]

PACE = 1000.0
"""Recorded time passes this many times faster than it did."""
LIVE = IngestSettings(batch_size=50, flush_interval_s=0.02)
"""Paced lines are published a few at a time, as from a live feed."""


@asynccontextmanager
async def own_broker(kafka_settings: BusSettings, log: Path) -> AsyncIterator[BusSettings]:
    broker = TansuBroker(log)
    broker.start()
    try:
        yield kafka_settings.model_copy(update={"kafka_bootstrap": broker.bootstrap})
    finally:
        broker.stop()


async def ends(bus: KafkaBus, topics: list[str]) -> dict[tuple[str, int], int]:
    """The next offset after the last record of every non-empty partition of ``topics``."""
    found: dict[tuple[str, int], int] = {}
    for topic in topics:
        for r in await read_all(bus, topic):
            found[r.topic_partition] = max(found.get(r.topic_partition, 0), r.offset + 1)
    return found


def reflected(
    states: Mapping[int, ShardState | CellShardState], end: Mapping[TopicPartition, int]
) -> bool:
    offsets = {(t, shard): o for shard, s in states.items() for t, o in s.offsets.items()}
    return all(offsets.get(tp, 0) >= offset for tp, offset in end.items())


async def settle(
    bus: KafkaBus, service: FusionService, cells: CellService, tasks: list[asyncio.Task[None]]
) -> None:
    """Both stages have applied every record and published what it led to. ``drained``
    alone rests on the high-water marks of the last fetch answer, which may predate the
    last publish (by up to a fetch wait): the states' offsets must reach the topics' ends
    too, the cell topic's read once the per-MMSI stage is done feeding it."""
    for stage, topics in (
        (service, [Topic.AIS_POSITIONS, Topic.AIS_STATIC]),
        (cells, [Topic.FUSION_CELLS]),
    ):
        end = await ends(bus, [str(t) for t in topics])
        states = service.fusion.states if stage is service else cells.cells.states
        deadline = time.monotonic() + 90
        while not (reflected(states, end) and await stage.drained()):
            for task in tasks:
                if task.done():
                    task.result()
            assert time.monotonic() < deadline, "fusion did not apply every record"
            await asyncio.sleep(0.05)


async def replay(
    settings: BusSettings, capture: Path, speed: float, group: str
) -> tuple[list[Record], int]:
    """Fusion's alert events for ``capture`` replayed at ``speed``, and how many batches
    fusion had applied when the replay ended (0: ingest first, as fast as possible, then
    fusion reads the backlog; otherwise fusion is reading before the first line is sent
    and takes the records as they come)."""
    scenario = build_scenario(thresholds=THRESHOLDS)
    async with KafkaBus(settings, source="/lookout/ingest") as bus:
        await publish_config(bus, scenario, Topic.CONFIG_GEOFENCES, Topic.CONFIG_WATCHLIST)
        await bus.ensure_topics([Topic.AIS_POSITIONS, Topic.AIS_STATIC])
        settings = scaled_settings(group=group)
        checkpoints = MemoryCheckpointStore()
        service = FusionService(bus, settings, checkpoints)
        # The cell stage too: a rendezvous's severity hangs on a ship type from ais.static.
        cells = CellService(bus, settings, checkpoints)
        source = FileSource(capture, speed=speed)
        live_batches = 0
        if speed == 0:
            await run_ingest(source, bus, IngestSettings())
        tasks = [asyncio.create_task(service.run()), asyncio.create_task(cells.run())]
        try:
            if speed > 0:
                # Reading (an empty input, to its end) before the first line is sent.
                await drain([service], tasks)
                await run_ingest(source, bus, LIVE)
                live_batches = service.batches
            await settle(bus, service, cells, tasks)
        finally:
            await stop(tasks)
        return await read_all(bus, Topic.FUSION_ALERTS), live_batches


async def test_a_replay_paced_at_1000x_raises_the_alerts_of_one_as_fast_as_possible(
    kafka_settings: BusSettings, tmp_path: Path
) -> None:
    if os.environ.get("LOOKOUT_KAFKA_BOOTSTRAP"):
        pytest.skip("ingest writes the default topic names: each replay needs a broker of its own")
    capture = tmp_path / "scenario.nmea"
    capture.write_bytes(b"\n".join(build_scenario(thresholds=THRESHOLDS).lines) + b"\n")
    async with (
        own_broker(kafka_settings, tmp_path / "fast.log") as fast_bus,
        own_broker(kafka_settings, tmp_path / "paced.log") as paced_bus,
    ):
        (fast, _), (paced, live_batches) = await asyncio.gather(
            replay(fast_bus, capture, 0, "fast"), replay(paced_bus, capture, PACE, "paced")
        )
    print(f"paced: {live_batches} batches applied while the replay was still going")
    assert any(a.rule is AlertRule.RENDEZVOUS for a in alerts_of(fast))
    assert any(
        a.rule is AlertRule.WATCHLIST and a.evidence.get("matched_field") == "name"
        for a in alerts_of(fast)
    )
    assert live_batches > 0  # the paced run was read live, not as a backlog
    compare(fast, paced)
