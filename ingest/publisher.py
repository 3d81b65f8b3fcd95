"""Batching events onto the bus: one ``publish_many`` per batch, never an await per event."""

from __future__ import annotations

from collections.abc import Sequence

from bus.base import Bus, Outgoing
from schemas.ais import PositionReport, RejectRecord, StaticReport
from schemas.topics import Topic

AisEvent = PositionReport | StaticReport | RejectRecord


# Bound once: reading an enum member through its class costs a descriptor call each time.
_POSITIONS, _STATIC, _REJECTS = Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.AIS_REJECTS


def outgoing(event: AisEvent) -> Outgoing:
    """The topic and key of an event: typed events by MMSI, rejects by source."""
    if isinstance(event, PositionReport):
        return Outgoing(_POSITIONS, str(event.mmsi), event)
    if isinstance(event, StaticReport):
        return Outgoing(_STATIC, str(event.mmsi), event)
    return Outgoing(_REJECTS, event.source, event)


class BatchPublisher:
    """Collects events and publishes them ``batch_size`` at a time. ``flush`` sends what is
    left (a live feed calls it on a timer, so a quiet feed's last events are not held back)."""

    def __init__(self, bus: Bus, batch_size: int) -> None:
        self.bus = bus
        self.batch_size = batch_size
        self.published = 0
        self._pending: list[Outgoing] = []

    async def add(self, events: Sequence[AisEvent]) -> None:
        self._pending.extend(map(outgoing, events))
        if len(self._pending) >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        await self.bus.publish_many(batch)
        self.published += len(batch)
