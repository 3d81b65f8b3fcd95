"""A real ``lookout fusion`` process killed with SIGKILL mid-replay and started again ends
with exactly the alerts of an uninterrupted run: the same alert ids and final states, the
same alert events (ce_ids), none missing, none doubled (a republished event is
byte-identical, so a receiver deduplicates it).

The command reads the default topic names, so it gets a Tansu of its own; the
uninterrupted run is an in-process instance on the same input under another group."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bus import BusSettings
from bus.kafka import KafkaBus
from fusion.cells.service import CellService
from fusion.processor import FusionTopics
from fusion.service import FusionService
from fusion.settings import FusionSettings
from fusion.tracks import decode_state
from ingest.scenario import build_scenario
from schemas.topics import Topic
from store.checkpoints import PostgresCheckpointStore
from store.db import connect
from tests.fusion.support import (
    THRESHOLDS,
    AlertWatch,
    publish_config,
    read_all,
    renamed,
    scaled_settings,
    scenario_records,
)
from tests.fusion.test_recovery import comparable_events, compare, drain, stop
from tests.store.support import wait_for
from tests.support.tansu import TansuBroker, free_port

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

LOOKOUT = Path(sys.executable).with_name("lookout")
GROUP = "fusion-under-test"


@pytest.fixture
def own_broker(tmp_path: Path, kafka_settings: BusSettings) -> Iterator[BusSettings]:
    if os.environ.get("LOOKOUT_KAFKA_BOOTSTRAP"):
        pytest.skip("the command reads the default topic names: it needs a broker of its own")
    broker = TansuBroker(tmp_path / "tansu.log")
    broker.start()
    try:
        yield kafka_settings.model_copy(update={"kafka_bootstrap": broker.bootstrap})
    finally:
        broker.stop()


def fusion_env(
    settings: FusionSettings, bus: BusSettings, db_url: str, ops_port: int
) -> dict[str, str]:
    env = {
        **os.environ,
        "LOOKOUT_BUS": "kafka",
        "LOOKOUT_KAFKA_BOOTSTRAP": bus.kafka_bootstrap,
        "LOOKOUT_KAFKA_IDEMPOTENCE": "false",
        "LOOKOUT_KAFKA_SESSION_TIMEOUT_MS": str(bus.kafka_session_timeout_ms),
        "LOOKOUT_KAFKA_HEARTBEAT_INTERVAL_MS": str(bus.kafka_heartbeat_interval_ms),
        "LOOKOUT_KAFKA_METADATA_REFRESH_MS": str(bus.kafka_metadata_refresh_ms),
        "LOOKOUT_DATABASE_URL": db_url,
        "LOOKOUT_OPS_HOST": "127.0.0.1",
        "LOOKOUT_OPS_PORT": str(ops_port),
    }
    for name, value in settings.model_dump().items():
        if isinstance(value, int | float | str):
            env[f"LOOKOUT_FUSION_{name.upper()}"] = str(value)
    return env


def start(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(LOOKOUT), "--log-json", "fusion"], env=env, stdout=out, stderr=out
        )


async def checkpointed_offsets(db_url: str, group: str = GROUP) -> dict[int, dict[str, int]]:
    """Per shard, the input offsets its latest checkpoint reflects."""
    conn = await connect(db_url)
    try:
        cur = await conn.execute(
            "SELECT shard, state FROM fusion_checkpoints WHERE group_id = %s", (group,)
        )
        return {shard: decode_state(bytes(state)).offsets for shard, state in await cur.fetchall()}
    finally:
        await conn.close()


async def caught_up(ops_port: int) -> bool:
    async with httpx.AsyncClient() as client:
        try:
            answer = await client.get(f"http://127.0.0.1:{ops_port}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
    fusion = [c for c in answer.json()["components"] if c["name"] == "fusion"]
    return bool(fusion and fusion[0]["facts"].get("caught_up"))


async def test_a_fusion_process_killed_mid_replay_restarts_without_loss_or_doubles(
    own_broker: BusSettings, db_url: str, tmp_path: Path
) -> None:
    scenario = build_scenario(thresholds=THRESHOLDS)
    records = await scenario_records(scenario)
    same = {Topic.AIS_POSITIONS.value: Topic.AIS_POSITIONS.value}
    same[Topic.AIS_STATIC.value] = Topic.AIS_STATIC.value
    # The second part is published only after the kill: the replay is surely mid-way.
    cut = len(records) * 3 // 5
    settings = scaled_settings(group=GROUP, batch_max_records=100, checkpoint_every_records=300)
    ops_port = free_port()
    env = fusion_env(settings, own_broker, db_url, ops_port)
    log = tmp_path / "fusion.log"
    checkpoints = PostgresCheckpointStore(db_url)
    reference_topics = FusionTopics(
        alerts=f"{Topic.FUSION_ALERTS.value}.reference",
        cells=f"{Topic.FUSION_CELLS.value}.reference",
    )
    process: subprocess.Popen[bytes] | None = None
    async with KafkaBus(own_broker, source="/lookout/ingest") as bus:
        reference_settings = scaled_settings(group="reference", cell_group="reference-cells")
        reference = FusionService(bus, reference_settings, checkpoints, topics=reference_topics)
        reference_cells = CellService(bus, reference_settings, checkpoints, topics=reference_topics)
        await bus.ensure_topics([Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.FUSION_ALERTS])
        await publish_config(bus, scenario, Topic.CONFIG_GEOFENCES, Topic.CONFIG_WATCHLIST)
        await bus.publish_many(renamed(records[:cut], same))
        try:
            async with AlertWatch(bus, Topic.FUSION_ALERTS) as watch:
                process = start(env, log)

                async def alerts_and_a_checkpoint() -> bool:
                    return bool(await watch.records()) and bool(await checkpointed_offsets(db_url))

                await wait_for(alerts_and_a_checkpoint, 60, "alerts and a checkpoint")
                process.send_signal(signal.SIGKILL)
                assert process.wait(10) == -signal.SIGKILL
                at_kill = len(await watch.records())
                checkpoint_at_kill = await checkpointed_offsets(db_url)

                await bus.publish_many(renamed(records[cut:], same))
                process = start(env, log)
                reference_tasks = [
                    asyncio.create_task(reference.run()),
                    asyncio.create_task(reference_cells.run()),
                ]
                try:
                    await drain([reference, reference_cells], reference_tasks)
                finally:
                    await stop(reference_tasks)
                reference_records = await read_all(bus, reference_topics.alerts)
                expected = comparable_events(reference_records)

                async def same_events_and_caught_up() -> bool:
                    events = comparable_events(await watch.records())
                    return events.keys() >= expected.keys() and await caught_up(ops_port)

                await wait_for(same_events_and_caught_up, 90, "the restarted process to finish")
                process.send_signal(signal.SIGTERM)
                assert process.wait(30) == 0
                recovered = list(await watch.records())
                final_checkpoint = await checkpointed_offsets(db_url)
        except BaseException:
            print(log.read_text()[-6000:])  # the processes' own story of what went wrong
            raise
        finally:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(10)
    await checkpoints.close()
    print(f"alert events before the kill: {at_kill}, at the end: {len(recovered)}")
    print(f"checkpoint at the kill: {checkpoint_at_kill}")
    assert 0 < at_kill < len(recovered)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    restored = [e for e in lines if e.get("event") == "partition assigned" and e["restored"]]
    assert restored, "the restarted process did not resume from a checkpoint"
    # Everything was applied, and the last checkpoints say so (both instances checkpoint
    # when they stop).
    assert final_checkpoint == await checkpointed_offsets(db_url, "reference")
    compare(reference_records, recovered)
