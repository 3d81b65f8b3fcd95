"""Alerts: search, one with its evidence, and a person's decision (acknowledge, escalate,
close with a note). A decision is written under the caller's row-level security (an alert
the caller may not see is 404, never changed) and published on ``fusion.alerts``, so every
other watch floor's live stream and every webhook subscriber learns of it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status

from api.common import BboxQuery, BusDep, Settings, parse_bbox, publish
from api.deps import AnyRole, Db, Watch, audit
from api.models import Alert, AlertDetail, AlertPage, Decision, Report, Vessel
from api.pagination import decode_cursor, encode_cursor
from api.routes.nearest_help import nearest_help
from bus.base import Outgoing
from schemas import alerts as wire
from schemas.topics import Topic
from store.alert_queries import decide, get_alert, list_alerts
from store.report_queries import get_report
from store.vessel_queries import track_geojson, vessel

router = APIRouter(prefix="/alerts", tags=["alerts"])

AlertIdPath = Annotated[uuid.UUID, Path(description="The alert's id.")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such alert, or not shared with the caller"}
}


def _not_found(alert_id: uuid.UUID) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")


@router.get("", response_model=AlertPage)
async def search(
    caller: AnyRole,
    db: Db,
    settings: Settings,
    rule: Annotated[list[wire.AlertRule] | None, Query()] = None,
    severity: Annotated[list[wire.Severity] | None, Query()] = None,
    status_: Annotated[list[wire.AlertStatus] | None, Query(alias="status")] = None,
    since: Annotated[datetime | None, Query(description="Alerts not ended before this.")] = None,
    until: Annotated[datetime | None, Query(description="Alerts started before this.")] = None,
    bbox: BboxQuery = None,
    mmsi: Annotated[int | None, Query(ge=0, le=999_999_999)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> AlertPage:
    """Alerts matching every filter given, by last update, newest first."""
    after = None
    if cursor:
        key = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(key[0]), uuid.UUID(key[1]))
        except (TypeError, ValueError):
            decode_cursor("!", 2)  # the same clear 422
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise HTTPException(422, f"{name} must carry a timezone, e.g. 2026-03-01T00:00:00Z")
    if since and until and until <= since:
        raise HTTPException(422, "'until' must be after 'since'")
    rows = await list_alerts(
        db,
        rules=[r.value for r in rule] if rule else None,
        severities=[s.value for s in severity] if severity else None,
        statuses=[s.value for s in status_] if status_ else None,
        bbox=parse_bbox(bbox),
        since=since,
        until=until,
        mmsi=mmsi,
        after=after,
        limit=min(limit, settings.api_max_rows),
    )
    items = [Alert.model_validate(r) for r in rows]
    last = items[-1] if len(items) == limit else None
    return AlertPage(
        items=items,
        next_cursor=encode_cursor(last.updated_at.isoformat(), str(last.alert_id))
        if last
        else None,
    )


@router.get("/{alert_id}", response_model=AlertDetail, responses=_NOT_FOUND)
async def one(caller: AnyRole, db: Db, alert_id: AlertIdPath, request: Request) -> AlertDetail:
    """The alert and its evidence: the track of its (first) vessel from an hour before it
    began to an hour after its last update (at most a day), the zone, the other vessel of
    a pair, the sighting that raised it (under the sharing rule), and the nearest available
    assets the caller may see."""
    row = await get_alert(db, alert_id)
    if row is None:
        raise _not_found(alert_id)
    detail: dict[str, Any] = dict(row)
    mmsis: list[int] = row["mmsis"]
    if mmsis:
        start = row["started_at"] - timedelta(hours=1)
        end = min(row["updated_at"] + timedelta(hours=1), start + timedelta(days=1))
        import json

        detail["track"] = json.loads(await track_geojson(db, mmsis[0], start, end, 2000))
    if len(mmsis) > 1:
        other = await vessel(db, mmsis[1])
        detail["other_vessel"] = Vessel.model_validate(other) if other else None
    if row["geofence_id"]:
        from store.config_queries import GEOFENCES, get_config

        zone = await get_config(db, GEOFENCES, row["geofence_id"])
        if zone is not None:
            detail["zone"] = {
                "type": "Feature",
                "id": zone["geofence_id"],
                "geometry": zone["geometry"],
                "properties": {"name": zone["name"], "kind": zone["kind"]},
            }
    report_id = _report_id(row)
    if report_id is not None:
        report = await get_report(db, report_id)
        if report is not None:
            detail["sighting"] = Report.model_validate(report)
            await audit(db, caller, "read", "report", str(report_id), {"via": "alert"})
    finder = getattr(request.app.state, "route_finder", None)
    if finder is not None and row["lat"] is not None and row["lon"] is not None:
        detail["nearest_assets"] = await nearest_help(
            db, finder, request.app.state.settings, row["lat"], row["lon"]
        )
    return AlertDetail.model_validate(detail)


def _report_id(row: dict[str, Any]) -> uuid.UUID | None:
    for candidate in (row["evidence"].get("report_id"), row["subject"]):
        try:
            return uuid.UUID(str(candidate))
        except ValueError:
            continue
    return None


_ALLOWED_FROM = {
    wire.AlertStatus.ACKNOWLEDGED: {wire.AlertStatus.OPEN, wire.AlertStatus.ACKNOWLEDGED},
    wire.AlertStatus.ESCALATED: {wire.AlertStatus.OPEN, wire.AlertStatus.ACKNOWLEDGED},
    wire.AlertStatus.CLOSED: {
        wire.AlertStatus.OPEN,
        wire.AlertStatus.ACKNOWLEDGED,
        wire.AlertStatus.ESCALATED,
    },
}


async def _decide(
    request: Request,
    caller: Watch,
    db: Db,
    bus: BusDep,
    alert_id: uuid.UUID,
    decision: Decision,
    to: wire.AlertStatus,
) -> Alert:
    current = await get_alert(db, alert_id)
    if current is None:
        raise _not_found(alert_id)
    if current["status"] not in _ALLOWED_FROM[to]:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"the alert is {current['status']}; it cannot become {to}"
        )
    row = await decide(db, alert_id, to, caller.agency, decision.note, datetime.now(UTC))
    if row is None:
        raise _not_found(alert_id)
    await audit(db, caller, to.value, "alert", str(alert_id), {"note": decision.note})
    message = wire.Alert(
        alert_id=row["alert_id"],
        rule=row["rule"],
        change=wire.AlertChange.UPDATED,
        status=row["status"],
        severity=row["severity"],
        score=row["score"],
        subject=row["subject"],
        mmsis=row["mmsis"],
        title=row["title"],
        started_at=row["started_at"],
        updated_at=row["updated_at"],
        ended_at=row["ended_at"],
        lat=row["lat"],
        lon=row["lon"],
        geofence_id=row["geofence_id"],
        source_agency=row["source_agency"],
        evidence=row["evidence"],
    )
    await publish(
        bus,
        [
            Outgoing(
                Topic.FUSION_ALERTS.value,
                str(alert_id),
                message,
                headers=(
                    ("lookout_decision", to.value.encode()),
                    ("lookout_decided_by", caller.agency.encode()),
                ),
            )
        ],
    )
    live = getattr(request.app.state, "live", None)
    if live is not None:
        live.wake()
    return Alert.model_validate(row)


@router.post("/{alert_id}/acknowledge", response_model=Alert, responses=_NOT_FOUND)
async def acknowledge(
    request: Request, caller: Watch, db: Db, bus: BusDep, alert_id: AlertIdPath, decision: Decision
) -> Alert:
    """A watch officer has seen it. Fusion's later updates never undo this."""
    return await _decide(
        request, caller, db, bus, alert_id, decision, wire.AlertStatus.ACKNOWLEDGED
    )


@router.post("/{alert_id}/escalate", response_model=Alert, responses=_NOT_FOUND)
async def escalate(
    request: Request, caller: Watch, db: Db, bus: BusDep, alert_id: AlertIdPath, decision: Decision
) -> Alert:
    """Handed up (or to a partner agency) for action."""
    return await _decide(request, caller, db, bus, alert_id, decision, wire.AlertStatus.ESCALATED)


@router.post("/{alert_id}/close", response_model=Alert, responses=_NOT_FOUND)
async def close(
    request: Request, caller: Watch, db: Db, bus: BusDep, alert_id: AlertIdPath, decision: Decision
) -> Alert:
    """Closed by a person, with a note. It stays closed whatever fusion sends later."""
    return await _decide(request, caller, db, bus, alert_id, decision, wire.AlertStatus.CLOSED)
