"""Small builders of wire events for the store's tests and benchmark-like loads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from bus.base import Outgoing
from schemas.ais import PositionReport, StaticReport
from schemas.alerts import Alert, AlertChange, AlertRule, AlertStatus, Severity
from schemas.patrol import PatrolReport, ReporterKind
from schemas.topics import Topic
from schemas.vessel import MmsiInfo, MmsiKind

T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
SHIP = MmsiInfo(valid=True, kind=MmsiKind.SHIP, mid=525, country="ID")


def position(mmsi: int, minute: float, lat: float, lon: float, **extra: Any) -> PositionReport:
    fields: dict[str, Any] = {
        "mmsi": mmsi,
        "msg_type": 1,
        "event_time": T0 + timedelta(minutes=minute),
        "lat": lat,
        "lon": lon,
        "speed_kn": 8.5,
        "course_deg": 90.0,
        "source": "test",
        "mmsi_info": SHIP,
    }
    return PositionReport(**(fields | extra))


def unchecked(report: PositionReport, **changes: Any) -> PositionReport:
    """``report`` with ``changes`` made without validation: what a faulty producer could
    write (a year 9999), for the reader's refusal to be tested."""
    copy = msgspec.structs.replace(report)
    for name, value in changes.items():
        msgspec.structs.force_setattr(copy, name, value)
    return copy


def static(mmsi: int, minute: float, **extra: Any) -> StaticReport:
    fields: dict[str, Any] = {
        "mmsi": mmsi,
        "msg_type": 5,
        "event_time": T0 + timedelta(minutes=minute),
        "source": "test",
        "mmsi_info": SHIP,
    }
    return StaticReport(**(fields | extra))


def alert(subject: str, minute: float, **extra: Any) -> Alert:
    fields: dict[str, Any] = {
        "rule": AlertRule.LOITERING,
        "severity": Severity.MEDIUM,
        "subject": subject,
        "mmsis": [int(subject)] if subject.isdigit() else [],
        "title": f"loitering {subject}",
        "started_at": T0 + timedelta(minutes=minute),
        "lat": -8.5,
        "lon": 115.2,
    }
    return Alert.open(**(fields | extra))


def patrol(minute: float, **extra: Any) -> PatrolReport:
    fields: dict[str, Any] = {
        "report_id": uuid.uuid4(),
        "agency": "BAKAMLA",
        "reporter_kind": ReporterKind.FISHER,
        "observed_at": T0 + timedelta(minutes=minute),
        "received_at": T0 + timedelta(minutes=minute + 5),
        "lat": -8.7,
        "lon": 115.1,
    }
    return PatrolReport(**(fields | extra))


def mixed_traffic(vessels: int = 20, minutes: int = 60) -> list[Outgoing]:
    """A realistic mix: positions every minute, a static report now and then (with one
    vessel renaming itself), a patrol sighting, alerts opened, updated and closed."""
    out: list[Outgoing] = []
    for m in range(minutes):
        for v in range(vessels):
            mmsi = 525_000_000 + v
            p = position(mmsi, m + v / 100, -8.0 - v * 0.05 + m * 0.001, 115.0 + m * 0.002)
            out.append(Outgoing(Topic.AIS_POSITIONS, str(mmsi), p))
            if m % 15 == v % 15:
                name = f"VESSEL {v}" if m < minutes // 2 or v != 3 else "RENAMED 3"
                s = static(mmsi, m + v / 100, name=name, callsign=f"YB{v:04d}", imo=9_000_000 + v)
                out.append(Outgoing(Topic.AIS_STATIC, str(mmsi), s))
        if m % 20 == 5:
            out.append(Outgoing(Topic.PATROL_REPORTS, None, patrol(m)))
        if m % 10 == 0:
            opened = alert(str(525_000_000 + m % vessels), m)
            out.append(Outgoing(Topic.FUSION_ALERTS, str(opened.alert_id), opened))
            closed = opened.model_copy(
                update={
                    "change": AlertChange.CLOSED,
                    "status": AlertStatus.CLOSED,
                    "updated_at": opened.started_at + timedelta(minutes=7),
                    "ended_at": opened.started_at + timedelta(minutes=7),
                }
            )
            out.append(Outgoing(Topic.FUSION_ALERTS, str(opened.alert_id), closed))
    return out
