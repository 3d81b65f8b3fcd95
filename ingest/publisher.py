"""Batching events onto the bus: one ``publish_many`` per batch, never an await per event."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bus.base import Bus, Outgoing
from schemas.ais import PositionReport, RejectRecord, StaticReport
from schemas.safety import SafetyMessage
from schemas.topics import Topic

AisEvent = PositionReport | StaticReport | SafetyMessage | RejectRecord


# Bound once: reading an enum member through its class costs a descriptor call each time.
_POSITIONS, _STATIC, _REJECTS = Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.AIS_REJECTS


def outgoing(event: AisEvent) -> Outgoing:
    """The topic and key of an event: typed events by MMSI, rejects by source."""
    if isinstance(event, PositionReport):
        return Outgoing(_POSITIONS, str(event.mmsi), event)
    if isinstance(event, StaticReport):
        return Outgoing(_STATIC, str(event.mmsi), event)
    if isinstance(event, SafetyMessage):
        return Outgoing(Topic.AIS_SAFETY, str(event.mmsi), event)
    return Outgoing(_REJECTS, event.source, event)


class BatchPublisher:
    """Collects events and publishes them ``batch_size`` at a time. ``flush`` sends what is
    left (a live feed calls it on a timer, so a quiet feed's last events are not held back).

    Flushes are serialised (a timer and the main loop never publish two batches at once,
    which could reorder one key's records), and a batch whose ``publish_many`` fails is put
    back in front of what waits, so the next flush sends it again, in order."""

    def __init__(self, bus: Bus, batch_size: int) -> None:
        self.bus = bus
        self.batch_size = batch_size
        self.published = 0
        self._pending: list[Outgoing] = []
        self._lock = asyncio.Lock()

    @property
    def pending(self) -> int:
        """Events waiting to be published."""
        return len(self._pending)

    async def add(self, events: Sequence[AisEvent]) -> None:
        self._pending.extend(map(outgoing, events))
        if len(self._pending) >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        """Publish everything waiting. If the bus fails (or the flush is cancelled), the
        batch goes back in front of the waiting events and the error propagates."""
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            try:
                await self.bus.publish_many(batch)
            except BaseException:
                self._pending[:0] = batch
                raise
            self.published += len(batch)
