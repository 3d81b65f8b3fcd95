"""The audit log: who read and changed what (an agency's admin sees its own rows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from psycopg.rows import dict_row
from pydantic import BaseModel, JsonValue

from api.deps import Admin, Db

router = APIRouter(tags=["audit"])


class AuditEntry(BaseModel):
    audit_id: int
    at: datetime
    agency_id: str | None
    key_id: uuid.UUID | None
    action: str
    resource: str
    resource_id: str | None
    detail: dict[str, JsonValue]


@router.get("/audit", response_model=list[AuditEntry])
async def audit_log(
    caller: Admin,
    db: Db,
    before: Annotated[
        int | None, Query(ge=1, description="Cursor: entries older than this id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    """The caller's agency's audit entries, newest first (row-level security keeps other
    agencies' entries out)."""
    async with db.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT audit_id, at, agency_id, key_id, action, resource, resource_id, detail "
            "FROM audit_log WHERE %(before)s::bigint IS NULL OR audit_id < %(before)s "
            "ORDER BY audit_id DESC LIMIT %(limit)s",
            {"before": before, "limit": limit},
        )
        return [AuditEntry.model_validate(row) for row in await cur.fetchall()]
