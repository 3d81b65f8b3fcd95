"""What the per-MMSI stage sends on ``fusion.cells`` (version 2: one message per cell
partition and batch, positions as columns): every position reaches each cell
``cells_near`` names, on the cell's partition, with the batch's marks last; a sighting
stays where it was among the positions; an unreadable message is refused with its reason
and the rest goes on; a version-1 record left on the topic is still read."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import numpy as np

from bus.base import Outgoing, Record
from fusion.cells.processor import CellFusion
from fusion.cells.state import CellShardState
from fusion.cells.wire import (
    CELL_BATCH_TYPE,
    CellBatch,
    CellFix,
    CellMark,
    batch_of,
    batch_outgoing,
    cell_outgoing,
    cell_partition,
    read_cell,
)
from fusion.geo.cells import cell_name, cells_near, cells_near_many
from fusion.geo.distance import METRES_PER_DEGREE_LAT
from fusion.processor import Fusion
from fusion.tracks import ShardState
from schemas.alerts import Alert, AlertRule
from schemas.patrol import PatrolReport, ReporterKind
from schemas.topics import Topic
from tests.fusion.support import scaled_settings
from tests.fusion.test_detectors import LAT, LON, T0, Feed, position

CELLS = Topic.FUSION_CELLS.value


def as_records(outgoing: list[Outgoing]) -> list[Record]:
    offsets: dict[int, int] = {}
    out = []
    for o in outgoing:
        if o.topic != CELLS:
            continue
        assert o.partition is not None
        offset = offsets[o.partition] = offsets.get(o.partition, -1) + 1
        out.append(Record(CELLS, o.partition, offset, o.key, o.raw, o.headers, 0))
    return out


def test_cells_of_a_whole_batch_are_those_of_each_position_in_the_same_order() -> None:
    rng = random.Random(4)
    # Random positions, and positions on and beside 0.1-degree borders and corners.
    lats = [rng.uniform(-12, -3) for _ in range(5000)] + [-12.3, -12.3 + 1e-12, -12.3 - 1e-12]
    lons = [rng.uniform(105, 125) for _ in range(5000)] + [113.4, 113.4 - 1e-12, 113.4 + 1e-12]
    at, rows, cols = cells_near_many(np.array(lats), np.array(lons), 2000.0, 0.1)
    expected = [
        (i, *cell) for i in range(len(lats)) for cell in cells_near(lats[i], lons[i], 2000.0, 0.1)
    ]
    assert list(zip(at.tolist(), rows.tolist(), cols.tolist(), strict=True)) == expected
    assert len(expected) > len(lats) * 1.5  # the borders are there


def test_one_message_per_cell_partition_holds_every_cell_fix_marks_last() -> None:
    fusion = Fusion(scaled_settings())
    fusion.states[0] = ShardState(0)
    fusion.cell_partitions, fusion.source_partitions = 3, 1
    rng = random.Random(9)
    events = [
        position(525_000_000 + i, i, LAT + rng.uniform(-0.3, 0.3), LON + rng.uniform(-0.3, 0.3))
        for i in range(300)
    ]
    out = [o for o in fusion.process(Feed().records(events)).outgoing if o.topic == CELLS]
    assert sorted(o.partition for o in out) == [0, 1, 2]
    routed = set()
    for record in as_records(out):
        assert dict(record.headers)["ce_type"] == CELL_BATCH_TYPE.encode()
        batch = read_cell(record)
        assert isinstance(batch, CellBatch)
        assert batch.marks == [CellMark(0, 1, events[-1].event_time.timestamp() - 5.0)]
        for fix in batch.fixes():
            assert cell_partition(fix.cell, 3) == record.partition
            routed.add((fix.cell, fix.mmsi, fix.t, fix.lat, fix.lon, fix.speed_kn))
    expected = {
        (cell_name(c), e.mmsi, e.event_time.timestamp(), e.lat, e.lon, e.speed_kn)
        for e in events
        for c in cells_near(e.lat, e.lon, fusion._cell_margin_m, 0.1)  # type: ignore[arg-type]
    }
    assert routed == expected


def report(shard_offset: int, lat: float, lon: float, t: float) -> Record:
    event = PatrolReport(
        report_id=uuid.uuid4(),
        agency="BAKAMLA",
        reporter_kind=ReporterKind.PATROL_VESSEL,
        observed_at=T0 + timedelta(seconds=t),
        received_at=T0 + timedelta(seconds=t),
        lat=lat,
        lon=lon,
    )
    value, headers = Outgoing(Topic.PATROL_REPORTS, str(event.report_id), event).encode("/t")
    return Record(
        Topic.PATROL_REPORTS, 0, shard_offset, str(event.report_id), value, tuple(headers), 0
    )


def test_a_sighting_is_judged_before_positions_routed_after_it_in_the_same_batch() -> None:
    # Partition 0 carries the sighting, partition 1 (applied after it) a vessel right there:
    # the cell stage sees the sighting first, as it was routed, so it is dark; then the
    # position closes it as matched.
    settings = scaled_settings()
    fusion = Fusion(settings)
    fusion.states[0], fusion.states[1] = ShardState(0), ShardState(1)
    fusion.cell_partitions, fusion.source_partitions = 2, 2
    lat = LAT + 0.05  # the middle of a cell
    [vessel] = Feed().records([position(525_000_001, 60, lat, LON)])
    vessel = Record(vessel.topic, 1, 0, vessel.key, vessel.value, vessel.headers, 0)
    out = fusion.process([report(0, lat, LON, 60), vessel]).outgoing
    cells = CellFusion(settings)
    cells.states[0], cells.states[1] = CellShardState(0), CellShardState(1)
    alerts = [
        o.payload for o in cells.process(as_records(out)).outgoing if isinstance(o.payload, Alert)
    ]
    assert [(a.rule, a.change.value) for a in alerts] == [
        (AlertRule.DARK_TARGET, "opened"),
        (AlertRule.DARK_TARGET, "closed"),
    ]
    assert alerts[1].evidence["matched"]["mmsi"] == 525_000_001  # type: ignore[index]


def fix(t: float, lat: float = LAT) -> CellFix:
    return CellFix("-116:1135", 525_000_001, t, lat, LON, 0.5, 100.0)


def test_an_unreadable_batch_is_refused_with_its_reason_and_the_rest_goes_on() -> None:
    good = batch_of([fix(T0.timestamp()), CellMark(0, 1, T0.timestamp())])
    broken = batch_of([fix(T0.timestamp() + 10)])
    broken.row[0] = 7  # a position that is not in it
    unequal = batch_of([fix(T0.timestamp() + 20)])
    unequal.lat.append(1.0)
    records = [
        Record(CELLS, 0, i, o.key, o.raw, o.headers, 0)
        for i, o in enumerate(
            [
                batch_outgoing(CELLS, broken, 0),
                batch_outgoing(CELLS, unequal, 0),
                Outgoing(
                    CELLS, "x", None, headers=(("ce_type", CELL_BATCH_TYPE.encode()),), raw=b"["
                ),
                batch_outgoing(CELLS, good, 0),
            ]
        )
    ]
    cells = CellFusion(scaled_settings())
    cells.states[0] = CellShardState(0)
    result = cells.process(records)
    assert [r.record.offset for r in result.refused] == [0, 1, 2]
    assert "a row out of range" in result.refused[0].reason
    assert "unequal length" in result.refused[1].reason
    assert "invalid" in result.refused[2].reason
    assert cells.states[0].mark_t == T0.timestamp()  # the good one applied after them
    assert cells.states[0].offsets[CELLS] == 4


def test_a_version_1_record_left_on_the_topic_is_still_read() -> None:
    north = LAT + 100 / METRES_PER_DEGREE_LAT
    old = cell_outgoing(CELLS, fix(T0.timestamp(), north))
    assert read_cell(Record(CELLS, 0, 0, old.key, old.raw, old.headers, 0)) == fix(
        T0.timestamp(), north
    )
