"""A record the cell stage cannot read is refused like one of the per-MMSI stage
(``fusion.refusals``; that stage's path runs on Tansu in test_live_config): counted under
``unreadable``, kept with its reason for the dead-letter topic, and the batch goes on."""

from __future__ import annotations

from prometheus_client import REGISTRY

from bus.base import Record
from fusion.cells.processor import CellFusion
from fusion.cells.state import CellShardState
from fusion.cells.wire import CellMark, cell_outgoing
from tests.fusion.support import scaled_settings

TOPIC = "fusion.cells.refusals"


def refused_count() -> float:
    labels = {"topic": TOPIC, "reason": "unreadable"}
    return REGISTRY.get_sample_value("lookout_fusion_refused_total", labels) or 0.0


def test_an_unreadable_cell_record_is_refused_with_its_reason_and_the_batch_goes_on() -> None:
    cells = CellFusion(scaled_settings())
    cells.states[0] = CellShardState(0)
    mark = cell_outgoing(TOPIC, CellMark(0, 1, 1_700_000_000.0))
    unknown = Record(TOPIC, 0, 0, "x", b"{}", (("ce_type", b"lookout.cells.v9"),), 0)
    readable = Record(TOPIC, 0, 1, mark.key, mark.raw, mark.headers, 0)
    before = refused_count()

    result = cells.process([unknown, readable])

    assert [(r.record.offset, r.reason) for r in result.refused] == [
        (
            0,
            "event type b'lookout.cells.v9' is not 'lookout.fusion.cells.v2' or "
            "'lookout.fusion.cell.v1'",
        )
    ]
    assert refused_count() == before + 1
    assert cells.states[0].sources[0].mark == 1_700_000_000.0  # the next record applied
    assert cells.states[0].offsets == {TOPIC: 2}  # both done: the refused one is not redone
