"""Turn a micro-batch of records into typed events, skipping (and counting) bad ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog
from pydantic import ValidationError

from bus.base import Record
from schemas.ais import PositionReport, StaticReport
from schemas.alerts import Alert
from schemas.envelope import EnvelopeError
from schemas.patrol import PatrolReport
from schemas.safety import SafetyMessage
from schemas.topics import Topic
from store.metrics import SKIPPED
from store.write_positions import PositionRow, position_row

log = structlog.get_logger(__name__)

SINK_TOPICS: tuple[Topic, ...] = (
    Topic.AIS_POSITIONS,
    Topic.AIS_STATIC,
    Topic.PATROL_REPORTS,
    Topic.FUSION_ALERTS,
    Topic.AIS_SAFETY,
)


@dataclass
class DecodedBatch:
    positions: list[PositionRow] = field(default_factory=list)
    static_reports: list[StaticReport] = field(default_factory=list)
    patrol_reports: list[PatrolReport] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    safety_messages: list[SafetyMessage] = field(default_factory=list)
    skipped: int = 0

    def size(self) -> int:
        return (
            len(self.positions)
            + len(self.static_reports)
            + len(self.patrol_reports)
            + len(self.alerts)
            + len(self.safety_messages)
        )

    def split(self) -> list[DecodedBatch]:
        """One batch per event (to find the one the database refuses)."""
        return [
            *(DecodedBatch(positions=[row]) for row in self.positions),
            *(DecodedBatch(static_reports=[r]) for r in self.static_reports),
            *(DecodedBatch(patrol_reports=[r]) for r in self.patrol_reports),
            *(DecodedBatch(alerts=[a]) for a in self.alerts),
            *(DecodedBatch(safety_messages=[m]) for m in self.safety_messages),
        ]


def _skip(batch: DecodedBatch, record: Record, reason: str, detail: str = "") -> None:
    batch.skipped += 1
    SKIPPED.labels(record.topic, reason).inc()
    if reason == "undecodable":  # the others are normal traffic, counted but not logged
        log.warning(
            "record skipped",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            detail=detail[:300],
        )


def decode_batch(
    records: Sequence[Record], meaning: Mapping[str, Topic] | None = None
) -> DecodedBatch:
    """Bad input never stops the pipe: an undecodable record is logged, counted and
    skipped; its offset is committed with the rest (redelivering it would fail again).
    ``meaning`` maps topic names to what they carry when they are not the defaults."""
    batch = DecodedBatch()
    for record in records:
        if record.value is None:
            _skip(batch, record, "tombstone")
            continue
        topic = meaning.get(record.topic) if meaning else record.topic
        try:
            if topic == Topic.AIS_POSITIONS:
                row = position_row(record.decode(PositionReport))
                if row is None:
                    _skip(batch, record, "no_position")
                else:
                    batch.positions.append(row)
            elif topic == Topic.AIS_STATIC:
                batch.static_reports.append(record.decode(StaticReport))
            elif topic == Topic.PATROL_REPORTS:
                batch.patrol_reports.append(record.decode(PatrolReport))
            elif topic == Topic.FUSION_ALERTS:
                batch.alerts.append(record.decode(Alert))
            elif topic == Topic.AIS_SAFETY:
                batch.safety_messages.append(record.decode(SafetyMessage))
            else:
                _skip(batch, record, "unknown_topic")
        except (EnvelopeError, ValidationError, ValueError) as exc:
            _skip(batch, record, "undecodable", str(exc))
    return batch
