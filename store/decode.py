"""Turn a micro-batch of records into typed events; what cannot be read is set aside.

Every event keeps the record it came from, so whatever is later refused (by the database,
or by the time bounds of the partitions) goes to the dead-letter topic as the original
bytes and headers, never silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pydantic import ValidationError

from bus.base import Record
from schemas.ais import PositionReport, StaticReport
from schemas.alerts import Alert
from schemas.envelope import EnvelopeError, decode_value, event_type_of
from schemas.patrol import PatrolReport
from schemas.safety import SafetyMessage
from schemas.topics import Topic
from store.write_config import CONFIG_TOPICS, ConfigChange, decode_config
from store.write_positions import PositionRow, position_row

SINK_TOPICS: tuple[Topic, ...] = (
    Topic.AIS_POSITIONS,
    Topic.AIS_STATIC,
    Topic.PATROL_REPORTS,
    Topic.FUSION_ALERTS,
    Topic.AIS_SAFETY,
    *CONFIG_TOPICS,
)

T = TypeVar("T")
_POSITIONS: str = Topic.AIS_POSITIONS.value  # a plain str compares faster than the member


@dataclass(frozen=True, slots=True)
class Refusal:
    """A record the sink cannot store, and why (the ``dlq_reason`` of its dead letter)."""

    record: Record
    reason: str


@dataclass(slots=True)
class Part(Generic[T]):
    """Events of one kind, each beside the record it was decoded from (``records`` is
    empty when a batch is built without records, as the benchmark does)."""

    items: list[T] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)

    def add(self, item: T, record: Record) -> None:
        self.items.append(item)
        self.records.append(record)

    def cut(self, start: int, end: int) -> Part[T]:
        return Part(self.items[start:end], self.records[start:end])

    def take_out(self, refuse: Callable[[T], str | None]) -> list[Refusal]:
        """Remove the items ``refuse`` gives a reason for; returns them as refusals."""
        kept: Part[T] = Part()
        refused: list[Refusal] = []
        for n, item in enumerate(self.items):
            reason = refuse(item)
            if reason is None:
                kept.items.append(item)
                if self.records:
                    kept.records.append(self.records[n])
            elif self.records:
                refused.append(Refusal(self.records[n], reason))
        self.items, self.records = kept.items, kept.records
        return refused


@dataclass
class DecodedBatch:
    positions: list[PositionRow] = field(default_factory=list)
    static_reports: list[StaticReport] = field(default_factory=list)
    patrol_reports: list[PatrolReport] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    safety_messages: list[SafetyMessage] = field(default_factory=list)
    config: list[ConfigChange] = field(default_factory=list)
    position_records: list[Record] = field(default_factory=list)
    static_records: list[Record] = field(default_factory=list)
    patrol_records: list[Record] = field(default_factory=list)
    alert_records: list[Record] = field(default_factory=list)
    safety_records: list[Record] = field(default_factory=list)
    config_records: list[Record] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    """Records for the dead-letter topic, with their reasons."""
    skipped: dict[tuple[str, str], int] = field(default_factory=dict)
    """Records that carry nothing to store, by (topic, reason): tombstones, positions
    without a position. Normal traffic, counted, not dead letters."""

    def size(self) -> int:
        return (
            len(self.positions)
            + len(self.static_reports)
            + len(self.patrol_reports)
            + len(self.alerts)
            + len(self.safety_messages)
            + len(self.config)
        )

    def records(self) -> list[Record]:
        return [
            *self.position_records,
            *self.static_records,
            *self.patrol_records,
            *self.alert_records,
            *self.safety_records,
            *self.config_records,
        ]

    def parts(
        self,
    ) -> tuple[
        Part[PositionRow],
        Part[StaticReport],
        Part[PatrolReport],
        Part[Alert],
        Part[SafetyMessage],
        Part[ConfigChange],
    ]:
        return (
            Part(self.positions, self.position_records),
            Part(self.static_reports, self.static_records),
            Part(self.patrol_reports, self.patrol_records),
            Part(self.alerts, self.alert_records),
            Part(self.safety_messages, self.safety_records),
            Part(self.config, self.config_records),
        )

    @classmethod
    def of_parts(
        cls,
        positions: Part[PositionRow],
        static_reports: Part[StaticReport],
        patrol_reports: Part[PatrolReport],
        alerts: Part[Alert],
        safety_messages: Part[SafetyMessage],
        config: Part[ConfigChange] | None = None,
    ) -> DecodedBatch:
        config = config or Part()
        return cls(
            positions=positions.items,
            static_reports=static_reports.items,
            patrol_reports=patrol_reports.items,
            alerts=alerts.items,
            safety_messages=safety_messages.items,
            position_records=positions.records,
            static_records=static_reports.records,
            patrol_records=patrol_reports.records,
            alert_records=alerts.records,
            safety_records=safety_messages.records,
            config=config.items,
            config_records=config.records,
        )

    def halves(self) -> tuple[DecodedBatch, DecodedBatch]:
        """Two batches of about half the events each (to find the ones the database
        refuses in log2(n) rounds rather than n)."""
        positions, static_reports, patrol_reports, alerts, safety_messages, config = self.parts()
        budget = self.size() // 2
        p1, p2, budget = _split(positions, budget)
        s1, s2, budget = _split(static_reports, budget)
        r1, r2, budget = _split(patrol_reports, budget)
        a1, a2, budget = _split(alerts, budget)
        m1, m2, budget = _split(safety_messages, budget)
        c1, c2, budget = _split(config, budget)
        return self.of_parts(p1, s1, r1, a1, m1, c1), self.of_parts(p2, s2, r2, a2, m2, c2)

    def refuse_positions(self, refuse: Callable[[PositionRow], str | None]) -> None:
        part = Part(self.positions, self.position_records)
        self.refused += part.take_out(refuse)
        self.positions, self.position_records = part.items, part.records

    def refuse_alerts(self, refuse: Callable[[Alert], str | None]) -> None:
        part = Part(self.alerts, self.alert_records)
        self.refused += part.take_out(refuse)
        self.alerts, self.alert_records = part.items, part.records

    def count_skipped(self, record: Record, reason: str) -> None:
        key = (record.topic, reason)
        self.skipped[key] = self.skipped.get(key, 0) + 1


def _split(part: Part[T], budget: int) -> tuple[Part[T], Part[T], int]:
    """The first ``budget`` events of ``part``, the rest, and what is left of the budget."""
    n = len(part.items)
    take = min(n, budget)
    return part.cut(0, take), part.cut(take, n), budget - take


def decode_batch(
    records: Sequence[Record], meaning: Mapping[str, Topic] | None = None
) -> DecodedBatch:
    """Bad input never stops the pipe: a record that cannot be read (unknown ``ce_type``
    or version, missing headers, a value that does not validate) becomes a refusal with
    its reason, for the dead-letter topic; the rest is decoded. ``meaning`` maps topic
    names to what they carry when they are not the defaults."""
    batch = DecodedBatch()
    decode_into(batch, records, meaning)
    return batch


def decode_into(
    batch: DecodedBatch, records: Sequence[Record], meaning: Mapping[str, Topic] | None = None
) -> None:
    """``decode_batch``, adding to ``batch``."""
    # Positions are nearly every record: their branch comes first, with what it uses
    # bound once per call rather than looked up per record (issue 13).
    positions, position_records = batch.positions, batch.position_records
    for record in records:
        topic = meaning.get(record.topic) if meaning else record.topic
        value = record.value
        if topic == _POSITIONS and value is not None:
            try:
                report = decode_value(event_type_of(record.headers), value, PositionReport)
                row = position_row(report)
            except (EnvelopeError, ValidationError, ValueError) as exc:
                batch.refused.append(Refusal(record, f"undecodable: {_reason_of(exc)}"))
                continue
            if row is None:
                batch.count_skipped(record, "no_position")
            else:
                positions.append(row)
                position_records.append(record)
            continue
        if topic in CONFIG_TOPICS:  # tables on compacted topics: a tombstone deletes
            try:
                batch.config.append(decode_config(record, Topic(topic)))
                batch.config_records.append(record)
            except (EnvelopeError, ValidationError, ValueError) as exc:
                batch.refused.append(Refusal(record, f"undecodable: {_reason_of(exc)}"))
            continue
        if value is None:
            batch.count_skipped(record, "tombstone")
            continue
        try:
            if topic == Topic.AIS_STATIC:
                batch.static_reports.append(record.decode(StaticReport))
                batch.static_records.append(record)
            elif topic == Topic.PATROL_REPORTS:
                batch.patrol_reports.append(record.decode(PatrolReport))
                batch.patrol_records.append(record)
            elif topic == Topic.FUSION_ALERTS:
                batch.alerts.append(record.decode(Alert))
                batch.alert_records.append(record)
            elif topic == Topic.AIS_SAFETY:
                batch.safety_messages.append(record.decode(SafetyMessage))
                batch.safety_records.append(record)
            else:
                batch.refused.append(Refusal(record, f"the sink does not read {record.topic}"))
        except (EnvelopeError, ValidationError, ValueError) as exc:
            batch.refused.append(Refusal(record, f"undecodable: {_reason_of(exc)}"))


def _reason_of(exc: Exception) -> str:
    text = str(exc).strip()
    return text[:500] if text else type(exc).__name__
