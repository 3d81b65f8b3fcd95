"""The common operating picture, kept for a moment per agency.

The whole-region picture (10,000 vessels, 4 MB of GeoJSON) costs PostgreSQL one to a few
hundred milliseconds to build on a busy machine (bench/api), and every watch floor of an
agency asks for the same one every few seconds. So a body built for a question is kept
``cop_cache_s`` (one second by default) and served to every request of that agency asking
the same question. Once it is older, the next request starts one rebuild in the background
(on its own connection, under the agency's row-level security) and is still served the
kept body, as are the requests that follow, until the rebuild lands; only a body older
than ``STALE_FACTOR`` times ``cop_cache_s`` (a rebuild that is slow or failed) makes
requests build for themselves, one build shared by those that ask at once. A picture is at
most ``cop_cache_s`` plus one build old (``seconds_since_seen`` counts from its build).

The sharing rule stays intact: the open-alert counts follow row-level security, so a body
is only ever served to the agency it was built for, and only while that agency's standing
under the rule (contributing or not) is what it was at the build; a change of standing is
a different key, never a stale picture.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

import structlog
from prometheus_client import Counter

from api.db import ApiDatabase
from store.db import Conn

log = structlog.get_logger(__name__)

MAX_ENTRIES = 16
"""Pictures kept at once (the whole region is about 4 MB: at most some 64 MB)."""
STALE_FACTOR = 3.0
"""A kept body older than this many ``cop_cache_s`` is never served: requests build."""

LOOKUPS = Counter(
    "lookout_cop_cache_lookups_total", "COP requests by where the body came from", ["result"]
)

Build = Callable[[Conn], Awaitable[str]]


@dataclass(frozen=True)
class _Entry:
    body: bytes
    built_at: float


class CopCache:
    def __init__(
        self, database: ApiDatabase | None, fresh_s: float, max_entries: int = MAX_ENTRIES
    ) -> None:
        self.database = database
        self.fresh_s = fresh_s
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._builds: dict[Hashable, asyncio.Lock] = {}
        self._refreshing: dict[Hashable, asyncio.Task[None]] = {}

    async def get(self, conn: Conn, agency: str, question: Hashable, build: Build) -> bytes:
        """The picture ``build`` makes on ``conn`` (the caller's own transaction, under
        row-level security), or the one made for this agency, standing and question."""
        if self.fresh_s <= 0:
            return (await build(conn)).encode()
        key = (agency, await _contributes(conn), question)
        entry = self._entries.get(key)
        if entry is not None:
            age = time.monotonic() - entry.built_at
            if age < self.fresh_s:
                LOOKUPS.labels("fresh").inc()
                return entry.body
            if age < STALE_FACTOR * self.fresh_s and self.database is not None:
                if key not in self._refreshing:
                    self._refreshing[key] = asyncio.create_task(
                        self._refresh(agency, question, build), name="cop-refresh"
                    )
                LOOKUPS.labels("refreshing").inc()
                return entry.body
        lock = self._builds.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                entry = self._entries.get(key)  # built by the request this one waited for
                if entry is not None and time.monotonic() - entry.built_at < self.fresh_s:
                    LOOKUPS.labels("shared_build").inc()
                    return entry.body
                started = time.monotonic()
                body = (await build(conn)).encode()
                self._keep(key, _Entry(body, started))
                LOOKUPS.labels("built").inc()
                return body
        finally:
            if not lock.locked():
                self._builds.pop(key, None)

    async def close(self) -> None:
        for task in list(self._refreshing.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _refresh(self, agency: str, question: Hashable, build: Build) -> None:
        assert self.database is not None
        key: Hashable = None
        try:
            async with self.database.session(agency) as conn:
                # The standing as this build sees it: the body goes where it belongs.
                key = (agency, await _contributes(conn), question)
                started = time.monotonic()
                body = (await build(conn)).encode()
            self._keep(key, _Entry(body, started))
        except Exception as exc:  # the next requests build for themselves and report it
            log.warning("cop: background rebuild failed", agency=agency, error=str(exc)[:300])
        finally:
            for stale in [k for k, t in self._refreshing.items() if t is asyncio.current_task()]:
                del self._refreshing[stale]

    def _keep(self, key: Hashable, entry: _Entry) -> None:
        now = time.monotonic()
        limit = STALE_FACTOR * self.fresh_s
        for old in [k for k, e in self._entries.items() if now - e.built_at >= limit]:
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
