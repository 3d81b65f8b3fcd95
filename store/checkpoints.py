"""Fusion checkpoints in PostgreSQL (table ``fusion_checkpoints``, migration 007)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import NoReturn

import psycopg
import structlog

from store.db import Conn, connect, describe, is_connection_lost
from store.errors import CheckpointStoreError

log = structlog.get_logger(__name__)

_UPSERT = b"""
INSERT INTO fusion_checkpoints (group_id, shard, state, saved_at) VALUES (%s, %s, %s, now())
ON CONFLICT (group_id, shard) DO UPDATE SET state = excluded.state, saved_at = now()
"""


class PostgresCheckpointStore:
    """Implements ``fusion.checkpoint.CheckpointStore``; reconnects after a lost connection
    (the caller retries). A failure is raised as ``CheckpointStoreError`` saying what is
    wrong in words ("database unreachable"), which fusion shows on /readyz; the raw error is
    logged here."""

    def __init__(self, database_url: str, connect_timeout_s: int = 5) -> None:
        self.database_url = database_url
        self.connect_timeout_s = connect_timeout_s
        self._conn: Conn | None = None
        # One connection: a load and a save (a rebalance callback beside the batch loop)
        # must not interleave their statements.
        self._lock = asyncio.Lock()

    async def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed:
            self._conn = await connect(self.database_url, connect_timeout_s=self.connect_timeout_s)
        return self._conn

    async def load(self, group: str, shard: int) -> bytes | None:
        async with self._lock:
            return await self._load(group, shard)

    async def _load(self, group: str, shard: int) -> bytes | None:
        try:
            conn = await self._connection()
            cur = await conn.execute(
                "SELECT state FROM fusion_checkpoints WHERE group_id = %s AND shard = %s",
                (group, shard),
            )
            row = await cur.fetchone()
        except Exception as exc:
            await self._failed(exc)
        return None if row is None else bytes(row[0])

    async def save(self, group: str, states: Mapping[int, bytes]) -> None:
        async with self._lock:
            await self._save(group, states)

    async def _save(self, group: str, states: Mapping[int, bytes]) -> None:
        if not states:
            return
        try:
            conn = await self._connection()
            async with conn.transaction(), conn.cursor() as cur:
                await cur.executemany(
                    _UPSERT, [(group, shard, state) for shard, state in sorted(states.items())]
                )
        except Exception as exc:
            await self._failed(exc)

    async def _failed(self, exc: Exception) -> NoReturn:
        await self._drop(exc)
        reason = describe(exc)
        log.warning("checkpoint store failed", reason=reason, error=str(exc)[:300])
        raise CheckpointStoreError(reason) from exc

    async def _drop(self, exc: BaseException) -> None:
        if self._conn is not None and (
            is_connection_lost(exc)
            or self._conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        ):
            await self._conn.close()
            self._conn = None

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
