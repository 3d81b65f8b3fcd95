"""Helpers shared by the store tests: records without a bus, whole-table snapshots."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bus.base import Bus, Outgoing, Record
from store.db import connect

# Columns that number writes (alerts.change_seq, for the live stream): how many writes a
# load takes depends on its batch boundaries, not on what it leaves in the table.
WRITE_COUNTERS = frozenset({"change_seq"})
SINK_TABLES = ("positions", "vessels", "vessel_identity_history", "alerts", "patrol_reports")


def records_of(messages: Sequence[Outgoing], start_offset: int = 0) -> list[Record]:
    """What a subscription would deliver for ``messages`` (one partition, in order)."""
    records = []
    for n, message in enumerate(messages):
        value, headers = message.encode("/tests")
        records.append(
            Record(message.topic, 0, start_offset + n, message.key, value, tuple(headers), 0)
        )
    return records


async def snapshot(url: str, tables: Sequence[str] = SINK_TABLES) -> dict[str, list[Any]]:
    """Every row of every table the sink writes, in a stable order (for exact compares)."""
    contents: dict[str, list[Any]] = {}
    async with await connect(url) as conn:
        for table in tables:
            cur = await conn.execute(f"SELECT * FROM {table}".encode())
            keep = [n for n, d in enumerate(cur.description or []) if d.name not in WRITE_COUNTERS]
            contents[table] = sorted(
                (tuple(row[n] for n in keep) for row in await cur.fetchall()), key=repr
            )
    return contents


async def count(url: str, table: str) -> int:
    async with await connect(url) as conn:
        cur = await conn.execute(f"SELECT count(*) FROM {table}".encode())
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.1)


async def read_topic(bus: Bus, topic: str, expected: int, timeout_s: float = 30) -> list[Record]:
    """The first ``expected`` records of ``topic`` (a fresh group, from the beginning)."""
    found: list[Record] = []
    async with bus.subscribe([topic], group=f"reader-{uuid.uuid4().hex[:8]}") as sub:
        deadline = time.monotonic() + timeout_s
        while len(found) < expected:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {expected} records on {topic}")
            found += await sub.getmany(max_records=expected, timeout_s=0.2)
    return found


def header(record: Record, name: str) -> str | None:
    return next((v.decode() for k, v in record.headers if k == name), None)
