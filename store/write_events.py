"""Patrol reports (insert once, by report id) and alerts (upsert by id, newest wins)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from psycopg.types.json import Jsonb

from schemas.alerts import Alert, AlertChange
from schemas.patrol import PatrolReport
from store.db import Conn
from store.timeseries import day_of

# A message's place in an alert's life: for two messages with the same updated_at, the
# closing one wins, so batch boundaries never decide the outcome.
CHANGE_RANK = {AlertChange.OPENED: 0, AlertChange.UPDATED: 1, AlertChange.CLOSED: 2}
_RANK_SQL = "CASE {c} WHEN 'opened' THEN 0 WHEN 'updated' THEN 1 ELSE 2 END"

_INSERT_PATROL = b"""
INSERT INTO patrol_reports (report_id, agency_id, reporter_kind, observed_at, received_at,
    lat, lon, uncertainty_m, activity, vessel_description, vessel_name, mmsi,
    persons_on_board, heading_deg, speed_kn, notes)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (report_id) DO NOTHING
"""

# Fusion owns the condition; people own acknowledgement. A fusion update never reopens an
# alert a watch officer acknowledged, escalated or closed (it changes the evidence under
# the decision), but fusion closing it closes it.
_UPSERT_ALERT = f"""
INSERT INTO alerts AS a (alert_id, started_at, updated_at, ended_at, rule, change, status,
    severity, score, subject, mmsis, title, lat, lon, geofence_id, evidence, source_agency)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (alert_id, started_at) DO UPDATE SET
    updated_at = excluded.updated_at, ended_at = excluded.ended_at,
    change = excluded.change, severity = excluded.severity, score = excluded.score,
    mmsis = excluded.mmsis, title = excluded.title, lat = excluded.lat, lon = excluded.lon,
    geofence_id = excluded.geofence_id, evidence = excluded.evidence,
    source_agency = coalesce(excluded.source_agency, a.source_agency),
    status = CASE
        WHEN excluded.status = 'closed' OR a.status = 'closed' THEN 'closed'
        WHEN a.status IN ('acknowledged', 'escalated') THEN a.status
        ELSE excluded.status END
WHERE (excluded.updated_at, {_RANK_SQL.format(c="excluded.change")})
    > (a.updated_at, {_RANK_SQL.format(c="a.change")})
""".encode()


def alert_days(alerts: Sequence[Alert]) -> set[date]:
    return {day_of(alert.started_at) for alert in alerts}


def newest_per_alert(alerts: Sequence[Alert]) -> list[Alert]:
    """One message per alert id: the latest by (updated_at, change)."""
    newest: dict[Any, Alert] = {}
    for alert in alerts:
        known = newest.get(alert.alert_id)
        if known is None or (alert.updated_at, CHANGE_RANK[alert.change]) > (
            known.updated_at,
            CHANGE_RANK[known.change],
        ):
            newest[alert.alert_id] = alert
    return [newest[key] for key in sorted(newest)]


async def write_alerts(conn: Conn, alerts: Sequence[Alert]) -> int:
    rows = [
        (
            a.alert_id,
            a.started_at,
            a.updated_at,
            a.ended_at,
            a.rule.value,
            a.change.value,
            a.status.value,
            a.severity.value,
            a.score,
            a.subject,
            a.mmsis,
            a.title,
            a.lat,
            a.lon,
            a.geofence_id,
            Jsonb(a.evidence),
            _agency_of(a),
        )
        for a in newest_per_alert(alerts)
    ]
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(_UPSERT_ALERT, rows)
    return len(rows)


def _agency_of(alert: Alert) -> str | None:
    return alert.source_agency


async def write_patrol_reports(conn: Conn, reports: Sequence[PatrolReport]) -> int:
    rows = [
        (
            r.report_id,
            r.agency,
            r.reporter_kind.value,
            r.observed_at,
            r.received_at,
            r.lat,
            r.lon,
            r.uncertainty_m,
            r.activity.value,
            r.vessel_description,
            r.vessel_name,
            r.mmsi,
            r.persons_on_board,
            r.heading_deg,
            r.speed_kn,
            r.notes,
        )
        for r in reports
    ]
    if rows:
        async with conn.cursor() as cur:
            await cur.executemany(_INSERT_PATROL, rows)
    return len(rows)
