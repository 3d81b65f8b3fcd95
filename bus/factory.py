"""Choose the bus implementation from settings."""

from __future__ import annotations

from bus.base import Bus
from bus.settings import BusSettings


def make_bus(settings: BusSettings | None = None, *, source: str = "/lookout") -> Bus:
    settings = settings or BusSettings()
    if settings.bus == "kafka":
        from bus.kafka import KafkaBus

        return KafkaBus(settings, source=source)
    from bus.memory import MemoryBus

    return MemoryBus(source=source, partitions=settings.partitions)
