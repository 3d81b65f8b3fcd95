"""Geofences and the watchlist. Every change is published to its compacted config topic
(the one source of truth: fusion reads it live, the sink keeps the tables in step, a
tombstone deletes); reads come from those tables."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import shapely
import shapely.validation
from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.common import BusDep, Settings, inline_schema, publish, unprocessable
from api.deps import Analyst, AnyRole, Db, audit
from api.models import (
    GeofenceIn,
    GeofenceOut,
    GeofencePage,
    WatchlistIn,
    WatchlistOut,
    WatchlistPage,
    ZoneProperties,
)
from api.pagination import decode_cursor, encode_cursor
from api.settings import ApiSettings
from bus.base import Outgoing
from schemas.config import Geofence, PolygonGeometry, WatchlistEntry
from schemas.topics import Topic
from store.config_queries import GEOFENCES, WATCHLIST, ConfigTable, get_config, list_config

router = APIRouter(tags=["configuration"])

ObjectId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
PageLimit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=200)]
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
MAX_WATCHLIST_BATCH = 5000
Out = TypeVar("Out", bound=BaseModel)


async def _page(
    db: Db, table: ConfigTable, model: type[Out], limit: int, cursor: str | None
) -> tuple[list[Out], str | None]:
    """One page of a config table, and the cursor of the next (None on the last)."""
    after = str(decode_cursor(cursor, 1)[0]) if cursor else None
    items = [
        model.model_validate(r) for r in await list_config(db, table, after=after, limit=limit)
    ]
    last = getattr(items[-1], table.key) if len(items) == limit else None
    return items, encode_cursor(last) if last is not None else None


async def _one(db: Db, table: ConfigTable, model: type[Out], object_id: str) -> Out:
    row = await get_config(db, table, object_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {table.what} {object_id!r}")
    return model.model_validate(row)


class GeofenceFeature(BaseModel):
    """A GeoJSON Feature upload: the zone's fields are its properties."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["Feature"]
    id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    geometry: PolygonGeometry
    properties: ZoneProperties


def checked_geometry(geometry: PolygonGeometry, settings: ApiSettings) -> None:
    """A zone fusion can use: valid (shapely.is_valid: no self-intersection, rings closed
    and the right way inside each other), not too many vertices, not too wide."""
    shape = shapely.geometry.shape(geometry.model_dump())
    vertices = int(shapely.get_num_coordinates(shape))
    if vertices > settings.geofence_max_vertices:
        raise unprocessable(
            f"the zone has {vertices} vertices; at most {settings.geofence_max_vertices} "
            "(LOOKOUT_GEOFENCE_MAX_VERTICES): simplify it"
        )
    if not shapely.is_valid(shape):
        raise unprocessable(f"invalid geometry: {shapely.validation.explain_validity(shape)}")
    if shape.area == 0:
        raise unprocessable("invalid geometry: the zone has no area")
    west, south, east, north = shape.bounds
    span = max(east - west, north - south)
    if span > settings.geofence_max_span_deg:
        raise unprocessable(
            f"the zone spans {span:.1f} degrees; at most {settings.geofence_max_span_deg:g} "
            "(LOOKOUT_GEOFENCE_MAX_SPAN_DEG)"
        )


def _geofence_out(g: Geofence) -> GeofenceOut:
    return GeofenceOut.model_validate(
        g.model_dump(mode="json", include=set(GeofenceOut.model_fields))
    )


async def _publish_geofence(
    bus: BusDep, db: Db, caller: Analyst, geofence_id: str, zone: GeofenceIn, settings: Settings
) -> GeofenceOut:
    checked_geometry(zone.geometry, settings)
    geofence = Geofence(
        geofence_id=geofence_id,
        owner_agency=caller.agency,
        updated_at=datetime.now(UTC),
        **zone.model_dump(),
    )
    await publish(bus, [Outgoing(Topic.CONFIG_GEOFENCES.value, geofence_id, geofence)])
    await audit(db, caller, "upsert", "geofence", geofence_id)
    return _geofence_out(geofence)


@router.get("/geofences", response_model=GeofencePage)
async def geofences(
    caller: AnyRole, db: Db, limit: PageLimit = 100, cursor: Cursor = None
) -> GeofencePage:
    items, next_cursor = await _page(db, GEOFENCES, GeofenceOut, limit, cursor)
    return GeofencePage(items=items, next_cursor=next_cursor)


@router.get("/geofences/{geofence_id}", response_model=GeofenceOut)
async def geofence(caller: AnyRole, db: Db, geofence_id: ObjectId) -> GeofenceOut:
    return await _one(db, GEOFENCES, GeofenceOut, geofence_id)


@router.post("/geofences", response_model=GeofenceOut, status_code=status.HTTP_201_CREATED)
async def create_geofence(
    caller: Analyst, db: Db, bus: BusDep, settings: Settings, zone: GeofenceIn | GeofenceFeature
) -> GeofenceOut:
    """A new zone, as our JSON or as a GeoJSON Feature (name, kind, rules, active in its
    properties). Validated: a clear 422 says what is wrong with the geometry."""
    if isinstance(zone, GeofenceFeature):
        geofence_id = zone.id or f"zone-{uuid.uuid4().hex[:12]}"
        body = GeofenceIn(geometry=zone.geometry, **zone.properties.model_dump())
    else:
        geofence_id, body = f"zone-{uuid.uuid4().hex[:12]}", zone
    return await _publish_geofence(bus, db, caller, geofence_id, body, settings)


@router.put("/geofences/{geofence_id}", response_model=GeofenceOut)
async def replace_geofence(
    caller: Analyst,
    db: Db,
    bus: BusDep,
    settings: Settings,
    geofence_id: ObjectId,
    zone: GeofenceIn,
) -> GeofenceOut:
    """Create or replace the zone with this id."""
    return await _publish_geofence(bus, db, caller, geofence_id, zone, settings)


@router.delete("/geofences/{geofence_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_geofence(caller: Analyst, db: Db, bus: BusDep, geofence_id: ObjectId) -> None:
    """Publish a tombstone: fusion drops the zone, the sink deletes its row."""
    await publish(bus, [Outgoing(Topic.CONFIG_GEOFENCES.value, geofence_id, None)])
    await audit(db, caller, "delete", "geofence", geofence_id)


@router.get("/watchlist", response_model=WatchlistPage)
async def watchlist(
    caller: AnyRole, db: Db, limit: PageLimit = 100, cursor: Cursor = None
) -> WatchlistPage:
    items, next_cursor = await _page(db, WATCHLIST, WatchlistOut, limit, cursor)
    return WatchlistPage(items=items, next_cursor=next_cursor)


@router.get("/watchlist/{entry_id}", response_model=WatchlistOut)
async def watchlist_entry(caller: AnyRole, db: Db, entry_id: ObjectId) -> WatchlistOut:
    return await _one(db, WATCHLIST, WatchlistOut, entry_id)


def _entry(entry_id: str, item: WatchlistIn, agency: str, now: datetime) -> WatchlistEntry:
    return WatchlistEntry(
        entry_id=entry_id, owner_agency=agency, updated_at=now, **item.model_dump()
    )


def _reason(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
    )


_WATCH_CSV = (
    "entry_id,mmsi,imo,callsign,name,reason,severity\nw-1,525012345,,,,suspected smuggling,high\n"
)


@router.post(
    "/watchlist",
    status_code=status.HTTP_201_CREATED,
    response_model=list[WatchlistOut],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline_schema(WatchlistIn)},
                "text/csv": {"schema": {"type": "string"}, "example": _WATCH_CSV},
            },
        }
    },
)
async def add_to_watchlist(request: Request, caller: Analyst, db: Db, bus: BusDep) -> JSONResponse:
    """One entry (JSON) or many (CSV with a header: entry_id (optional), mmsi, imo,
    callsign, name, reason, severity). A bad line refuses the whole upload, each line's
    reason given."""
    body = await request.body()
    if len(body) > 2_000_000:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "at most 2 MB per request")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    now = datetime.now(UTC)
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise unprocessable("the body is not UTF-8") from None
    entries: list[WatchlistEntry] = []
    if kind == "text/csv":
        errors: list[str] = []
        for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
            if number - 1 > MAX_WATCHLIST_BATCH:
                raise unprocessable(f"at most {MAX_WATCHLIST_BATCH} entries per upload")
            fields: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
            entry_id = str(fields.pop("entry_id", "") or f"watch-{uuid.uuid4().hex[:12]}")
            if not _ID.match(entry_id):
                errors.append(
                    f"line {number}: entry_id {entry_id!r} is not 1-64 of A-Z a-z 0-9 _ . : -"
                )
                continue
            try:
                entries.append(
                    _entry(entry_id, WatchlistIn.model_validate(fields), caller.agency, now)
                )
            except ValidationError as exc:
                errors.append(f"line {number}: {_reason(exc)}")
        if errors:
            raise unprocessable("nothing was added; " + " | ".join(errors[:20]))
        if not entries:
            raise unprocessable("the CSV has a header but no entry")
    elif kind in ("application/json", ""):
        try:
            item = WatchlistIn.model_validate(json.loads(text))
            entries.append(_entry(f"watch-{uuid.uuid4().hex[:12]}", item, caller.agency, now))
        except json.JSONDecodeError as exc:
            raise unprocessable(f"the body is not JSON: {exc.msg}") from None
        except ValidationError as exc:
            raise unprocessable(_reason(exc)) from None
    else:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "send application/json or text/csv"
        )
    await publish(bus, [Outgoing(Topic.CONFIG_WATCHLIST.value, e.entry_id, e) for e in entries])
    await audit(
        db, caller, "upsert", "watchlist", None, {"entry_ids": [e.entry_id for e in entries]}
    )
    out = [
        WatchlistOut.model_validate(
            e.model_dump(mode="json", include=set(WatchlistOut.model_fields))
        )
        for e in entries
    ]
    return JSONResponse([o.model_dump(mode="json") for o in out], status_code=201)


@router.put("/watchlist/{entry_id}", response_model=WatchlistOut)
async def replace_watchlist_entry(
    caller: Analyst, db: Db, bus: BusDep, entry_id: ObjectId, item: WatchlistIn
) -> WatchlistOut:
    try:
        entry = _entry(entry_id, item, caller.agency, datetime.now(UTC))
    except ValidationError as exc:
        raise unprocessable(_reason(exc)) from None
    await publish(bus, [Outgoing(Topic.CONFIG_WATCHLIST.value, entry_id, entry)])
    await audit(db, caller, "upsert", "watchlist", entry_id)
    return WatchlistOut.model_validate(
        entry.model_dump(mode="json", include=set(WatchlistOut.model_fields))
    )


@router.delete("/watchlist/{entry_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_watchlist_entry(caller: Analyst, db: Db, bus: BusDep, entry_id: ObjectId) -> None:
    await publish(bus, [Outgoing(Topic.CONFIG_WATCHLIST.value, entry_id, None)])
    await audit(db, caller, "delete", "watchlist", entry_id)
