"""The generated scenario through ingest and fusion on the memory bus: every behaviour
raises exactly its alert, every near miss and all normal traffic stays silent."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bus.base import Outgoing
from bus.memory import MemoryBus
from fusion.cells.service import CellService
from fusion.checkpoint import MemoryCheckpointStore
from fusion.service import FusionService
from ingest.scenario import build_scenario
from schemas.alerts import AlertChange, AlertRule
from schemas.envelope import CloudEventAttributes
from schemas.topics import Topic
from tests.fusion.support import (
    THRESHOLDS,
    alerts_of,
    feed,
    final_states,
    publish_config,
    read_all,
    scaled_settings,
    wait_drained,
)


@pytest.fixture(scope="module")
def scenario():  # type: ignore[no-untyped-def]
    return build_scenario(thresholds=THRESHOLDS)


async def run_scenario(scenario, settings=None, sightings=()):  # type: ignore[no-untyped-def]
    """The scenario through both stages; ``sightings`` go to patrol.reports once the
    positions are in (a sighting is judged when it arrives)."""
    bus = MemoryBus(source="/lookout/fusion")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    await publish_config(bus, scenario, Topic.CONFIG_GEOFENCES, Topic.CONFIG_WATCHLIST)
    await feed(bus, scenario.lines, scenario.end)
    settings = settings or scaled_settings()
    checkpoints = MemoryCheckpointStore()
    service = FusionService(bus, settings, checkpoints)
    cells = CellService(bus, settings, checkpoints)
    tasks = [asyncio.create_task(service.run()), asyncio.create_task(cells.run())]
    try:
        await wait_drained(service)
        await wait_drained(cells)
        if sightings:
            await bus.publish_many(
                [Outgoing(Topic.PATROL_REPORTS, str(r.report_id), r) for r in sightings]
            )
            await wait_drained(service)
            await wait_drained(cells)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return await read_all(bus, Topic.FUSION_ALERTS)


async def test_each_behaviour_raises_its_alert_and_nothing_else(scenario) -> None:  # type: ignore[no-untyped-def]
    records = await run_scenario(scenario)
    alerts = alerts_of(records)
    for a in alerts:
        print(a.rule.value, a.change.value, a.subject, a.title, a.started_at, a.updated_at)
    opened = {(a.rule, a.mmsis[0]) for a in alerts if a.change is AlertChange.OPENED}
    expected = {(e.rule, e.mmsi) for e in scenario.expected}
    assert opened == expected
    # One alert per condition: exactly one 'opened' per alert id.
    counts = Counter(a.alert_id for a in alerts if a.change is AlertChange.OPENED)
    assert set(counts.values()) == {1}
    closed = {(a.rule, a.mmsis[0]) for a in alerts if a.change is AlertChange.CLOSED}
    assert closed == {(e.rule, e.mmsi) for e in scenario.expected if e.closed}
    near = set(scenario.near_misses)
    assert not [a for a in alerts if set(a.mmsis) & near]
    pairs = set(scenario.pair_misses)
    assert not [a for a in alerts if a.rule is AlertRule.RENDEZVOUS and set(a.mmsis) & pairs]
    # Hard normal traffic (at anchor with GPS noise, slow in a separation scheme, a
    # receiver outage) raises nothing.
    assert set(scenario.hard_normal.values()) == {
        "silenced by a receiver outage",
        "at anchor with GPS noise",
        "slow in a separation scheme",
    }
    assert not [a for a in alerts if set(a.mmsis) & set(scenario.hard_normal)]
    # Every event is a valid CloudEvent whose id derives from the alert, change and time.
    for record in records:
        attributes = CloudEventAttributes.from_headers(record.headers)
        assert attributes.type == "lookout.fusion.alert.v1"
        assert attributes.source == "/lookout/fusion"


async def test_evidence_says_what_a_watch_officer_needs(scenario) -> None:  # type: ignore[no-untyped-def]
    alerts = alerts_of(await run_scenario(scenario))
    gap = next(a for a in alerts if a.rule is AlertRule.AIS_GAP and a.change is AlertChange.CLOSED)
    assert gap.evidence["gap_s"] == pytest.approx(THRESHOLDS.gap_s * 1.5, abs=THRESHOLDS.step_s)
    assert float(gap.evidence["distance_nm"]) > 0  # type: ignore[arg-type]
    watch = next(a for a in alerts if a.rule is AlertRule.WATCHLIST and a.mmsis == [525_400_002])
    assert watch.evidence["matched_field"] == "name"
    assert watch.evidence["score"] == 100.0
    enter = next(a for a in alerts if a.rule is AlertRule.GEOFENCE_ENTER)
    assert enter.geofence_id == "scenario-restricted" and "Scenario restricted area" in enter.title
    jump = next(a for a in alerts if a.rule is AlertRule.SPOOFING)
    assert float(jump.evidence["implied_speed_kn"]) > 50  # type: ignore[arg-type]
    # The rendezvous pair straddles a grid-cell border: both cells see it, one alert.
    meet = [a for a in alerts if a.rule is AlertRule.RENDEZVOUS]
    assert {a.change for a in meet} == {AlertChange.OPENED, AlertChange.UPDATED, AlertChange.CLOSED}
    assert len({a.alert_id for a in meet}) == 1
    end = meet[-1]
    assert end.change is AlertChange.CLOSED and end.mmsis == [525_900_001, 525_900_002]
    assert end.severity == "high"  # a fishing vessel meets a carrier
    assert end.evidence["fishing_meets_carrier"] is True
    distance = 0.6 * THRESHOLDS.rendezvous_distance_m
    assert float(end.evidence["distance_m"]) == pytest.approx(distance, abs=5)  # type: ignore[arg-type]
    assert float(end.evidence["duration_s"]) == pytest.approx(  # type: ignore[arg-type]
        1.3 * THRESHOLDS.rendezvous_min_s, abs=2 * THRESHOLDS.step_s
    )
    vessels = end.evidence["vessels"]
    assert isinstance(vessels, list) and [v["mmsi"] for v in vessels] == end.mmsis  # type: ignore[index,call-overload]
    # Every scenario vessel sends its static report with its first position, so each
    # title names the vessel ("KM SINAR JAYA (525400002) ..."); an identity change the name
    # it had before.
    names = scenario.names
    assert {a.rule for a in alerts} >= {AlertRule.AIS_GAP, AlertRule.IDENTITY_CHANGE}
    for a in alerts:
        label = [f"{names[m]} ({m})" for m in a.mmsis]
        if a.rule is AlertRule.RENDEZVOUS:
            assert a.title == f"{label[0]} and {label[1]} together at sea"
        else:
            assert a.title.startswith(f"{label[0]} ") or a.title.startswith(f"{label[0]}:"), a.title


def by_alert(records):  # type: ignore[no-untyped-def]
    events: dict[str, list[tuple[bytes | None, tuple[tuple[str, bytes], ...]]]] = {}
    for r in records:
        events.setdefault(r.key, []).append((r.value, r.headers))
    return events


async def test_a_replay_in_other_batches_republishes_byte_identical_events(scenario) -> None:  # type: ignore[no-untyped-def]
    first_records = await run_scenario(scenario)
    again_records = await run_scenario(scenario, scaled_settings(batch_max_records=37))
    first, again = by_alert(first_records), by_alert(again_records)
    assert first.keys() == again.keys()
    # Same final state of every alert.
    assert final_states(alerts_of(first_records)) == final_states(alerts_of(again_records))
    # Same events, byte for byte, for every alert raised from one stream. An alert opened
    # by a static report (watchlist name match) may publish one update more or less: how
    # many positions were read before the identity depends on where batches end.
    name_match = {
        str(a.alert_id)
        for a in alerts_of(await run_scenario(scenario))
        if a.rule is AlertRule.WATCHLIST and a.evidence.get("matched_field") == "name"
    }
    assert name_match
    for key in first.keys() - name_match:
        assert first[key] == again[key], key
