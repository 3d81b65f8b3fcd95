"""Suspicious-vessel alerts on ``fusion.alerts``, and their deterministic ids."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, JsonValue

from schemas.envelope import Event
from schemas.units import Latitude, Longitude, UtcDatetime

# Fixed namespace for alert ids: uuid5(namespace, "rule|subject|start") is stable across
# replays and restarts, so re-processing updates an alert instead of raising a twin.
ALERT_NAMESPACE = uuid.UUID("6f2b8a7e-3c1d-5b9a-9e0f-4c8d2a1b7e55")


class AlertRule(StrEnum):
    GEOFENCE_ENTER = "geofence_enter"
    GEOFENCE_EXIT = "geofence_exit"
    GEOFENCE_DWELL = "geofence_dwell"
    WATCHLIST = "watchlist"
    AIS_GAP = "ais_gap"
    LOITERING = "loitering"
    RENDEZVOUS = "rendezvous"
    SPOOFING = "spoofing"
    IDENTITY_CHANGE = "identity_change"
    DARK_TARGET = "dark_target"
    DISTRESS = "distress"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class AlertStatus(StrEnum):
    """Life cycle: open → acknowledged (→ escalated) → closed."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    CLOSED = "closed"


class AlertChange(StrEnum):
    """What this message says happened to the alert."""

    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


def alert_id(rule: AlertRule, subject: str, started_at: datetime) -> uuid.UUID:
    """Deterministic alert id from its rule, its subject (e.g. MMSI or 'mmsi-a:mmsi-b')
    and the event time the condition began."""
    return uuid.uuid5(ALERT_NAMESPACE, f"{rule.value}|{subject}|{started_at.isoformat()}")


class Alert(Event):
    """One suspicious-vessel alert, as opened, updated or closed by the fusion engine."""

    ce_type = "lookout.fusion.alert.v1"

    alert_id: uuid.UUID
    rule: AlertRule
    change: AlertChange
    status: AlertStatus = AlertStatus.OPEN
    severity: Severity
    score: float = Field(default=0.5, ge=0.0, le=1.0, description="Confidence/priority, 0-1.")
    subject: str = Field(description="What the alert is about: MMSI, MMSI pair, report id.")
    mmsis: list[int] = Field(default_factory=list, description="Vessels involved.")
    title: str = Field(max_length=200, description="One line for the watch floor.")
    started_at: UtcDatetime = Field(description="Event time the condition began.")
    updated_at: UtcDatetime = Field(description="Event time of the latest evidence.")
    ended_at: UtcDatetime | None = Field(default=None, description="Event time it ended.")
    lat: Latitude | None = None
    lon: Longitude | None = None
    geofence_id: str | None = None
    source_agency: str | None = Field(
        default=None,
        description="Reporting agency of the report that raised the alert (None: AIS-derived). "
        "The sharing rule reads it.",
    )
    evidence: dict[str, JsonValue] = Field(
        default_factory=dict, description="Rule-specific facts: distances, durations, matches."
    )

    def occurred_at(self) -> datetime:
        return self.updated_at

    @classmethod
    def open(cls, **fields: Any) -> Alert:
        """An opened alert whose id derives from rule, subject and start."""
        fields.setdefault(
            "alert_id", alert_id(fields["rule"], fields["subject"], fields["started_at"])
        )
        fields.setdefault("change", AlertChange.OPENED)
        fields.setdefault("updated_at", fields["started_at"])
        return cls(**fields)
