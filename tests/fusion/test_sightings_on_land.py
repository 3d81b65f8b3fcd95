"""A sighting far inland (a typo'd coordinate, a swapped sign) is bad input: fusion refuses
it with the reason, to the dead-letter topic, and raises nothing from it (it raised a
"dark target" 130 nm inside Borneo, which a watch officer would reject); one at sea, or on
the coarse 1:50m land within a few miles of the coast (a beach, an estuary), still counts."""

from __future__ import annotations

import uuid
from datetime import timedelta

from bus.base import Outgoing, Record
from fusion.cells.wire import CellBatch, read_cell
from fusion.processor import FusionTopics
from schemas.patrol import ObservedActivity, PatrolReport, ReporterKind
from schemas.topics import Topic
from tests.fusion.test_detectors import T0, fusion


def report_record(offset: int, lat: float, lon: float, **fields: object) -> Record:
    report = PatrolReport(
        report_id=uuid.uuid4(),
        agency="BAKAMLA",
        reporter_kind=ReporterKind.COASTAL_COMMUNITY,
        observed_at=T0,
        received_at=T0 + timedelta(minutes=5),
        lat=lat,
        lon=lon,
        **fields,  # type: ignore[arg-type]
    )
    value, headers = Outgoing(Topic.PATROL_REPORTS, str(report.report_id), report).encode("/t")
    return Record(Topic.PATROL_REPORTS, 0, offset, str(report.report_id), value, tuple(headers), 0)


def test_a_sighting_far_inland_is_refused_saying_so_and_raises_nothing() -> None:
    f = fusion()
    inland = report_record(0, -1.0, 114.0, activity=ObservedActivity.DISTRESS)  # Borneo
    beach = report_record(1, -8.69, 115.262)  # Sanur beach: 1 nm "inland" at 1:50m
    at_sea = report_record(2, -10.0, 114.0)
    result = f.process([inland, beach, at_sea])
    assert [r.record.offset for r in result.refused] == [0]
    assert "130 nm inland" in result.refused[0].reason, result.refused[0].reason
    cells = [
        read_cell(Record(o.topic, 0, 0, o.key, o.raw, o.headers, 0))
        for o in result.outgoing
        if o.topic == FusionTopics().cells
    ]
    # The beach and the sea sightings go on to the dark-target rule.
    assert len([s for c in cells if isinstance(c, CellBatch) for s in c.sightings]) == 2
    assert f.engine.take() == []  # no distress from the refused report
