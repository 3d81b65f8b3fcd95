"""Distress (safety of life): every source raises one critical alert at once; device tests
raise none; devices close together are one incident whose id is that of its first alert,
updated as devices join and fall silent, never deduplicated away.

AIS input is built as real NMEA (pyais's encoder) and decoded by ingest, then handed to
fusion as the records a subscription delivers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import REGISTRY
from pyais import encode_dict
from structlog.testing import capture_logs

from bus.base import Outgoing, Record
from fusion.processor import Fusion
from fusion.settings import FusionSettings
from fusion.tracks import ShardState
from ingest.decoder import AisDecoder, AisEvent
from schemas.alerts import Alert, AlertChange, AlertRule
from schemas.patrol import ObservedActivity, PatrolReport, ReporterKind
from schemas.topics import Topic
from tests.ingest.test_safety_messages import broadcast

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PARTITIONS = 3


def settings(**overrides: Any) -> FusionSettings:
    values: dict[str, Any] = {
        "allowed_lateness_s": 0.0,
        "update_cooldown_s": 3600.0,
        "distress_device_silence_s": 600.0,
        "distress_close_after_s": 3600.0,
    }
    values.update(overrides)
    return FusionSettings(**values)


def fusion(**overrides: Any) -> Fusion:
    engine = Fusion(settings(**overrides))
    for shard in range(PARTITIONS):
        engine.states[shard] = ShardState(shard)
    return engine


def position_lines(mmsi: int, lat: float, lon: float, nav_status: int = 0) -> list[str]:
    fields = {"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "status": nav_status, "speed": 0}
    return list(encode_dict(fields))


def decoded(lines: list[str], at: datetime) -> AisEvent:
    out: list[AisEvent] = []
    AisDecoder("test").decode_lines([x.encode() for x in lines], at, out)
    [event] = out
    return event


class Feed:
    """Records as a subscription delivers them: per partition, offsets counting up.
    Keys are MMSIs; partition = MMSI mod 3, so a test chooses where each device lands."""

    def __init__(self) -> None:
        self.offsets: dict[tuple[str, int], int] = {}

    def records(self, topic: str, events: Sequence[AisEvent]) -> list[Record]:
        found = []
        for event in events:
            mmsi = event.mmsi  # type: ignore[union-attr]
            partition = mmsi % PARTITIONS
            offset = self.offsets.get((topic, partition), 0)
            self.offsets[topic, partition] = offset + 1
            value, headers = Outgoing(topic, str(mmsi), event).encode("/tests")
            found.append(Record(topic, partition, offset, str(mmsi), value, tuple(headers), 0))
        return found

    def positions(self, *fixes: tuple[int, float, float, float]) -> list[Record]:
        """(mmsi, minute, lat, lon) each."""
        return self.records(
            Topic.AIS_POSITIONS,
            [
                decoded(position_lines(m, lat, lon), T0 + timedelta(minutes=minute))
                for m, minute, lat, lon in fixes
            ],
        )


def alerts(out: Sequence[Outgoing]) -> list[Alert]:
    return [o.payload for o in out if isinstance(o.payload, Alert)]


SART = 970_000_001
MOB_A, MOB_B, MOB_C = 972_000_000, 972_000_001, 972_000_002  # partitions 0, 1, 2
EPIRB = 974_000_004
SHIP = 525_005_123
SHIP_0, SHIP_1, SHIP_2 = 525_000_000, 525_000_001, 525_000_002  # ordinary traffic


def test_each_distress_device_and_nav_status_14_raises_one_critical_alert() -> None:
    engine, feed = fusion(), Feed()
    records = (
        feed.positions((SART, 0, -8.0, 115.0), (MOB_A, 0, -9.0, 116.0), (EPIRB, 0, -10.0, 117.0))
        + feed.records(Topic.AIS_POSITIONS, [decoded(position_lines(SHIP, -7.0, 114.0, 14), T0)])
        + feed.positions((SHIP + 3, 0, -7.5, 114.5))
    )  # an ordinary ship: nothing
    raised = alerts(engine.process(records).outgoing)
    assert {(a.mmsis[0], a.title) for a in raised} == {
        (SART, "AIS-SART active"),
        (MOB_A, "Man overboard device active"),
        (EPIRB, "EPIRB-AIS active"),
        (SHIP, "AIS-SART status"),
    }
    assert {(a.rule, a.severity.value, a.change) for a in raised} == {
        (AlertRule.DISTRESS, "critical", AlertChange.OPENED)
    }
    sart = next(a for a in raised if a.mmsis == [SART])
    assert (sart.lat, sart.lon) == (-8.0, 115.0) and sart.started_at == T0


def test_safety_texts_alert_and_device_tests_only_log_and_count() -> None:
    engine, feed = fusion(), Feed()
    engine.process(feed.positions((SART, 0, -8.0, 115.0)))  # opens the device's incident
    tests_before = (
        REGISTRY.get_sample_value("lookout_fusion_distress_tests_total", {"kind": "sart_test"})
        or 0.0
    )
    texts = [
        decoded(broadcast(SART + 3, "SART TEST"), T0 + timedelta(minutes=1)),
        decoded(broadcast(MOB_B + 3, "MOB TEST"), T0 + timedelta(minutes=1)),
        decoded(broadcast(SHIP, "MAYDAY MAYDAY FIRE ON BOARD"), T0 + timedelta(minutes=2)),
        decoded(broadcast(SART, "SART ACTIVE"), T0 + timedelta(minutes=3)),
    ]
    with capture_logs() as logs:
        raised = alerts(engine.process(feed.records(Topic.AIS_SAFETY, texts)).outgoing)
    assert [(a.title, a.change) for a in raised] == [
        ("MAYDAY", AlertChange.OPENED),
        ("AIS-SART active", AlertChange.UPDATED),  # the text joined its device's incident
    ]
    mayday, sart = raised
    assert mayday.evidence["texts"] == ["MAYDAY MAYDAY FIRE ON BOARD"]
    assert mayday.lat is None  # the ship's position is not known yet
    assert sart.evidence["kinds"] == ["sart_device", "sart_active_text"]
    assert (sart.lat, sart.lon) == (-8.0, 115.0)
    assert sorted(e["kind"] for e in logs if e["event"] == "distress device test") == [
        "mob_test",
        "sart_test",
    ]
    tests_after = REGISTRY.get_sample_value(
        "lookout_fusion_distress_tests_total", {"kind": "sart_test"}
    )
    assert tests_after == tests_before + 1


def test_mob_devices_close_together_are_one_incident_that_keeps_its_first_id() -> None:
    engine, feed = fusion(), Feed()
    # Three MOB devices on three partitions, a few hundred metres apart; a fourth 10 nm off.
    first = alerts(engine.process(feed.positions((MOB_A, 0, -8.500, 115.500))).outgoing)
    joined = alerts(
        engine.process(
            feed.positions(
                (MOB_B, 1, -8.503, 115.502), (MOB_C, 2, -8.498, 115.497), (SART, 2, -8.67, 115.5)
            )
        ).outgoing
    )
    [opened] = first
    same = [a for a in joined if a.alert_id == opened.alert_id]
    other = [a for a in joined if a.alert_id != opened.alert_id]
    assert [a.evidence["signals_active"] for a in same] == [2, 3]
    assert same[-1].mmsis == [MOB_A, MOB_B, MOB_C] and same[-1].title.endswith("3 signals")
    assert [(a.change, a.mmsis) for a in other] == [(AlertChange.OPENED, [SART])]

    # MOB_C keeps transmitting (drifting) while A and B fall silent; ordinary traffic
    # moves every partition's watermark on.
    silent = alerts(
        engine.process(
            feed.positions(
                *(
                    fix
                    for minute in range(1, 16)
                    for fix in (
                        (MOB_C, 2 + minute, -8.498 - minute / 1000, 115.497),
                        (SHIP_0, 2 + minute, -7.0, 114.0),
                        (SHIP_1, 2 + minute, -7.1, 114.0),
                    )
                )
            )
        ).outgoing
    )
    mine = [a for a in silent if a.alert_id == opened.alert_id]
    assert mine and all(a.change is AlertChange.UPDATED for a in mine)
    assert mine[-1].evidence["signals_active"] == 1 and mine[-1].evidence["signals_seen"] == 3
    assert mine[-1].mmsis == [MOB_A, MOB_B, MOB_C]

    # A device of the first incident that comes back rejoins it, not a new one.
    back = alerts(engine.process(feed.positions((MOB_A, 20, -8.52, 115.5))).outgoing)
    assert {a.alert_id for a in back} == {opened.alert_id}

    # Nothing heard for distress_close_after_s: the incident closes, still under its id.
    quiet = alerts(
        engine.process(
            feed.positions(
                (SHIP_0, 90, -7.0, 114.0), (SHIP_1, 90, -7.1, 114.0), (SHIP_2, 90, -7.2, 114.0)
            )
        ).outgoing
    )
    closed = [a for a in quiet if a.alert_id == opened.alert_id]
    assert closed[-1].change is AlertChange.CLOSED
    assert AlertChange.OPENED not in {a.change for a in quiet}


def report(**fields: Any) -> PatrolReport:
    values: dict[str, Any] = {
        "report_id": uuid.uuid4(),
        "agency": "BAKAMLA",
        "reporter_kind": ReporterKind.COASTAL_COMMUNITY,
        "observed_at": T0,
        "received_at": T0 + timedelta(minutes=5),
        "lat": -10.2,
        "lon": 123.4,
        "notes": "seen from the beach by Pak Made, phone 0812-...",
    }
    values.update(fields)
    return PatrolReport(**values)


def test_reports_of_distress_or_of_an_overcrowded_small_boat_raise_it_without_the_narrative() -> (
    None
):
    engine = fusion(distress_persons_threshold=20)
    state = engine.states[0]
    cases = [
        report(activity=ObservedActivity.DISTRESS, persons_on_board=6, lat=-10.0),
        report(persons_on_board=45, vessel_description="small overcrowded wooden boat", lat=-11.0),
        report(persons_on_board=45, vessel_description="large passenger ferry", lat=-12.0),
        report(persons_on_board=12, vessel_description="small unseaworthy boat", lat=-13.0),
    ]
    for case in cases:
        engine.distress.on_report(state, case)
    raised = alerts(engine.engine.take())
    assert [(a.title, a.lat, a.evidence["persons_estimate"]) for a in raised] == [
        ("Vessel in distress reported", -10.0, 6),
        ("Overcrowded vessel reported", -11.0, 45),
    ]
    assert {a.source_agency for a in raised} == {"BAKAMLA"}
    assert raised[0].evidence["reports"] == [str(cases[0].report_id)]
    assert raised[0].evidence["report_id"] == str(cases[0].report_id)
    text = " ".join(a.model_dump_json() for a in raised)
    assert "Pak Made" not in text and "wooden" not in text  # the narrative stays out
