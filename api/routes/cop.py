"""The common operating picture: latest vessels and the zones, as GeoJSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from api.common import WHOLE_WORLD, BboxQuery, parse_bbox
from api.cop_cache import CopCache
from api.deps import AnyRole, Db
from store.cop import cop_vessels_geojson, zones_geojson
from store.db import Conn

router = APIRouter(prefix="/cop", tags=["common operating picture"])

GEOJSON = "application/geo+json"
_FEATURES = {
    200: {
        "content": {
            GEOJSON: {
                "example": {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "id": 525012345,
                            "geometry": {"type": "Point", "coordinates": [115.2, -8.7]},
                            "properties": {
                                "mmsi": 525012345,
                                "name": "KM SINAR JAYA",
                                "ship_type": 30,
                                "course_deg": 92.5,
                                "speed_kn": 7.1,
                                "heading_deg": 90,
                                "seconds_since_seen": 42.0,
                                "open_alerts": 1,
                            },
                        }
                    ],
                }
            }
        },
        "description": "A GeoJSON FeatureCollection.",
    }
}


@router.get("/vessels", response_class=Response, responses=_FEATURES)  # type: ignore[arg-type]
async def cop_vessels(
    request: Request,
    caller: AnyRole,
    db: Db,
    bbox: BboxQuery = None,
    max_age_s: Annotated[
        float | None,
        Query(gt=0, le=365 * 86400, description="Leave off vessels not heard for this long."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 20_000,
) -> Response:
    """Latest position of every vessel in the box (default: everywhere), newest first:
    identity, ship type, course, speed, heading, seconds since seen and the count of open
    alerts the caller may see. Built by PostgreSQL as GeoJSON text, and kept for
    LOOKOUT_COP_CACHE_S (1 s) for the caller's agency asking the same question."""
    box = parse_bbox(bbox) or WHOLE_WORLD

    async def build(conn: Conn) -> str:
        oldest = datetime.now(UTC) - timedelta(seconds=max_age_s) if max_age_s else None
        return await cop_vessels_geojson(conn, box, oldest=oldest, limit=limit)

    cache: CopCache = request.app.state.cop_cache
    question = (box.min_lon, box.min_lat, box.max_lon, box.max_lat, max_age_s, limit)
    body = await cache.get(db, caller.agency, question, build)
    return Response(body, media_type=GEOJSON)


@router.get("/zones", response_class=Response, responses=_FEATURES)  # type: ignore[arg-type]
async def cop_zones(caller: AnyRole, db: Db) -> Response:
    """The active geofences as GeoJSON Features (properties: name, kind, rules)."""
    return Response(await zones_geojson(db), media_type=GEOJSON)
