"""Fusion's processing order is a function of the data, not of how fetches interleave: the
scenario read in small micro-batches and read in one go raise byte-identical alert events,
name-matched watchlist and rendezvous alerts included (a name and a ship type come on
``ais.static``).

Before the capture, harbour craft that send only static reports (a busy port's type 5
traffic) fill ``ais.static``: the memory bus serves each partition a fair share of a
batch, so in small batches the scenario's first positions are fetched long before its
vessels' static reports, as happens on Kafka when one topic's fetch answer lags."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pyais
import pytest
from structlog.testing import capture_logs

from bus.base import Record
from bus.memory import MemoryBus
from fusion.cells.service import CellService
from fusion.checkpoint import MemoryCheckpointStore
from fusion.service import FusionService
from ingest.scenario import Scenario, build_scenario, tagged
from schemas.alerts import AlertRule
from schemas.topics import Topic
from tests.fusion.support import (
    THRESHOLDS,
    alerts_of,
    feed,
    publish_config,
    read_all,
    scaled_settings,
    wait_drained,
)
from tests.fusion.test_recovery import compare


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return build_scenario(thresholds=THRESHOLDS)


HARBOUR_CRAFT = 300


def harbour_statics(scenario: Scenario) -> list[bytes]:
    """Static reports only, a minute before the scenario starts (craft that stay silent)."""
    t = scenario.start.timestamp() - 60
    lines: list[bytes] = []
    for i in range(HARBOUR_CRAFT):
        sentences = pyais.encode_dict(
            {"type": 5, "mmsi": 525_950_000 + i, "shipname": f"HARBOUR CRAFT {i}", "ship_type": 52},
            talker_id="AI",
            sentence_type="VDM",
            seq_id=i % 10,
        )
        lines.extend(tagged(s, t, "rx-a") for s in sentences)
    return lines


async def alert_events(
    scenario: Scenario, batch_max_records: int, **settings: object
) -> list[Record]:
    bus = MemoryBus(source="/lookout/fusion")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    await publish_config(bus, scenario, Topic.CONFIG_GEOFENCES, Topic.CONFIG_WATCHLIST)
    await feed(bus, [*harbour_statics(scenario), *scenario.lines], scenario.end)
    chosen = scaled_settings(batch_max_records=batch_max_records, **settings)
    checkpoints = MemoryCheckpointStore()
    services: Sequence[FusionService | CellService] = (
        FusionService(bus, chosen, checkpoints),
        CellService(bus, chosen, checkpoints),
    )
    tasks = [asyncio.create_task(s.run()) for s in services]
    try:
        for service in services:
            await wait_drained(service)
        return await read_all(bus, Topic.FUSION_ALERTS)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await bus.stop()


async def test_small_micro_batches_raise_the_events_of_one_batch(scenario: Scenario) -> None:
    whole = await alert_events(scenario, batch_max_records=100_000)
    small = await alert_events(scenario, batch_max_records=60)
    alerts = alerts_of(whole)
    # The alerts whose events hang on a static report are among those compared.
    assert any(a.rule is AlertRule.RENDEZVOUS for a in alerts)
    assert any(
        a.rule is AlertRule.WATCHLIST and a.evidence.get("matched_field") == "name" for a in alerts
    )
    compare(whole, small)


async def test_an_input_far_ahead_is_paused_while_it_waits_and_nothing_changes(
    scenario: Scenario,
) -> None:
    """The positions wait for the harbour craft's static reports; with room for 20 held
    records per partition their fetching pauses (bounded memory) and resumes, and the
    events are still those of one batch."""
    whole = await alert_events(scenario, batch_max_records=100_000)
    with capture_logs() as logs:
        paced = await alert_events(scenario, batch_max_records=60, held_max_records=20)
    assert any(e["event"] == "input paused: waiting for another input" for e in logs)
    compare(whole, paced)
