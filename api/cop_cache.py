"""The common operating picture, kept for a moment per agency.

The whole-region picture (10,000 vessels, 4 MB of GeoJSON) costs PostgreSQL about a
hundred milliseconds to build (bench/api), and every watch floor of an agency asks for the
same one every few seconds. So a body built for a question is kept ``cop_cache_s`` (one
second by default) and served to every request of that agency asking the same question in
that time; concurrent requests that find nothing share one build. A picture is at most
``cop_cache_s`` old (``seconds_since_seen`` counts from when it was built).

The sharing rule stays intact: the open-alert counts follow row-level security, so a body
is only ever served to the agency it was built for, and only while that agency's standing
under the rule (contributing or not) is what it was at the build; a change of standing
is a different key, never a stale picture.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from prometheus_client import Counter

from store.db import Conn

MAX_ENTRIES = 16
"""Pictures kept at once (the whole region is about 4 MB: at most some 64 MB)."""

LOOKUPS = Counter(
    "lookout_cop_cache_lookups_total", "COP requests by where the body came from", ["result"]
)

Build = Callable[[Conn], Awaitable[str]]


@dataclass(frozen=True)
class _Entry:
    body: bytes
    built_at: float


class CopCache:
    def __init__(self, fresh_s: float, max_entries: int = MAX_ENTRIES) -> None:
        self.fresh_s = fresh_s
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._builds: dict[Hashable, asyncio.Lock] = {}

    async def get(self, conn: Conn, agency: str, question: Hashable, build: Build) -> bytes:
        """The picture ``build`` makes on ``conn`` (the caller's own transaction, under
        row-level security), or the one it made for this agency and question within
        ``fresh_s``."""
        if self.fresh_s <= 0:
            return (await build(conn)).encode()
        key = (agency, await _contributes(conn), question)
        body = self._fresh(key)
        if body is not None:
            LOOKUPS.labels("hit").inc()
            return body
        lock = self._builds.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                body = self._fresh(key)  # built by the request this one waited for
                if body is not None:
                    LOOKUPS.labels("shared_build").inc()
                    return body
                started = time.monotonic()
                body = (await build(conn)).encode()
                self._keep(key, _Entry(body, started))
                LOOKUPS.labels("built").inc()
                return body
        finally:
            if not lock.locked():
                self._builds.pop(key, None)

    def _fresh(self, key: Hashable) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry.built_at >= self.fresh_s:
            del self._entries[key]
            return None
        return entry.body

    def _keep(self, key: Hashable, entry: _Entry) -> None:
        now = time.monotonic()
        for old in [k for k, e in self._entries.items() if now - e.built_at >= self.fresh_s]:
            del self._entries[old]
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


async def _contributes(conn: Conn) -> bool:
    """The caller's standing under the sharing rule (migration 008's own function)."""
    cur = await conn.execute(b"SELECT lookout_contributes()")
    row = await cur.fetchone()
    return bool(row and row[0])
