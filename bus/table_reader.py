"""Reduce a compacted topic to a table: last value per key wins, a tombstone deletes.

Kafka compacts lazily (and Tansu not at all), so a reader always sees older values and
must reduce by key itself; this is that reduction, shared by every table consumer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Generic, TypeVar

import structlog

from bus.base import Bus, BusError, Record, Subscription
from schemas.envelope import EnvelopeError, Event

E = TypeVar("E", bound=Event)
log = structlog.get_logger(__name__)


class TableReader(Generic[E]):
    """The current rows of a compacted topic, kept up to date by ``poll``."""

    def __init__(self, bus: Bus, topic: str, model: type[E]) -> None:
        self.topic = topic
        self.model = model
        self.rows: dict[str, E] = {}
        self.skipped = 0
        self._subscription: Subscription = bus.table(topic)

    async def start(self, catch_up_timeout_s: float = 30.0) -> None:
        await self._subscription.start()
        await self.catch_up(catch_up_timeout_s)

    async def stop(self) -> None:
        await self._subscription.stop()

    async def catch_up(self, timeout_s: float = 30.0) -> None:
        """Read until every partition has been read to its end (the table as it is now)."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.apply(await self._subscription.getmany(max_records=5000, timeout_s=0.2))
            if await self._subscription.caught_up():
                return
            if time.monotonic() > deadline:
                raise BusError(f"table {self.topic} not read to its end within {timeout_s}s")
            await asyncio.sleep(0)

    async def poll(self, timeout_s: float = 0.0) -> set[str]:
        """Apply whatever arrived since the last call; returns the keys that changed."""
        return self.apply(await self._subscription.getmany(max_records=5000, timeout_s=timeout_s))

    def apply(self, records: Iterable[Record]) -> set[str]:
        changed: set[str] = set()
        for record in records:
            if record.key is None:
                self.skipped += 1
                log.warning("table record without key skipped", topic=self.topic)
                continue
            if record.is_tombstone:
                self.rows.pop(record.key, None)
            else:
                try:
                    self.rows[record.key] = record.decode(self.model)
                except EnvelopeError as exc:
                    self.skipped += 1
                    log.warning(
                        "table record unreadable, skipped",
                        topic=self.topic,
                        key=record.key,
                        reason=str(exc),
                    )
                    continue
            changed.add(record.key)
        return changed
