"""The alert engine: one alert per condition, a life cycle, and deterministic ids.

Detectors say what they see ("vessel 123 entered zone X at t"); the engine decides what to
publish. An alert's id is ``alert_id(rule, subject, started_at)`` and each of its events'
``ce_id`` derives from that id, the change and the evidence time, so the same input replayed
(after a restart, a rebalance, or as fast as possible) republishes byte-identical events and
a webhook receiver can deduplicate on them.

Life cycle: ``opened`` once per condition (a second ``open`` of an open condition is a no-op:
never a second alert for the same condition), ``updated`` with new evidence at most once per
``update_cooldown_s`` of event time, ``closed`` when the condition ends.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from bus.base import Outgoing
from fusion.metrics import ALERT_EVENTS
from fusion.tracks import OpenAlert
from schemas.alerts import ALERT_NAMESPACE, Alert, AlertChange, AlertRule, AlertStatus, alert_id
from schemas.topics import Topic

TITLE_MAX = 200


def at(t: float) -> datetime:
    """An event time (POSIX seconds) as a UTC datetime."""
    return datetime.fromtimestamp(t, UTC)


def event_id(alert: uuid.UUID | str, change: AlertChange, evidence_time: datetime) -> str:
    """The ``ce_id`` of one alert event: the same alert, change and evidence time give the
    same id on every replay."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{alert}|{change.value}|{evidence_time.isoformat()}"))


class AlertHolder(Protocol):
    """A partition's state as the engine sees it: its open alerts by condition (the
    per-MMSI stage's ``ShardState`` and the cell stage's ``CellShardState``)."""

    alerts: dict[str, OpenAlert]


def _key(rule: AlertRule, subject: str) -> str:
    return f"{rule.value}|{subject}"


class AlertEngine:
    """Turns detector findings into alert events for one partition's state."""

    def __init__(self, update_cooldown_s: float, topic: str = Topic.FUSION_ALERTS) -> None:
        self.update_cooldown_s = update_cooldown_s
        self.topic = topic
        self.outgoing: list[Outgoing] = []

    def take(self) -> list[Outgoing]:
        out, self.outgoing = self.outgoing, []
        return out

    @staticmethod
    def is_open(state: AlertHolder, rule: AlertRule, subject: str) -> bool:
        return _key(rule, subject) in state.alerts

    @staticmethod
    def get(state: AlertHolder, rule: AlertRule, subject: str) -> OpenAlert | None:
        return state.alerts.get(_key(rule, subject))

    def open(
        self,
        state: AlertHolder,
        rule: AlertRule,
        subject: str,
        *,
        started_t: float,
        at_t: float | None = None,
        **fields: Any,
    ) -> bool:
        """Open the alert for this condition unless it is open already. ``fields`` are
        ``Alert`` fields: severity, title, score, mmsis, lat, lon, geofence_id, evidence,
        source_agency. Returns True when an alert was opened."""
        key = _key(rule, subject)
        if key in state.alerts:
            return False
        started = at(started_t)
        ident = str(alert_id(rule, subject, started))
        evidence_t = started_t if at_t is None else at_t
        opened = OpenAlert(ident, rule.value, subject, started_t, evidence_t, dict(fields))
        state.alerts[key] = opened
        self._emit(opened, AlertChange.OPENED, evidence_t)
        return True

    def update(
        self,
        state: AlertHolder,
        rule: AlertRule,
        subject: str,
        *,
        at_t: float,
        force: bool = False,
        **fields: Any,
    ) -> bool:
        """New evidence for an open alert; published unless one was published less than
        the cooldown ago (the fields are kept either way, so the next event carries them)."""
        opened = state.alerts.get(_key(rule, subject))
        if opened is None:
            return False
        opened.fields.update(fields)
        if not force and at_t - opened.published_t < self.update_cooldown_s:
            return False
        opened.published_t = at_t
        self._emit(opened, AlertChange.UPDATED, at_t)
        return True

    def close(
        self, state: AlertHolder, rule: AlertRule, subject: str, *, at_t: float, **fields: Any
    ) -> bool:
        """The condition ended at ``at_t``."""
        opened = state.alerts.pop(_key(rule, subject), None)
        if opened is None:
            return False
        opened.fields.update(fields)
        self._emit(opened, AlertChange.CLOSED, max(at_t, opened.started_t))
        return True

    @staticmethod
    def forget(state: AlertHolder, rule: AlertRule, subject: str) -> None:
        """Stop following an open alert without publishing anything: it stays open for the
        watch floor, and nothing this partition will see can change it any more."""
        state.alerts.pop(_key(rule, subject), None)

    def _emit(self, opened: OpenAlert, change: AlertChange, evidence_t: float) -> None:
        fields = dict(opened.fields)
        title = str(fields.pop("title", opened.rule))
        updated = at(max(evidence_t, opened.started_t))
        alert = Alert(
            alert_id=uuid.UUID(opened.alert_id),
            rule=AlertRule(opened.rule),
            change=change,
            status=AlertStatus.CLOSED if change is AlertChange.CLOSED else AlertStatus.OPEN,
            subject=opened.subject,
            title=title[:TITLE_MAX],
            started_at=at(opened.started_t),
            updated_at=updated,
            ended_at=updated if change is AlertChange.CLOSED else None,
            **fields,
        )
        self.outgoing.append(
            Outgoing(
                self.topic,
                opened.alert_id,
                alert,
                event_id=event_id(opened.alert_id, change, updated),
                subject=opened.subject,
            )
        )
        ALERT_EVENTS.labels(opened.rule, change.value).inc()
