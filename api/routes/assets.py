"""``/v1/assets``: an agency's patrol assets (ships, boats, aircraft) and partners' shared ones.

Registering is an admin's job; marking an asset available or not is the watch floor's;
a position is reported by whoever files reports (watch, analyst, integrator). Row-level
security (migration 014) decides what a caller sees: its own assets, and the ones other
agencies share with partners. A partner's asset may be seen, never changed (403).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, status

from api.deps import Admin, AnyRole, Db, Reporter, Watch, audit
from schemas.assets import Asset, AssetCreate, AssetPositionReport, AssetUpdate
from store.assets import (
    AssetConflict,
    NotYourAsset,
    get_asset,
    register_asset,
    report_position,
    update_asset,
    visible_assets,
)
from store.errors import QueryError

router = APIRouter(prefix="/assets", tags=["assets"])


def _not_found(asset_id: uuid.UUID) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no asset {asset_id} you may see")


@router.get("", response_model=list[Asset])
async def list_assets(caller: AnyRole, db: Db) -> list[Asset]:
    """The caller's assets, then partners' shared ones, each with its last known position."""
    return await visible_assets(db)


@router.post("", response_model=Asset, status_code=status.HTTP_201_CREATED)
async def register(body: AssetCreate, caller: Admin, db: Db) -> Asset:
    """Register one of the caller's agency's assets."""
    try:
        asset = await register_asset(db, caller.agency, body)
    except AssetConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except QueryError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    await audit(db, caller, "create", "asset", str(asset.asset_id), {"name": asset.name})
    return asset


@router.get("/{asset_id}", response_model=Asset)
async def one_asset(asset_id: uuid.UUID, caller: AnyRole, db: Db) -> Asset:
    asset = await get_asset(db, asset_id)
    if asset is None:
        raise _not_found(asset_id)
    return asset


@router.patch("/{asset_id}", response_model=Asset)
async def change(asset_id: uuid.UUID, body: AssetUpdate, caller: Watch, db: Db) -> Asset:
    """Change an own asset: availability, sharing, speeds, name, MMSI."""
    try:
        asset = await update_asset(db, asset_id, body)
    except NotYourAsset as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except AssetConflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except QueryError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    if asset is None:
        raise _not_found(asset_id)
    await audit(
        db,
        caller,
        "update",
        "asset",
        str(asset_id),
        body.model_dump(mode="json", exclude_unset=True),
    )
    return asset


@router.post("/{asset_id}/positions", response_model=Asset)
async def position(
    asset_id: uuid.UUID, body: AssetPositionReport, caller: Reporter, db: Db
) -> Asset:
    """Where an own asset is (for assets without AIS; with AIS the newer position wins)."""
    try:
        asset = await report_position(db, asset_id, body)
    except NotYourAsset as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    if asset is None:
        raise _not_found(asset_id)
    return asset
