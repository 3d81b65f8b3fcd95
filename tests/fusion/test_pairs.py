"""The cell stage alone (``fusion.cells.processor``): positions and marks as the per-MMSI
stage publishes them, straight into ``CellFusion``; rendezvous rules and their near
misses, one alert for a pair two cells see, event-time order whatever the arrival order."""

from __future__ import annotations

from collections.abc import Iterable

from bus.base import Record
from fusion.cells.processor import CellFusion
from fusion.cells.state import CellShardState, decode_cell_state, encode_cell_state
from fusion.cells.wire import CellFix, CellMark, CellRecord, batch_of, batch_outgoing
from fusion.geo.cells import cell_name, cell_of, cells_near
from fusion.geo.distance import METRES_PER_DEGREE_LAT
from schemas.alerts import Alert, AlertChange, AlertRule
from tests.fusion.support import scaled_settings

T0 = 1_767_571_200.0
STEP_S = 10.0
MIN_S = 300.0
BORDER_LAT = -12.3  # a cell border (0.1 degree cells)
LON = 113.55


def settings(**overrides: object):  # type: ignore[no-untyped-def]
    return scaled_settings(rendezvous_min_s=MIN_S, **overrides)


def track(
    mmsi: int,
    lat: float,
    steps: int,
    *,
    speed_kn: float = 0.5,
    start: int = 0,
    ship_type: int | None = None,
    watchlisted: bool = False,
    rule: tuple[float, float] | None = None,
) -> list[CellFix]:
    """A drifting vessel's fixes every STEP_S, in every cell the stage routes them to."""
    out: list[CellFix] = []
    for k in range(start, start + steps):
        t = T0 + k * STEP_S
        for cell in cells_near(lat, LON, 2000.0, 0.1):
            out.append(
                CellFix(
                    cell_name(cell),
                    mmsi,
                    t,
                    lat,
                    LON,
                    speed_kn,
                    100.0,
                    False,
                    ship_type,
                    watchlisted,
                    None if rule is None else rule[0],
                    None if rule is None else rule[1],
                )
            )
    return out


def feed(cells: CellFusion, items: Iterable[CellRecord], *, batch: int = 50) -> list[Alert]:
    """Records in batches, each cell on a partition of its own (marks to every one), as
    separate instances would hold them, each record in a message of its own (the
    per-MMSI stage's batches hold many); returns the alert events published."""
    items = list(items)
    names = sorted({i.cell for i in items if not isinstance(i, CellMark)})
    for p in range(len(names)):
        cells.states.setdefault(p, CellShardState(p))
    offsets = dict.fromkeys(range(len(names)), 0)
    records: list[Record] = []
    for item in items:
        targets = range(len(names)) if isinstance(item, CellMark) else [names.index(item.cell)]
        for p in targets:
            o = batch_outgoing("fusion.cells", batch_of([item]), p)
            records.append(Record("fusion.cells", p, offsets[p], o.key, o.raw, o.headers, 0))
            offsets[p] += 1
    alerts: list[Alert] = []
    for i in range(0, len(records), batch):
        result = cells.process(records[i : i + batch])
        alerts.extend(o.payload for o in result.outgoing if isinstance(o.payload, Alert))
    return alerts


def marked(fixes: list[CellFix], source: int = 0, sources: int = 1) -> list[CellRecord]:
    """Fixes in time order, each step followed by the upstream partition's mark."""
    out: list[CellRecord] = []
    for t in sorted({f.t for f in fixes}):
        out.extend(f for f in fixes if f.t == t)
        out.append(CellMark(source, sources, t))
    return out


def stage(**overrides: object) -> CellFusion:
    return CellFusion(settings(**overrides))


def rendezvous(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if a.rule is AlertRule.RENDEZVOUS]


def test_a_position_near_a_border_goes_to_the_neighbour_cell_too() -> None:
    south = BORDER_LAT - 150 / METRES_PER_DEGREE_LAT
    assert cells_near(south, LON, 500.0, 0.1) == [
        cell_of(south, LON, 0.1),
        cell_of(BORDER_LAT + 0.01, LON, 0.1),
    ]
    middle = BORDER_LAT - 0.05
    assert cells_near(middle, LON, 2000.0, 0.1) == [cell_of(middle, LON, 0.1)]


def test_a_pair_two_cells_see_raises_one_alert_closed_when_they_part() -> None:
    # 300 m apart across the border: both cells receive both vessels.
    a_lat = BORDER_LAT - 150 / METRES_PER_DEGREE_LAT
    b_lat = BORDER_LAT + 150 / METRES_PER_DEGREE_LAT
    together = int(MIN_S * 1.3 / STEP_S)
    fixes = [
        *track(525_000_001, a_lat, together, ship_type=30),
        *track(525_000_002, b_lat, together, ship_type=70),
        *track(525_000_002, b_lat, 3, speed_kn=9.0, start=together),
    ]
    cells = stage()
    alerts = rendezvous(feed(cells, marked(fixes)))
    assert len({c.cell for c in fixes if c.mmsi == 525_000_001}) == 2
    changes = [a.change for a in alerts]
    assert changes.count(AlertChange.OPENED) == changes.count(AlertChange.CLOSED) == 1
    assert changes[0] is AlertChange.OPENED and changes[-1] is AlertChange.CLOSED
    assert len({a.alert_id for a in alerts}) == 1
    assert alerts[0].subject == "525000001:525000002"
    assert alerts[0].severity == "high"  # fishing meets a carrier
    assert alerts[0].started_at.timestamp() == T0


def test_together_just_under_the_minimum_or_just_too_far_apart_is_no_rendezvous() -> None:
    short = int(MIN_S * 0.92 / STEP_S)
    fixes = [
        *track(525_000_001, BORDER_LAT - 0.05, short),
        *track(525_000_002, BORDER_LAT - 0.05 + 300 / METRES_PER_DEGREE_LAT, short),
        *track(525_000_002, BORDER_LAT - 0.05, 3, speed_kn=9.0, start=short),
    ]
    assert rendezvous(feed(stage(), marked(fixes))) == []
    long = int(MIN_S * 1.5 / STEP_S)
    fixes = [
        *track(525_000_011, BORDER_LAT - 0.05, long),
        *track(525_000_012, BORDER_LAT - 0.05 + 600 / METRES_PER_DEGREE_LAT, long),
    ]
    assert rendezvous(feed(stage(), marked(fixes))) == []


def test_a_zone_rule_is_tighter_skylight_250_m_for_a_quarter_of_the_time() -> None:
    rule = (250.0, MIN_S / 4)
    steps = int(MIN_S / 2 / STEP_S)
    near = [
        *track(525_000_001, BORDER_LAT - 0.05, steps, rule=rule),
        *track(525_000_002, BORDER_LAT - 0.05 + 200 / METRES_PER_DEGREE_LAT, steps, rule=rule),
    ]
    alerts = rendezvous(feed(stage(), marked(near)))
    assert [a.change for a in alerts][:1] == [AlertChange.OPENED]
    too_far = [
        *track(525_000_001, BORDER_LAT - 0.05, steps, rule=rule),
        *track(525_000_002, BORDER_LAT - 0.05 + 300 / METRES_PER_DEGREE_LAT, steps, rule=rule),
    ]
    assert rendezvous(feed(stage(), marked(too_far))) == []


def test_positions_from_a_partition_that_ran_ahead_wait_for_the_others_marks() -> None:
    # Upstream partition 0 publishes all of vessel A before partition 1 publishes any of
    # B: the stage must not judge A against B's missing fixes (nor count B as late).
    steps = int(MIN_S * 1.3 / STEP_S)
    a = track(525_000_001, BORDER_LAT - 0.05, steps, watchlisted=True)
    b = track(525_000_002, BORDER_LAT - 0.05 + 300 / METRES_PER_DEGREE_LAT, steps)
    cells = stage()
    alerts = rendezvous(feed(cells, [*marked(a, 0, 2), *marked(b, 1, 2)]))
    assert sum(s.late for s in cells.states.values()) == 0
    assert [a.change for a in alerts][:1] == [AlertChange.OPENED]
    assert alerts[0].severity == "high"  # a watchlisted vessel


def test_restored_from_a_checkpoint_mid_encounter_the_pair_still_parts_on_the_watermark() -> None:
    # Both vessels fall silent together (no position says they parted): the pair ends when
    # the watermark passes their last fixes by the fix age, restored state or not. The
    # cell stage visits a cell only when something in it is due, so its timers must be
    # rebuilt from a restored state.
    together = int(MIN_S * 1.3 / STEP_S)
    fixes = [
        *track(525_000_001, BORDER_LAT - 0.05, together),
        *track(525_000_002, BORDER_LAT - 0.05 + 300 / METRES_PER_DEGREE_LAT, together),
    ]
    later = T0 + (together + 200) * STEP_S
    last = max(f.t for f in fixes)
    # Every fix released before the checkpoint (nothing left waiting for the watermark).
    items = [*marked(fixes), CellMark(0, 1, last + 1), CellMark(0, 1, later)]
    whole = rendezvous(feed(stage(), items))
    assert whole[0].change is AlertChange.OPENED
    assert whole[-1].change is AlertChange.CLOSED
    first = stage()
    head = rendezvous(feed(first, items[:-1]))
    restored = stage()
    for p, state in first.states.items():
        restored.states[p] = decode_cell_state(encode_cell_state(state))
    tail = feed_more(restored, [items[-1]])
    assert [(a.change, a.updated_at) for a in head + rendezvous(tail)] == [
        (a.change, a.updated_at) for a in whole
    ]


def feed_more(cells: CellFusion, marks: list[CellMark]) -> list[Alert]:
    """Marks to every partition the stage already holds, after what it has read."""
    records = []
    for p, state in sorted(cells.states.items()):
        offset = state.offsets.get("fusion.cells", 0)
        for i, mark in enumerate(marks):
            o = batch_outgoing("fusion.cells", batch_of([mark]), p)
            records.append(Record("fusion.cells", p, offset + i, o.key, o.raw, o.headers, 0))
    result = cells.process(records)
    return [o.payload for o in result.outgoing if isinstance(o.payload, Alert)]
