"""Dark target in the cell stage: a sighting with no AIS position within 2 km in the 30 min
before raises an alert the moment it arrives (before any watermark), carrying only the
report's id and position and its agency; a position arriving within 30 min after closes
it as matched and links report <-> MMSI. Near misses just inside each threshold."""

from __future__ import annotations

import uuid

from fusion.cells.processor import CellFusion
from fusion.cells.wire import CellFix, CellRecord, CellSighting
from fusion.geo.cells import cell_name, cell_of, cells_near
from fusion.geo.distance import METRES_PER_DEGREE_LAT
from schemas.alerts import Alert, AlertChange, AlertRule
from tests.fusion.support import scaled_settings
from tests.fusion.test_pairs import LON, T0, feed

LAT = -12.35  # the middle of a cell
RADIUS_M, WINDOW_S = 2000.0, 1800.0


def sighting(t: float, lat: float = LAT, report: str | None = None) -> CellSighting:
    return CellSighting(
        cell_name(cell_of(lat, LON, 0.1)),
        report or str(uuid.uuid4()),
        "BAKAMLA",
        t,
        lat,
        LON,
        500.0,
        "people_smuggling",
        30,
    )


def north(m: float) -> float:
    return LAT + m / METRES_PER_DEGREE_LAT


def dark(alerts: list[Alert]) -> list[Alert]:
    return [a for a in alerts if a.rule is AlertRule.DARK_TARGET]


def run(items: list[CellRecord]) -> list[Alert]:
    return dark(feed(CellFusion(scaled_settings()), items, batch=1))


def one_fix(t: float, lat: float, mmsi: int = 525_000_001) -> list[CellFix]:
    """A passing vessel's position, in every cell the per-MMSI stage routes it to."""
    cells = cells_near(lat, LON, RADIUS_M, 0.1)
    return [CellFix(cell_name(c), mmsi, t, lat, LON, 12.0) for c in cells]


def test_a_sighting_with_no_ais_nearby_raises_an_alert_at_once_with_only_id_and_position() -> None:
    # AIS 2.2 km away just before, and 1.9 km away but 31 min before: neither explains it.
    report = sighting(T0 + 3600)
    alerts = run(
        [
            *one_fix(T0 + 3500, north(2200)),
            *one_fix(T0 + 3600 - WINDOW_S - 60, north(1900), mmsi=525_000_002),
            report,
        ]
    )
    [opened] = alerts
    assert opened.change is AlertChange.OPENED and opened.subject == f"report:{report.report_id}"
    assert opened.source_agency == "BAKAMLA"
    assert opened.severity == "high"  # people smuggling
    assert (opened.lat, opened.lon) == (LAT, LON)
    assert opened.started_at.timestamp() == report.t
    assert opened.evidence["report_id"] == report.report_id
    assert opened.evidence["ais_history_complete"] is True
    assert not {"narrative", "notes", "reporter", "vessel_description"} & set(opened.evidence)


def test_ais_within_the_radius_and_window_before_means_no_alert() -> None:
    assert run([*one_fix(T0 + 3600 - WINDOW_S + 60, north(1900)), sighting(T0 + 3600)]) == []


def test_a_position_arriving_within_the_window_after_closes_it_as_matched() -> None:
    report = sighting(T0)
    alerts = run(
        [
            report,
            *one_fix(T0 + WINDOW_S + 60, north(100)),  # too late to match
            *one_fix(T0 + 600, north(2100), mmsi=525_000_002),  # too far
            *one_fix(T0 + WINDOW_S - 60, north(1500), mmsi=525_000_003),
        ]
    )
    assert [a.change for a in alerts] == [AlertChange.OPENED, AlertChange.CLOSED]
    closed = alerts[-1]
    assert closed.mmsis == [525_000_003]
    matched = closed.evidence["matched"]
    assert isinstance(matched, dict) and matched["mmsi"] == 525_000_003
    assert closed.evidence["report_id"] == report.report_id
