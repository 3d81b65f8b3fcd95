"""Vessels: search by identity, one vessel, identity history, track, area questions."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from api.common import Settings, unprocessable, window
from api.deps import Analyst, AnyRole, Db
from api.models import AreaQuestion, Presence, Vessel, VesselPage
from api.pagination import decode_cursor, encode_cursor
from store.area import vessels_in_area
from store.errors import QueryError
from store.models import IdentityChange
from store.queries import identity_history
from store.vessel_queries import search_vessels, track_geojson, track_rows, vessel

router = APIRouter(prefix="/vessels", tags=["vessels"])

MmsiPath = Annotated[int, Path(ge=0, le=999_999_999, examples=[525012345])]


@router.get("", response_model=VesselPage)
async def search(
    caller: AnyRole,
    db: Db,
    settings: Settings,
    q: Annotated[
        str | None,
        Query(max_length=64, description="MMSI, IMO, call sign, or part of the name."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> VesselPage:
    """Vessels by MMSI, IMO, call sign or name (any case, part of it), by MMSI."""
    after = int(decode_cursor(cursor, 1)[0]) if cursor else None
    rows = await search_vessels(db, q, after_mmsi=after, limit=min(limit, settings.api_max_rows))
    items = [Vessel.model_validate(r) for r in rows]
    more = len(items) == limit
    return VesselPage(items=items, next_cursor=encode_cursor(items[-1].mmsi) if more else None)


@router.get("/{mmsi}", response_model=Vessel, responses={404: {"description": "Unknown MMSI"}})
async def one(caller: AnyRole, db: Db, mmsi: MmsiPath) -> Vessel:
    row = await vessel(db, mmsi)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no vessel with MMSI {mmsi}")
    return Vessel.model_validate(row)


@router.get("/{mmsi}/identity", response_model=list[IdentityChange])
async def identity(caller: AnyRole, db: Db, mmsi: MmsiPath) -> list[IdentityChange]:
    """Every change of name, call sign, IMO or ship type, oldest first."""
    return await identity_history(db, mmsi)


@router.get(
    "/{mmsi}/track",
    response_class=Response,
    responses={
        200: {
            "content": {"application/geo+json": {}, "text/csv": {}},
            "description": "GeoJSON (a LineString, then one Point per position) or CSV.",
        }
    },
)
async def track(
    caller: AnyRole,
    db: Db,
    settings: Settings,
    mmsi: MmsiPath,
    start: Annotated[datetime | None, Query(description="Default: 24 h before end.")] = None,
    end: Annotated[datetime | None, Query(description="Default: now.")] = None,
    max_points: Annotated[
        int, Query(ge=2, le=100_000, description="Downsample to at most this many points.")
    ] = 5000,
    format: Annotated[Literal["geojson", "csv"], Query()] = "geojson",
) -> Response:
    """The vessel's positions in [start, end), oldest first."""
    start, end = window(start, end, settings)
    if format == "csv":
        rows = await track_rows(db, mmsi, start, end, max_points)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["time", "lat", "lon", "speed_kn", "course_deg", "heading_deg", "nav_status"]
        )
        for row in rows:
            writer.writerow([row[0].isoformat(), *("" if v is None else v for v in row[1:])])
        return Response(
            out.getvalue(),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="track-{mmsi}.csv"'},
        )
    body = await track_geojson(db, mmsi, start, end, max_points)
    return Response(body, media_type="application/geo+json")


@router.post("/in-area", response_model=list[Presence])
async def in_area(
    caller: Analyst, db: Db, settings: Settings, question: AreaQuestion
) -> list[Presence]:
    """Vessels with at least one position inside the polygon during [start, end): first
    and last seen there, and how many positions. Read through the H3 cell index."""
    start, end = window(question.start, question.end, settings)
    try:
        found = await vessels_in_area(db, question.geometry, start, end)
    except QueryError as exc:
        raise unprocessable(str(exc)) from None
    return [Presence.model_validate(p.model_dump()) for p in found]
