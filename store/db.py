"""Connections to PostgreSQL, and telling a lost database from a wrong statement."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import AsyncConnection

Conn = AsyncConnection[Any]
"""An async connection with tuple rows (the type every store function takes)."""


async def connect(url: str, *, connect_timeout_s: int = 5) -> Conn:
    """An autocommit connection: every write says where its transaction begins and ends
    (``async with conn.transaction()``), so nothing is left open by accident."""
    return await AsyncConnection.connect(url, autocommit=True, connect_timeout=connect_timeout_s)


def is_connection_lost(exc: BaseException) -> bool:
    """True for errors that waiting and reconnecting can cure: the server shut down or
    restarted, the network dropped, too many clients. False for errors in the statement or
    the data, which would fail again identically."""
    if isinstance(exc, psycopg.errors.TooManyConnections | psycopg.errors.CannotConnectNow):
        return True
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return not isinstance(exc, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable)
    return False


def is_refused_data(exc: BaseException) -> bool:
    """True when the database refuses a value (SQLSTATE class 22, data exception, or 23,
    integrity constraint violation): the same rows would be refused again."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    return isinstance(exc, psycopg.DataError) or sqlstate[:2] in ("22", "23")
