"""``/v1/alerts/{alert_id}/nearest-assets``: who could be there soonest.

Computed when asked, from the assets the caller may see (row-level security, migration
014), never stored with the alert: no agency learns of another's hidden asset. The
sea-route search runs off the event loop (tens of milliseconds of CPU per alert).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request, status

from api.assets.nearest import RouteFinder, nearest_assets
from api.deps import AnyRole, Db
from api.settings import ApiSettings
from schemas.assets import NearestAsset
from store.assets import visible_assets
from store.db import Conn

router = APIRouter(tags=["assets"])


FinderFactory = Callable[[], RouteFinder]


def route_finder(request: Request) -> FinderFactory:
    """The sea router the composition root handed to the app (built on first use)."""
    finder: FinderFactory | None = getattr(request.app.state, "route_finder", None)
    if finder is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "nearest help needs the sea router, not set up"
        )
    return finder


async def nearest_help(
    db: Conn, finder: FinderFactory, settings: ApiSettings, lat: float, lon: float
) -> list[NearestAsset]:
    """The nearest available assets the caller may see, to (lat, lon), soonest first.
    The router (and its coastline) is only built once there is an asset to route to."""
    assets = [a for a in await visible_assets(db) if a.available and a.lat is not None]
    if not assets:
        return []

    def rank() -> list[NearestAsset]:
        # The router too is got in the worker thread: its first build (the coastline,
        # about a second of CPU) on the event loop held every other request, the live
        # streams and the health checks up meanwhile (a request timing out under load).
        return nearest_assets(
            (lat, lon),
            assets,
            finder(),
            limit=settings.nearest_assets_limit,
            max_range_nm=settings.nearest_assets_max_range_nm,
        )

    return await asyncio.to_thread(rank)


@router.get("/alerts/{alert_id}/nearest-assets", response_model=list[NearestAsset])
async def alert_nearest_assets(
    alert_id: uuid.UUID, request: Request, caller: AnyRole, db: Db
) -> list[NearestAsset]:
    """The nearest available assets to the alert's latest position, ranked by time to
    reach at cruising speed (by sea around land for ships and boats)."""
    cur = await db.execute(
        "SELECT lat, lon FROM alerts WHERE alert_id = %s ORDER BY started_at DESC LIMIT 1",
        (alert_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id} you may see")
    if row[0] is None or row[1] is None:
        return []  # no position yet (a MAYDAY text from a vessel not seen): nothing to rank
    settings: ApiSettings = request.app.state.settings
    return await nearest_help(db, route_finder(request), settings, float(row[0]), float(row[1]))
