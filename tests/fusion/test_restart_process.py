"""A real ``lookout fusion`` process killed with SIGKILL mid-replay and started again ends
with exactly the alerts of an uninterrupted run: the same alert ids and final states, the
same alert events (ce_ids), none missing, none doubled (a republished event is
byte-identical, so a receiver deduplicates it).

Both stages run in the process: the per-MMSI one and the cell stage (rendezvous, dark
target), each killed between checkpoints and resumed from its own. The command reads the
default topic names, so it gets a Tansu of its own; the uninterrupted run is an in-process
instance of both stages on the same input under other groups."""

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
from bus.base import Outgoing, Record
from bus.kafka import KafkaBus
from fusion.cells.service import CellService
from fusion.cells.state import decode_cell_state
from fusion.processor import FusionTopics
from fusion.service import FusionService
from fusion.settings import FusionSettings
from fusion.tracks import decode_state
from ingest.scenario import build_scenario
from schemas.alerts import AlertRule
from schemas.topics import Topic
from store.checkpoints import PostgresCheckpointStore
from store.db import connect
from tests.fusion.support import (
    THRESHOLDS,
    AlertWatch,
    alerts_of,
    dark_sighting,
    final_states,
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
CELL_GROUP = "fusion-cells-under-test"


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


async def checkpointed_offsets(
    db_url: str, group: str = GROUP, *, cells: bool = False
) -> dict[int, dict[str, int]]:
    """Per shard, the input offsets its latest checkpoint reflects (``cells``: a group of
    the cell stage)."""
    decode = decode_cell_state if cells else decode_state
    conn = await connect(db_url)
    try:
        cur = await conn.execute(
            "SELECT shard, state FROM fusion_checkpoints WHERE group_id = %s", (group,)
        )
        return {shard: decode(bytes(state)).offsets for shard, state in await cur.fetchall()}
    finally:
        await conn.close()


async def caught_up(ops_port: int) -> bool:
    """Both stages have applied every record fetched and published its alerts."""
    async with httpx.AsyncClient() as client:
        try:
            answer = await client.get(f"http://127.0.0.1:{ops_port}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
    facts = {c["name"]: c.get("facts", {}) for c in answer.json()["components"]}
    return all(facts.get(stage, {}).get("caught_up") for stage in ("fusion", "fusion-cells"))


def with_sightings(records: list[Record], cut: int) -> list[Outgoing]:
    """The scenario's records onto the default topics, with a dark sighting in the middle
    of each part (one for the killed process, one for its successor)."""
    same = {Topic.AIS_POSITIONS.value: Topic.AIS_POSITIONS.value}
    same[Topic.AIS_STATIC.value] = Topic.AIS_STATIC.value
    out = renamed(records, same)
    for at in sorted([cut // 2, cut + (len(records) - cut) // 2], reverse=True):
        position = next(r for r in records[at:] if r.topic == Topic.AIS_POSITIONS.value)
        report = dark_sighting(position)
        out.insert(at, Outgoing(Topic.PATROL_REPORTS.value, str(report.report_id), report))
    return out


async def test_a_fusion_process_killed_mid_replay_restarts_without_loss_or_doubles(
    own_broker: BusSettings, db_url: str, tmp_path: Path
) -> None:
    scenario = build_scenario(thresholds=THRESHOLDS)
    records = await scenario_records(scenario)
    # The second part is published only after the kill: the replay is surely mid-way.
    cut = len(records) * 3 // 5
    outgoing = with_sightings(records, cut)
    cut += 1  # the first sighting
    settings = scaled_settings(
        group=GROUP, cell_group=CELL_GROUP, batch_max_records=100, checkpoint_every_records=300
    )
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
        await bus.ensure_topics(
            [Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.PATROL_REPORTS, Topic.FUSION_ALERTS]
        )
        await publish_config(bus, scenario, Topic.CONFIG_GEOFENCES, Topic.CONFIG_WATCHLIST)
        await bus.publish_many(outgoing[:cut])
        try:
            async with AlertWatch(bus, Topic.FUSION_ALERTS) as watch:
                process = start(env, log)

                async def alerts_and_checkpoints() -> bool:
                    return (
                        bool(await watch.records())
                        and bool(await checkpointed_offsets(db_url))
                        and bool(await checkpointed_offsets(db_url, CELL_GROUP, cells=True))
                    )

                await wait_for(alerts_and_checkpoints, 60, "alerts and both stages' checkpoints")
                process.send_signal(signal.SIGKILL)
                assert process.wait(10) == -signal.SIGKILL
                at_kill = len(await watch.records())
                checkpoint_at_kill = await checkpointed_offsets(db_url)

                await bus.publish_many(outgoing[cut:])
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
                expected_states = final_states(alerts_of(reference_records))
                # The comparison covers the cell stage: its alerts are in it.
                rules = {a.rule for a in alerts_of(reference_records)}
                assert {AlertRule.RENDEZVOUS, AlertRule.DARK_TARGET} <= rules, rules

                async def same_events_and_caught_up() -> bool:
                    found = await watch.records()
                    return (
                        comparable_events(found).keys() >= expected.keys()
                        and final_states(alerts_of(found)) == expected_states
                        and await caught_up(ops_port)
                    )

                try:
                    await wait_for(same_events_and_caught_up, 90, "the restarted process to finish")
                except AssertionError:
                    compare(reference_records, await watch.records())  # says what differs
                    raise
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
    for stage in ("partition assigned", "cell partition assigned"):
        restored = [e for e in lines if e.get("event") == stage and e["restored"]]
        assert restored, f"the restarted process did not resume from a checkpoint ({stage})"
    # Everything was applied, and the last checkpoints say so (both instances checkpoint
    # when they stop).
    assert final_checkpoint == await checkpointed_offsets(db_url, "reference")
    compare(reference_records, recovered)
