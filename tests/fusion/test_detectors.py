"""Detector behaviour on hand-made tracks, without a bus: the Fusion processor fed records
as a subscription would deliver them (one partition, in order)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bus.base import Outgoing, Record
from fusion.processor import Fusion
from fusion.tracks import ShardState, decode_state, encode_state
from schemas.ais import PositionReport
from schemas.alerts import Alert, AlertChange, AlertRule
from schemas.config import Geofence, PolygonGeometry, ZoneKind, default_rules
from schemas.topics import Topic
from schemas.vessel import MmsiInfo, MmsiKind
from tests.fusion.support import scaled_settings

T0 = datetime(2026, 1, 5, tzinfo=UTC)
LAT, LON = -11.5, 113.5  # open sea, > 150 nm from land
SHIP = MmsiInfo(valid=True, kind=MmsiKind.SHIP, mid=525, country="ID")


def position(
    mmsi: int, s: float, lat: float, lon: float, speed: float = 10.0, **kw: object
) -> PositionReport:
    return PositionReport(
        mmsi=mmsi,
        msg_type=1,
        event_time=T0 + timedelta(seconds=s),
        lat=lat,
        lon=lon,
        speed_kn=speed,
        source="test",
        station=kw.pop("station", "rx-a"),
        mmsi_info=kw.pop("mmsi_info", SHIP),
    )


class Feed:
    """Records of one partition (0) with growing offsets."""

    def __init__(self) -> None:
        self.offset = 0

    def records(self, events: list[PositionReport]) -> list[Record]:
        out = []
        for event in events:
            value, headers = Outgoing(Topic.AIS_POSITIONS, str(event.mmsi), event).encode("/t")
            out.append(
                Record(
                    Topic.AIS_POSITIONS, 0, self.offset, str(event.mmsi), value, tuple(headers), 0
                )
            )
            self.offset += 1
        return out


def box(lat: float, lon: float, half: float) -> PolygonGeometry:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]
    return PolygonGeometry(type="Polygon", coordinates=[ring])


def zone(zone_id: str = "z1", half: float = 0.01, kind: ZoneKind = ZoneKind.RESTRICTED) -> Geofence:
    return Geofence(
        geofence_id=zone_id,
        name=f"Zone {zone_id}",
        kind=kind,
        geometry=box(LAT, LON, half),
        rules=default_rules(kind),
        updated_at=T0,
    )


def fusion(**settings: object) -> Fusion:
    f = Fusion(scaled_settings(**settings))
    f.states[0] = ShardState(0)
    return f


def alerts(f: Fusion, records: list[Record]) -> list[Alert]:
    result = f.process(records)
    assert not result.refused
    return [m.payload for m in result.outgoing if isinstance(m.payload, Alert)]


def east_edge_metres(metres: float) -> float:
    """Longitude ``metres`` east of the zone's east edge (negative: inside)."""
    return LON + 0.01 + metres / (111_195 * math.cos(math.radians(LAT)))


def test_a_vessel_riding_the_border_enters_once_and_does_not_flap() -> None:
    f = fusion(geofence_hysteresis_m=200.0)
    f.set_zones([zone()])
    feed = Feed()
    # In 50 m, out 80 m, in, out ... (inside the 200 m hysteresis), then well out.
    track = [position(1, 10 * i, LAT, east_edge_metres(-50 if i % 2 else 80)) for i in range(1, 20)]
    track.append(position(1, 300, LAT, east_edge_metres(500)))
    found = alerts(f, feed.records(track))
    assert [(a.rule, a.change) for a in found] == [
        (AlertRule.GEOFENCE_ENTER, AlertChange.OPENED),
        (AlertRule.GEOFENCE_ENTER, AlertChange.CLOSED),
        (AlertRule.GEOFENCE_EXIT, AlertChange.OPENED),
    ]


def test_without_hysteresis_the_same_track_would_flap() -> None:
    f = fusion(geofence_hysteresis_m=0.0)
    f.set_zones([zone()])
    track = [position(1, 10 * i, LAT, east_edge_metres(-50 if i % 2 else 80)) for i in range(1, 20)]
    found = alerts(f, Feed().records(track))
    assert (
        sum(a.change is AlertChange.OPENED and a.rule is AlertRule.GEOFENCE_ENTER for a in found)
        > 1
    )


def test_a_zone_added_mid_stream_alerts_from_then_on_and_its_removal_closes() -> None:
    f = fusion()
    feed = Feed()
    assert alerts(f, feed.records([position(1, 10, LAT, LON)])) == []
    f.set_zones([zone()])
    found = alerts(f, feed.records([position(1, 20, LAT, LON + 0.001)]))
    assert [(a.rule, a.change) for a in found] == [(AlertRule.GEOFENCE_ENTER, AlertChange.OPENED)]
    f.set_zones([])
    closed = f.engine.take()
    assert [(m.payload.rule, m.payload.change) for m in closed] == [  # type: ignore[union-attr]
        (AlertRule.GEOFENCE_ENTER, AlertChange.CLOSED)
    ]


def test_dwell_fires_at_its_threshold_and_not_just_before() -> None:
    mpa = zone(kind=ZoneKind.MARINE_PROTECTED_AREA).model_copy(
        update={
            "rules": default_rules(ZoneKind.MARINE_PROTECTED_AREA).model_copy(
                update={"dwell_s": 100.0, "ship_types": None}
            )
        }
    )
    for last_s, fires in ((100.0, True), (90.0, False)):
        f = fusion()
        f.set_zones([mpa])
        track = [position(1, s, LAT, LON, speed=3.0) for s in range(0, int(last_s) + 1, 10)]
        rules = [a.rule for a in alerts(f, Feed().records(track))]
        assert (AlertRule.GEOFENCE_DWELL in rules) is fires, last_s


def test_an_invalid_mmsi_raises_one_spoofing_alert() -> None:
    f = fusion()
    bad = MmsiInfo(valid=False, reason="MID 999 is not allocated")
    found = alerts(
        f, Feed().records([position(999_000_001, s, LAT, LON, mmsi_info=bad) for s in (0, 10, 20)])
    )
    assert [(a.rule, a.change, a.evidence["kind"]) for a in found] == [
        (AlertRule.SPOOFING, AlertChange.OPENED, "invalid_mmsi")
    ]


@pytest.mark.parametrize("check", [True, False])
def test_a_receiver_outage_is_no_gap_unless_the_coverage_check_is_off(check: bool) -> None:
    f = fusion(gap_coverage_check=check)
    feed = Feed()
    events = []
    for s in range(0, 2000, 10):
        for mmsi in (1, 2, 3):  # all heard by rx-b, which is down from 100 s to 1500 s
            if not 100 <= s < 1500:
                events.append(
                    position(mmsi, s, LAT + mmsi * 0.05, LON + s * 0.00005, station="rx-b")
                )
        events.append(position(9, s, LAT - 0.1, LON + s * 0.00005, station="rx-a"))
    gaps = {a.subject for a in alerts(f, feed.records(events)) if a.rule is AlertRule.AIS_GAP}
    assert gaps == (set() if check else {"1", "2", "3"})


def test_state_survives_its_checkpoint_encoding_exactly() -> None:
    f = fusion()
    f.set_zones([zone()])
    alerts(
        f,
        Feed().records(
            [position(1, s, LAT, LON + s * 0.0001, speed=1.0) for s in range(0, 400, 10)]
        ),
    )
    state = f.states[0]
    assert decode_state(encode_state(state)) == state


def test_gap_timers_stay_one_per_vessel_and_a_silent_vessel_still_opens_its_gap() -> None:
    f = fusion()  # gap_s 600
    feed = Feed()
    events = [position(1, s, LAT, LON + s * 0.00005) for s in range(0, 1000, 10)]
    events += [position(2, s, LAT - 0.1, LON + s * 0.00005) for s in range(0, 2000, 10)]
    events.sort(key=lambda e: e.event_time)
    found = alerts(f, feed.records(events))
    gaps = [a for a in found if a.rule is AlertRule.AIS_GAP]
    assert [(a.subject, a.change, a.started_at) for a in gaps] == [
        ("1", AlertChange.OPENED, T0 + timedelta(seconds=990))
    ]
    # 300 positions, two vessels: a timer per vessel, not one per position.
    assert len(f.states[0].gap_timers) <= 2


def test_a_zone_with_its_own_loitering_rule_judges_slow_boats_near_shore() -> None:
    from fusion.geo.coastline import natural_earth_coastline

    lat, lon = -8.95, 115.3  # off Bali's Bukit peninsula: too close to shore for the global rule
    shore = natural_earth_coastline().distance_nm(np.array([lat]), np.array([lon]), 100.0)
    assert 0 < shore[0] < 20
    kind = ZoneKind.MARINE_PROTECTED_AREA
    reef = Geofence(
        geofence_id="reef",
        name="Reef",
        kind=kind,
        geometry=box(lat, lon, 0.02),
        rules=default_rules(kind).model_copy(
            update={"on_enter": False, "dwell_s": None, "loiter_min_s": 100.0}
        ),
        updated_at=T0,
    )
    slow = [position(1, s, lat, lon + s * 1e-6, speed=1.0) for s in range(0, 130, 10)]
    found = alerts(fusion_with([reef]), Feed().records(slow))
    assert [(a.rule, a.change) for a in found] == [(AlertRule.LOITERING, AlertChange.OPENED)]
    assert found[0].evidence["zone"] == "reef" and "in Reef" in found[0].title
    # The same boat outside the zone: the global rule (300 s, >= 20 nm from shore) is silent.
    assert alerts(fusion_with([]), Feed().records(slow)) == []
    # Inside the zone but only for 90 s: under the zone's 100 s.
    assert alerts(fusion_with([reef]), Feed().records(slow[:10])) == []


def fusion_with(zones: list[Geofence]) -> Fusion:
    f = fusion()
    f.set_zones(zones)
    return f
