"""Shared pieces of the fusion tests: scaled-down thresholds, feeding a scenario through
ingest, running the service until it has drained its input, and reading the alerts."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bus.base import Bus, Outgoing, Record, Subscription
from fusion.cells.service import CellService
from fusion.service import FusionService
from fusion.settings import FusionSettings
from ingest.pipeline import run_ingest
from ingest.scenario import ORIGIN_LAT, Scenario, ScenarioThresholds
from ingest.settings import IngestSettings
from ingest.sources.base import LineBatch
from schemas.ais import PositionReport
from schemas.alerts import Alert
from schemas.patrol import PatrolReport, ReporterKind

# Thresholds scaled down ~70x so the scenario plays in seconds; the scenario is built from
# the same numbers, so "1.5 x the gap" means the same thing as with the defaults.
THRESHOLDS = ScenarioThresholds(
    gap_s=600.0, loiter_min_s=300.0, rendezvous_min_s=300.0, step_s=10.0
)


def scaled_settings(**overrides: object) -> FusionSettings:
    values: dict[str, object] = {
        "gap_s": THRESHOLDS.gap_s,
        "loiter_min_s": THRESHOLDS.loiter_min_s,
        "rendezvous_min_s": THRESHOLDS.rendezvous_min_s,
        "allowed_lateness_s": 5.0,
        "gap_coverage_slack_s": 3 * THRESHOLDS.step_s,
        "update_cooldown_s": 60.0,
        "spoof_clear_s": 3600.0,
        "checkpoint_every_records": 400,
        "batch_max_records": 300,
        "poll_timeout_s": 0.05,
        "retry_initial_s": 0.05,
    }
    values.update(overrides)
    return FusionSettings(**values)  # type: ignore[arg-type]


@dataclass
class ListSource:
    """A scenario's lines as a feed, in batches of ``size`` received at ``received_at``."""

    lines: Sequence[bytes]
    received_at: datetime
    size: int = 500

    @property
    def name(self) -> str:
        return "scenario://test"

    async def batches(self) -> AsyncIterator[LineBatch]:
        for i in range(0, len(self.lines), self.size):
            yield LineBatch(list(self.lines[i : i + self.size]), self.received_at)


async def feed(bus: Bus, lines: Sequence[bytes], received_at: datetime) -> None:
    await run_ingest(ListSource(lines, received_at), bus, IngestSettings())


async def publish_config(bus: Bus, scenario: Scenario, geofences: str, watchlist: str) -> None:
    await bus.publish_many(
        [Outgoing(geofences, z.geofence_id, z) for z in scenario.zones]
        + [Outgoing(watchlist, e.entry_id, e) for e in scenario.watchlist]
    )


async def wait_drained(service: FusionService | CellService, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await service.drained():
        if time.monotonic() > deadline:
            raise AssertionError(f"fusion did not drain its input within {timeout_s}s")
        await asyncio.sleep(0.02)


async def read_all(bus: Bus, topic: str) -> list[Record]:
    """Every record of ``topic`` from the beginning (read without a group: no join to wait
    for, which on Tansu takes seconds)."""
    sub = bus.table(topic)
    found: list[Record] = []
    async with sub:
        while True:
            batch = await sub.getmany(max_records=5000, timeout_s=0.3)
            found.extend(batch)
            if not batch and await sub.caught_up():
                return found


def alerts_of(records: Sequence[Record]) -> list[Alert]:
    return [r.decode(Alert) for r in records]


def final_states(alerts: Sequence[Alert]) -> dict[str, tuple[object, ...]]:
    """alert id -> (rule, subject, started, status, end): open unless an event closed it."""
    out: dict[str, tuple[object, ...]] = {}
    for a in alerts:
        key = str(a.alert_id)
        known = out.get(key)
        if known is None or known[3] != "closed":
            out[key] = (a.rule.value, a.subject, a.started_at, a.status.value, a.ended_at)
    return out


async def scenario_records(scenario: Scenario) -> list[Record]:
    """The scenario decoded by ingest (on a memory bus), as records to copy elsewhere."""
    from bus.memory import MemoryBus
    from schemas.topics import Topic

    bus = MemoryBus(source="/lookout/ingest")
    await bus.ensure_topics([Topic.AIS_POSITIONS, Topic.AIS_STATIC])
    await feed(bus, scenario.lines, scenario.end)
    records = [
        *await read_all(bus, Topic.AIS_POSITIONS),
        *await read_all(bus, Topic.AIS_STATIC),
    ]
    # In the order they were received, as a feed would publish them (partitions of the
    # memory bus and of Kafka hash keys differently).
    return sorted(records, key=lambda r: r.attributes().time)


def sighting_at(
    position: Record, lat: float | None = None, lon: float | None = None
) -> PatrolReport:
    """A patrol vessel's sighting at the time of ``position`` (a record of
    ``ais.positions``), at its place unless ``lat``/``lon`` say otherwise; with notes no
    alert may carry."""
    where = position.decode(PositionReport)
    assert where.lat is not None and where.lon is not None
    return PatrolReport(
        report_id=uuid.uuid4(),
        agency="BAKAMLA",
        reporter_kind=ReporterKind.PATROL_VESSEL,
        observed_at=where.event_time,
        received_at=where.event_time,
        lat=where.lat if lat is None else lat,
        lon=where.lon if lon is None else lon,
        notes="not for the alert",
    )


def dark_sighting(position: Record) -> PatrolReport:
    """A sighting at the time of ``position``, 20 km north of every lane of the scenario:
    no AIS position is near it, so it raises a dark-target alert that stays open."""
    return sighting_at(position, lat=ORIGIN_LAT + 0.2)


def renamed(records: Sequence[Record], names: dict[str, str]) -> list[Outgoing]:
    """The same bytes and headers, keyed the same, onto renamed topics."""
    return [Outgoing(names[r.topic], r.key, None, headers=r.headers, raw=r.value) for r in records]


class AlertWatch:
    """Reads a topic from its beginning without a consumer group (no join to wait for),
    keeping what came (``key``: only records with that key), until a condition holds."""

    def __init__(self, bus: Bus, topic: str, *, key: str | None = None) -> None:
        self.bus = bus
        self.topic = topic
        self.key = key
        self.found: list[Record] = []
        self._sub: Subscription | None = None

    async def __aenter__(self) -> AlertWatch:
        await self.bus.ensure_topics([self.topic])
        self._sub = self.bus.table(self.topic)
        await self._sub.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._sub is not None:
            await self._sub.stop()

    async def records(self) -> list[Record]:
        assert self._sub is not None, "use AlertWatch in async with"
        batch = await self._sub.getmany(max_records=5000, timeout_s=0.2)
        self.found.extend(r for r in batch if self.key is None or r.key == self.key)
        return self.found

    async def alerts(self) -> list[Alert]:
        return alerts_of(await self.records())

    async def until_records(
        self, condition: Callable[[list[Record]], bool], what: str, timeout_s: float = 30.0
    ) -> list[Record]:
        deadline = time.monotonic() + timeout_s
        while not condition(await self.records()):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        return self.found

    async def until(
        self, condition: Callable[[list[Alert]], bool], what: str, timeout_s: float = 30.0
    ) -> list[Alert]:
        await self.until_records(lambda found: condition(alerts_of(found)), what, timeout_s)
        return alerts_of(self.found)
