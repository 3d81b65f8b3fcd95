"""Agencies and their API keys, as the operator manages them (``lookout keys``).

A key is shown once, when it is created; the database keeps only its SHA-256 and a short
prefix by which a person recognises it in lists. The API never reads this table itself:
it calls ``lookout_authenticate(digest)`` (migration 008), which answers for a live key.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from store.db import Conn
from store.errors import QueryError

KEY_PREFIX = "lk_"
"""Every Lookout key starts with this, so a leaked one is recognisable (secret scanners)."""


class Role(StrEnum):
    """What a key may do. ``watch``: the watch floor (picture, alerts and decisions on them);
    ``analyst``: history, exports, reports; ``integrator``: machine clients (reports in,
    webhooks out); ``admin``: all of it, plus configuration (zones, watchlist)."""

    WATCH = "watch"
    ANALYST = "analyst"
    INTEGRATOR = "integrator"
    ADMIN = "admin"


@dataclass(frozen=True)
class NewKey:
    key_id: uuid.UUID
    agency_id: str
    role: Role
    secret: str
    """The key itself: shown once, never stored."""


@dataclass(frozen=True)
class KeyInfo:
    key_id: uuid.UUID
    agency_id: str
    role: Role
    label: str
    key_prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create_key(conn: Conn, agency_id: str, role: Role, label: str = "") -> NewKey:
    """A new key for ``agency_id`` (the agency is created when it is new)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = uuid.uuid4()
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO agencies (agency_id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (agency_id, agency_id),
        )
        await conn.execute(
            "INSERT INTO api_keys (key_id, agency_id, key_sha256, key_prefix, role, label) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            (key_id, agency_id, digest(secret), secret[:10], role.value, label),
        )
    return NewKey(key_id, agency_id, role, secret)


async def list_keys(conn: Conn, agency_id: str | None = None) -> list[KeyInfo]:
    cur = await conn.execute(
        "SELECT key_id, agency_id, role, label, key_prefix, created_at, last_used_at, "
        "revoked_at FROM api_keys WHERE %(agency)s::text IS NULL OR agency_id = %(agency)s "
        "ORDER BY agency_id, created_at",
        {"agency": agency_id},
    )
    return [
        KeyInfo(row[0], row[1], Role(row[2]), row[3], row[4], row[5], row[6], row[7])
        for row in await cur.fetchall()
    ]


async def revoke_key(conn: Conn, key: str) -> KeyInfo:
    """Revoke by key id or by the prefix shown in lists (which must then be unambiguous)."""
    try:
        by_id: uuid.UUID | None = uuid.UUID(key)
    except ValueError:
        by_id = None
    matches = [
        k
        for k in await list_keys(conn)
        if (by_id is not None and k.key_id == by_id) or (by_id is None and k.key_prefix == key)
    ]
    if not matches:
        raise QueryError(f"no key {key!r} (give a key id or the prefix `lookout keys list` shows)")
    if len(matches) > 1:
        raise QueryError(f"{len(matches)} keys start with {key!r}; give the key id")
    await conn.execute(
        "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE key_id = %s",
        (matches[0].key_id,),
    )
    return (await list_keys_by_id(conn, matches[0].key_id))[0]


async def list_keys_by_id(conn: Conn, key_id: uuid.UUID) -> list[KeyInfo]:
    return [k for k in await list_keys(conn) if k.key_id == key_id]
