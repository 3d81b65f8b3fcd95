"""A record fusion cannot read (an unknown type or version, a value that does not validate):
bad input, not an error of fusion's. It is counted, logged with its place and reason, and
kept for the service to send to ``deadletter`` with that reason; the stream goes on. Both
stages (per MMSI and per grid cell) refuse through here."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from bus.base import Record
from fusion.metrics import REFUSED

log = structlog.get_logger(__name__)


@dataclass
class Refused:
    """A record fusion could not read, and why (the service dead-letters it)."""

    record: Record
    reason: str


def refuse(refused: list[Refused], record: Record, reason: str) -> None:
    """Set ``record`` aside into ``refused``, counted and logged."""
    REFUSED.labels(record.topic, "unreadable").inc()
    log.warning(
        "record refused",
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        reason=reason[:300],
    )
    refused.append(Refused(record, reason))
