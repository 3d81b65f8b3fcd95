"""Patrol assets: register, change, report a position, and read the ones the caller may see.

Run on the API's connection (the ``lookout_api`` role, ``lookout.agency`` set): row-level
security (migration 014) shows an agency its own assets and partners' shared ones, and
lets it change only its own. Where an asset is: the newer of its AIS position (the
``vessels`` row of its MMSI) and the last position it reported over the API.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from schemas.assets import Asset, AssetCreate, AssetPositionReport, AssetUpdate
from store.db import Conn
from store.errors import QueryError


class AssetConflict(QueryError):
    """The agency already has an asset of that name or MMSI."""


class NotYourAsset(QueryError):
    """The asset is a partner's: it may be seen, not changed."""


_SELECT = """
SELECT a.asset_id, a.agency_id, a.name, a.kind, a.mmsi, a.cruising_speed_kn,
    a.max_speed_kn, a.available, a.shared_with_partners,
    coalesce(a.agency_id = lookout_agency(), false) AS own,
    CASE WHEN p.ais THEN v.lat ELSE a.reported_lat END AS lat,
    CASE WHEN p.ais THEN v.lon ELSE a.reported_lon END AS lon,
    CASE WHEN p.ais THEN v.time ELSE a.reported_at END AS position_at,
    CASE WHEN p.ais THEN 'ais' WHEN a.reported_at IS NOT NULL THEN 'reported' END
        AS position_source
FROM assets a
LEFT JOIN vessels v ON a.mmsi IS NOT NULL AND v.mmsi = a.mmsi
CROSS JOIN LATERAL (
    SELECT v.time IS NOT NULL AND v.lat IS NOT NULL AND v.lon IS NOT NULL
        AND (a.reported_at IS NULL OR v.time >= a.reported_at) AS ais
) p
"""


async def _fetch(conn: Conn, where: str, params: dict[str, Any]) -> list[Asset]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            (_SELECT + where + " ORDER BY own DESC, a.agency_id, a.name").encode(), params
        )
        return [Asset.model_validate(row) for row in await cur.fetchall()]


async def visible_assets(conn: Conn) -> list[Asset]:
    """The caller's assets first, then partners' shared ones."""
    return await _fetch(conn, "", {})


async def get_asset(conn: Conn, asset_id: uuid.UUID) -> Asset | None:
    """The asset, or None when it does not exist or the caller may not see it."""
    found = await _fetch(conn, "WHERE a.asset_id = %(id)s", {"id": asset_id})
    return found[0] if found else None


async def register_asset(conn: Conn, agency_id: str, new: AssetCreate) -> Asset:
    asset_id = uuid.uuid4()
    try:
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO assets (asset_id, agency_id, name, kind, mmsi, cruising_speed_kn, "
                "max_speed_kn, available, shared_with_partners) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    asset_id,
                    agency_id,
                    new.name,
                    new.kind.value,
                    new.mmsi,
                    new.cruising_speed_kn,
                    new.max_speed_kn,
                    new.available,
                    new.shared_with_partners,
                ),
            )
    except psycopg.errors.UniqueViolation:
        raise AssetConflict(
            f"your agency already has an asset named {new.name!r} or with MMSI {new.mmsi}"
        ) from None
    except psycopg.errors.IntegrityError as exc:
        raise QueryError(f"the asset was refused: {exc.diag.constraint_name}") from None
    found = await get_asset(conn, asset_id)
    assert found is not None  # just written, by the caller's own agency
    return found


async def update_asset(conn: Conn, asset_id: uuid.UUID, change: AssetUpdate) -> Asset | None:
    """Apply the fields ``change`` sets; None when the caller cannot see the asset."""
    # A field sent as null means "no change", except the MMSI (null: it carries no AIS).
    fields = {
        name: value
        for name, value in change.model_dump(exclude_unset=True).items()
        if value is not None or name == "mmsi"
    }
    current = await _own(conn, asset_id)
    if current is None:
        return None
    if fields:
        merged = current.model_copy(update=fields)
        if merged.max_speed_kn < merged.cruising_speed_kn:
            raise QueryError(
                f"maximum speed {merged.max_speed_kn} kn is below cruising speed "
                f"{merged.cruising_speed_kn} kn"
            )
        # Column names come from AssetUpdate's fields, never from the request's text.
        sets = ", ".join(f"{name} = %({name})s" for name in fields)
        query = f"UPDATE assets SET {sets}, updated_at = now() WHERE asset_id = %(id)s"
        try:
            async with conn.transaction():
                await conn.execute(query.encode(), {**fields, "id": asset_id})
        except psycopg.errors.UniqueViolation:
            raise AssetConflict("your agency already has an asset of that name or MMSI") from None
        except psycopg.errors.IntegrityError as exc:
            raise QueryError(f"the change was refused: {exc.diag.constraint_name}") from None
    return await get_asset(conn, asset_id)


async def report_position(
    conn: Conn, asset_id: uuid.UUID, report: AssetPositionReport
) -> Asset | None:
    """Where the asset was, as it reports; an older report than the last one is kept out
    (the newest position wins, whatever order reports arrive in)."""
    if await _own(conn, asset_id) is None:
        return None
    await conn.execute(
        "UPDATE assets SET reported_lat = %(lat)s, reported_lon = %(lon)s, "
        "reported_at = %(at)s, updated_at = now() "
        "WHERE asset_id = %(id)s AND (reported_at IS NULL OR reported_at <= %(at)s)",
        {"lat": report.lat, "lon": report.lon, "at": report.at, "id": asset_id},
    )
    return await get_asset(conn, asset_id)


async def _own(conn: Conn, asset_id: uuid.UUID) -> Asset | None:
    asset = await get_asset(conn, asset_id)
    if asset is not None and not asset.own:
        raise NotYourAsset(f"asset {asset_id} belongs to {asset.agency_id}: it may not be changed")
    return asset
