"""Recovery on Tansu and PostgreSQL: a fusion instance that dies between publishing and
checkpointing, and its successor, end with exactly the alerts of an uninterrupted run:
same ids, same final states, no event that the uninterrupted run did not publish (a
republished event is byte-identical, so receivers deduplicate it)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

import pytest

from bus import BusSettings
from bus.base import Record
from bus.kafka import KafkaBus
from fusion.cells.service import CellService
from fusion.processor import FusionTopics
from fusion.service import FusionService
from ingest.scenario import build_scenario
from schemas.alerts import AlertRule
from schemas.topics import Topic
from store.checkpoints import PostgresCheckpointStore
from tests.fusion.support import (
    THRESHOLDS,
    alerts_of,
    final_states,
    publish_config,
    read_all,
    renamed,
    scaled_settings,
    scenario_records,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


class SimulatedCrash(RuntimeError):
    """The process dies here: alerts published, state not yet checkpointed."""


def topics_for(unique: str, alerts: str) -> FusionTopics:
    return FusionTopics(
        positions=f"{Topic.AIS_POSITIONS.value}.{unique}",
        static=f"{Topic.AIS_STATIC.value}.{unique}",
        geofences=f"{Topic.CONFIG_GEOFENCES.value}.{unique}",
        watchlist=f"{Topic.CONFIG_WATCHLIST.value}.{unique}",
        alerts=f"{Topic.FUSION_ALERTS.value}.{unique}.{alerts}",
        cells=f"{Topic.FUSION_CELLS.value}.{unique}.{alerts}",
    )


async def prepare(bus: KafkaBus, unique: str) -> None:
    scenario = build_scenario(thresholds=THRESHOLDS)
    topics = topics_for(unique, "x")
    await bus.ensure_topics([topics.positions, topics.static, topics.geofences, topics.watchlist])
    await publish_config(bus, scenario, topics.geofences, topics.watchlist)
    names = {Topic.AIS_POSITIONS.value: topics.positions, Topic.AIS_STATIC.value: topics.static}
    await bus.publish_many(renamed(await scenario_records(scenario), names))


def distinct_events(records: Sequence[Record]) -> dict[tuple[str | None, bytes], bytes | None]:
    """(alert id, ce_id) -> value; a republished event must have the same bytes."""
    events: dict[tuple[str | None, bytes], bytes | None] = {}
    for r in records:
        ce_id = dict(r.headers)["ce_id"]
        key = (r.key, ce_id)
        assert events.setdefault(key, r.value) == r.value, f"event {key} republished changed"
        events[key] = r.value
    return events


async def until(
    condition: Callable[[], bool],
    tasks: Sequence[asyncio.Task[None]],
    what: str,
    timeout_s: float = 60,
) -> None:
    """Wait for ``condition``; a service task that ended meanwhile says why."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        for task in tasks:
            if task.done():
                task.result()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def drain(
    services: Sequence[FusionService | CellService],
    tasks: Sequence[asyncio.Task[None]],
    timeout_s: float = 90,
) -> None:
    deadline = time.monotonic() + timeout_s
    while not (all([await s.drained() for s in services]) and await cells_read_to_end(services)):
        for task in tasks:
            if task.done():
                task.result()
        assert time.monotonic() < deadline, "fusion did not drain"
        await asyncio.sleep(0.05)


async def cells_read_to_end(services: Sequence[FusionService | CellService]) -> bool:
    """The cell stages' states reflect every record on their topic. A consumer's lag comes
    from its last fetch response, so a cell stage can look drained while the per-MMSI stage
    has just published its last records (seen: a reference run stopped before the cell
    records of its last sightings). Asked once the per-MMSI stages are drained too: they
    publish nothing more then."""
    cell_stages = [s for s in services if isinstance(s, CellService)]
    if not cell_stages:
        return True
    topic = cell_stages[0].topics.cells
    ends = {r.partition: r.offset + 1 for r in await read_all(cell_stages[0].bus, topic)}
    done = {p: st.offsets.get(topic, 0) for s in cell_stages for p, st in s.cells.states.items()}
    return all(done.get(p, 0) >= end for p, end in ends.items())


async def stop(tasks: Sequence[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_to_end(services: list[FusionService | CellService], timeout_s: float = 90) -> None:
    tasks = [asyncio.create_task(s.run()) for s in services]
    try:
        await drain(services, tasks, timeout_s)
    finally:
        await stop(tasks)


def comparable_events(records: Sequence[Record]) -> dict[tuple[str | None, bytes], bytes | None]:
    """``distinct_events`` of every alert, name-matched watchlist and rendezvous alerts
    included (fusion applies its inputs in event-time order: ``fusion.ordering``), with a
    dark target's events kept by id without their bytes: its evidence says whether the
    cell's AIS history reached back a whole window when the sighting arrived, which
    depends on how far the other partitions' positions had come by then (it is judged the
    moment it arrives, by design)."""
    dark = {
        r.key
        for r, a in zip(records, alerts_of(records), strict=True)
        if a.rule is AlertRule.DARK_TARGET
    }
    return {k: None if k[0] in dark else v for k, v in distinct_events(records).items()}


def compare(reference: Sequence[Record], recovered: Sequence[Record]) -> None:
    assert final_states(alerts_of(reference)) == final_states(alerts_of(recovered))
    assert comparable_events(reference) == comparable_events(recovered)


async def test_an_instance_dying_before_its_checkpoint_resumes_without_loss_or_doubles(
    kafka_settings: BusSettings, db_url: str, unique: str
) -> None:
    checkpoints = PostgresCheckpointStore(db_url)
    async with KafkaBus(kafka_settings, source="/lookout/fusion") as bus:
        await prepare(bus, unique)
        plain = topics_for(unique, "plain")
        await run_to_end(
            [
                FusionService(
                    bus, scaled_settings(group=f"plain-{unique}"), checkpoints, topics=plain
                )
            ]
        )
        reference = await read_all(bus, plain.alerts)

        crashing = topics_for(unique, "crash")
        batches = 0

        async def crash_on_sixth_batch(records: Sequence[Record]) -> None:
            nonlocal batches
            batches += 1
            if batches == 6:
                raise SimulatedCrash

        settings = scaled_settings(group=f"crash-{unique}", checkpoint_every_records=700)
        first = FusionService(
            bus, settings, checkpoints, topics=crashing, after_publish=crash_on_sixth_batch
        )
        with pytest.raises(SimulatedCrash):
            await first.run()
        second = FusionService(bus, settings, checkpoints, topics=crashing)
        await run_to_end([second])
        recovered = await read_all(bus, crashing.alerts)
    await checkpoints.close()
    assert batches == 6
    compare(reference, recovered)


async def test_a_second_instance_joining_mid_replay_changes_nothing(
    kafka_settings: BusSettings, db_url: str, unique: str
) -> None:
    """The rebalance happens while the first instance is busy: batches in flight while
    partitions are revoked and while the new owner loads their checkpoints, in both stages
    (per MMSI and per grid cell, each its own group). Before the fix of the per-MMSI stage
    (fusion.ownership: ownership and checkpoint loads under the batch lock) about one run
    in three ended with one alert event more or fewer than the uninterrupted run. At the
    end every partition of each stage has exactly one owner: an instance that applied a
    batch fetched before its partitions were revoked took a revoked shard back (its stale
    state checkpointed over the new owner's)."""
    checkpoints = PostgresCheckpointStore(db_url)
    # Another process would have its own connection to the same checkpoint table.
    other_store = PostgresCheckpointStore(db_url)
    async with KafkaBus(kafka_settings, source="/lookout/fusion") as bus:
        await prepare(bus, unique)
        plain = topics_for(unique, "plain")
        alone = scaled_settings(group=f"plain-{unique}", cell_group=f"plain-cells-{unique}")
        await run_to_end(
            [
                FusionService(bus, alone, checkpoints, topics=plain),
                CellService(bus, alone, checkpoints, topics=plain),
            ]
        )
        reference = await read_all(bus, plain.alerts)

        shared = topics_for(unique, "shared")
        joined = asyncio.Event()

        async def slow_until_joined(records: Sequence[Record]) -> None:
            # A slow consumer (not a wait for a condition): the replay must still be going
            # while the second instance joins, which on Tansu takes seconds.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(joined.wait(), 0.3)

        settings = scaled_settings(
            group=f"shared-{unique}", cell_group=f"shared-cells-{unique}", batch_max_records=100
        )
        first = FusionService(
            bus, settings, checkpoints, topics=shared, after_publish=slow_until_joined
        )
        first_cells = CellService(
            bus, settings, checkpoints, topics=shared, after_publish=slow_until_joined
        )
        second = FusionService(bus, settings, other_store, topics=shared)
        second_cells = CellService(bus, settings, other_store, topics=shared)
        tasks = [asyncio.create_task(first.run()), asyncio.create_task(first_cells.run())]
        try:
            await until(
                lambda: first.batches >= 3 and first_cells.batches >= 3,
                tasks,
                "the first instance to be busy in both stages",
            )
            tasks += [asyncio.create_task(second.run()), asyncio.create_task(second_cells.run())]
            await until(
                lambda: (
                    bool(second.fusion.states and second_cells.cells.states) and first.batches > 3
                ),
                tasks,
                "the second instance to take partitions of both stages over",
            )
            joined.set()
            assert set(first.fusion.states).isdisjoint(second.fusion.states)
            assert set(first_cells.cells.states).isdisjoint(second_cells.cells.states)
            await drain([first, first_cells, second, second_cells], tasks)
            owners: list[tuple[str, set[int], set[int]]] = [
                (shared.positions, set(first.fusion.states), set(second.fusion.states)),
                (shared.cells, set(first_cells.cells.states), set(second_cells.cells.states)),
            ]
            for topic, one, other in owners:
                assert one.isdisjoint(other), f"{topic}: shards owned twice"
                assert one | other == set(range(await bus.partition_count(topic)))
        finally:
            joined.set()
            await stop(tasks)
        recovered = await read_all(bus, shared.alerts)
    await checkpoints.close()
    await other_store.close()
    assert first.batches > 3 and second.batches > 0 and second_cells.batches > 0
    assert AlertRule.RENDEZVOUS in {a.rule for a in alerts_of(reference)}  # the cell stage's
    compare(reference, recovered)
