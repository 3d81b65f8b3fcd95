"""Patrol and community reports: filed as JSON (one sighting) or CSV (a batch), published
to ``patrol.reports``; read back under the sharing rule, every read audited."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from api.common import BusDep, Settings, inline_schema, publish, unprocessable
from api.deps import AnyRole, Db, Reporter, audit
from api.models import Created, CreatedMany, Report, ReportIn, ReportPage
from api.pagination import decode_cursor, encode_cursor
from bus.base import Outgoing
from schemas.patrol import PatrolReport
from schemas.topics import Topic
from store.report_queries import get_report, list_reports

router = APIRouter(prefix="/reports", tags=["reports"])

MAX_BATCH = 1000
MAX_BODY_BYTES = 2_000_000
CLOCK_AHEAD = timedelta(minutes=5)
"""A sighting dated further ahead than this is a wrong clock, refused."""

_REPORT_SCHEMA = inline_schema(ReportIn)
_CSV_EXAMPLE = (
    "observed_at,lat,lon,reporter_kind,activity,vessel_description,persons_on_board\n"
    "2026-03-01T04:30:00Z,-8.72,115.18,fisher,people_smuggling,wooden boat,40\n"
)


def _reason(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
    )


def _wire(item: ReportIn, agency: str, now: datetime) -> PatrolReport:
    if item.observed_at > now + CLOCK_AHEAD:
        raise ValueError(f"observed_at {item.observed_at.isoformat()} is in the future")
    return PatrolReport(
        report_id=item.report_id or uuid.uuid4(),
        agency=agency,
        received_at=now,
        **item.model_dump(exclude={"report_id"}),
    )


def _csv_items(text: str) -> list[ReportIn]:
    reader = csv.DictReader(io.StringIO(text))
    items: list[ReportIn] = []
    errors: list[str] = []
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        if len(items) + len(errors) >= MAX_BATCH:
            raise unprocessable(f"a CSV batch holds at most {MAX_BATCH} reports")
        fields: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
        if None in row:
            errors.append(f"line {number}: more cells than header columns")
            continue
        try:
            items.append(ReportIn.model_validate(fields))
        except ValidationError as exc:
            errors.append(f"line {number}: {_reason(exc)}")
    if errors:
        raise unprocessable("nothing was filed; " + " | ".join(errors[:20]))
    if not items:
        raise unprocessable("the CSV has a header but no report")
    return items


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Created | CreatedMany,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _REPORT_SCHEMA},
                "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
            },
        }
    },
)
async def file_reports(request: Request, caller: Reporter, db: Db, bus: BusDep) -> JSONResponse:
    """File one sighting (JSON: 201 with its report_id) or a batch (CSV with a header row
    naming the same fields: 201 with every report_id; one bad line refuses the batch with
    each line's reason, so nothing is half-filed). The agency comes from the key."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "at most 2 MB per request")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise unprocessable("the body is not UTF-8") from None
    now = datetime.now(UTC)
    if kind == "text/csv":
        items = _csv_items(text)
    elif kind in ("application/json", ""):
        try:
            items = [ReportIn.model_validate(json.loads(text))]
        except json.JSONDecodeError as exc:
            raise unprocessable(f"the body is not JSON: {exc.msg}") from None
        except ValidationError as exc:
            raise unprocessable(_reason(exc)) from None
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send application/json or text/csv"
        )
    try:
        reports = [_wire(item, caller.agency, now) for item in items]
    except (ValueError, ValidationError) as exc:
        raise unprocessable(str(exc)) from None
    await publish(
        bus,
        [Outgoing(Topic.PATROL_REPORTS.value, str(r.report_id), r) for r in reports],
    )
    ids = [r.report_id for r in reports]
    await audit(db, caller, "create", "report", None, {"report_ids": [str(i) for i in ids]})
    payload: Created | CreatedMany = (
        Created(report_id=ids[0]) if kind != "text/csv" else CreatedMany(report_ids=ids)
    )
    return JSONResponse(payload.model_dump(mode="json"), status_code=status.HTTP_201_CREATED)


@router.get("", response_model=ReportPage)
async def search(
    caller: AnyRole,
    db: Db,
    settings: Settings,
    since: Annotated[datetime | None, Query(description="Observed at or after.")] = None,
    until: Annotated[datetime | None, Query(description="Observed before.")] = None,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=300)] = None,
) -> ReportPage:
    """Reports the caller may see (its own, and others' while it contributes), by time
    observed, newest first. Every report read is audited."""
    after = None
    if cursor:
        key = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(key[0]), uuid.UUID(key[1]))
        except (TypeError, ValueError):
            raise unprocessable("invalid cursor") from None
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise unprocessable(f"{name} must carry a timezone")
    rows = await list_reports(
        db,
        since=since,
        until=until,
        agency=agency,
        after=after,
        limit=min(limit, settings.api_max_rows),
    )
    items = [Report.model_validate(r) for r in rows]
    if items:
        await audit(
            db, caller, "read", "report", None, {"report_ids": [str(r.report_id) for r in items]}
        )
    last = items[-1] if len(items) == limit else None
    return ReportPage(
        items=items,
        next_cursor=encode_cursor(last.observed_at.isoformat(), str(last.report_id))
        if last
        else None,
    )


@router.get(
    "/{report_id}",
    response_model=Report,
    responses={404: {"description": "No such report, or not shared with the caller"}},
)
async def one(caller: AnyRole, db: Db, report_id: Annotated[uuid.UUID, Path()]) -> Report:
    row = await get_report(db, report_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no report {report_id}")
    await audit(db, caller, "read", "report", str(report_id))
    return Report.model_validate(row)
