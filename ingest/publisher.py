"""Batching events onto the bus: one ``publish_many`` per batch, never an await per event.

While the bus refuses batches, the publisher holds them (nothing is dropped) and its
caller waits with a capped exponential backoff: ``publish_held`` returns only once
everything held is on the bus. The pipeline's main loop awaits it before it reads the
next batch from its source, so a bus outage pushes back on the feed: a TCP feed is not
read (the sender's TCP window fills), a file replay pauses, a UDP listener's queue fills
and counts what it refuses (UDP cannot push back).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from bus.base import Bus, Outgoing
from ingest.heartbeat import Heartbeat
from ingest.metrics import PUBLISH_FAILURES
from schemas.ais import PositionReport, RejectRecord, StaticReport
from schemas.envelope import (
    CONTENT_TYPE_HEADER,
    Header,
    constant_headers,
    encode_value,
    new_event_id,
    time_header,
)
from schemas.safety import SafetyMessage
from schemas.topics import Topic

log = structlog.get_logger(__name__)

AisEvent = PositionReport | StaticReport | SafetyMessage | RejectRecord


# Bound once: reading an enum member through its class costs a descriptor call each time.
_POSITIONS, _STATIC, _REJECTS = Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.AIS_REJECTS
_SAFETY = Topic.AIS_SAFETY
_CT = CONTENT_TYPE_HEADER


class WireEncoder:
    """Ingest's events as the records the bus sends, a batch in one loop: the JSON value
    (msgspec), and CloudEvents headers of which only ``ce_id`` and ``ce_time`` are the
    event's own; the rest are built once per event class. The bytes are those
    ``Outgoing(topic, key, event, event_id).encode(source)`` gives (tests compare them);
    the bus sends them as they are (``Outgoing.raw``)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._routes: dict[type, tuple[str, tuple[Header, ...]]] = {
            cls: (topic, constant_headers(cls.ce_type, source))
            for cls, topic in (
                (PositionReport, _POSITIONS),
                (StaticReport, _STATIC),
                (SafetyMessage, _SAFETY),
                (RejectRecord, _REJECTS),
            )
        }

    def encode(self, events: Sequence[AisEvent], ids: Sequence[str]) -> list[Outgoing]:
        routes = self._routes
        encode = encode_value
        last_time: datetime | None = None
        ce_time: Header = ("ce_time", b"")
        out: list[Outgoing] = []
        append = out.append
        for event, event_id in zip(events, ids, strict=True):
            topic, (spec, ce_type, ce_source) = routes[type(event)]
            moment = event.occurred_at()
            if moment is not last_time:
                last_time, ce_time = moment, time_header(moment)
            key = event.source if isinstance(event, RejectRecord) else str(event.mmsi)
            headers = (spec, ("ce_id", event_id.encode()), ce_type, ce_source, ce_time, _CT)
            append(Outgoing(topic, key, None, raw=encode(event), headers=headers))
        return out


def outgoing(event: AisEvent, event_id: str | None = None) -> Outgoing:
    """The topic and key of an event: typed events by MMSI, rejects by source.
    ``event_id`` (``ce_id``) is fixed here, so a batch published again keeps its ids."""
    if isinstance(event, PositionReport):
        return Outgoing(_POSITIONS, str(event.mmsi), event, event_id)
    if isinstance(event, StaticReport):
        return Outgoing(_STATIC, str(event.mmsi), event, event_id)
    if isinstance(event, SafetyMessage):
        return Outgoing(_SAFETY, str(event.mmsi), event, event_id)
    return Outgoing(_REJECTS, event.source, event, event_id)


@dataclass(slots=True)
class PublishState:
    """How the bus has answered lately, for health and logs."""

    failures: int = 0
    """Consecutive publishes the bus refused (0 once one succeeds)."""
    last_error: str | None = None
    """Why the last refused publish failed, in full, for logs (None once one succeeds)."""
    last_error_kind: str | None = None
    """The class of that error (PublishError, ...): what health shows, never raw text."""
    failing_since: float | None = None
    """``time.monotonic()`` of the first of the current run of failures."""
    in_flight_since: float | None = None
    """``time.monotonic()`` when the publish now awaiting the bus began (None when idle)."""


class BatchPublisher:
    """Collects events and publishes them ``batch_size`` at a time. ``flush`` sends what is
    held once (a live feed calls it on a timer, so a quiet feed's last events are not held
    back); ``publish_held`` retries with backoff until the bus has taken everything.

    Flushes are serialised (a timer and the main loop never publish two batches at once,
    which could reorder one key's records), and a batch whose ``publish_many`` fails is put
    back in front of what waits, so the next flush sends it again, in order, with the same
    event ids."""

    def __init__(
        self,
        bus: Bus,
        batch_size: int,
        *,
        retry_initial_s: float = 0.2,
        retry_max_s: float = 5.0,
        name: str = "ingest",
        heartbeat: Heartbeat | None = None,
    ) -> None:
        self.bus = bus
        self.batch_size = batch_size
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.name = name
        self.published = 0
        self.refused = 0
        """Publishes the bus refused since the start (each was retried)."""
        self.state = PublishState()
        self._pending: list[Outgoing] = []
        self._encoder = WireEncoder(bus.source)
        self._heartbeat = heartbeat or Heartbeat()
        """Each publish attempt is a step of the read loop that waits on it."""
        self._lock = asyncio.Lock()
        self._in_flight = 0

    @property
    def pending(self) -> int:
        """Events waiting to be published (not counting a batch now in flight)."""
        return len(self._pending)

    @property
    def held(self) -> int:
        """Events not yet on the bus: waiting, or in a publish not yet acknowledged."""
        return len(self._pending) + self._in_flight

    def hold(self, events: Sequence[AisEvent], ids: Sequence[str] | None = None) -> None:
        """Hold ``events`` (with their ``ce_id``s, when given) for the next flush, encoded
        now: a batch held is already the bytes it will be sent as, whatever retries."""
        if ids is None:
            ids = [new_event_id() for _ in events]
        self._pending.extend(self._encoder.encode(events, ids))

    async def add(self, events: Sequence[AisEvent], ids: Sequence[str] | None = None) -> None:
        """Hold ``events``; once a full batch is held, wait until the bus has taken
        everything held (``publish_held``)."""
        self.hold(events, ids)
        if len(self._pending) >= self.batch_size:
            await self.publish_held()

    async def publish_held(self) -> None:
        """Publish everything held, retrying with a capped exponential backoff while the bus
        refuses (each refusal counted and logged): returns only once it is all on the bus.
        Cancellation stops the wait; what was held stays held."""
        delay_s = self.retry_initial_s
        while True:
            self._heartbeat.step()
            try:
                await self.flush()
                return
            except Exception as exc:  # any failure: hold, back off, retry
                log.warning(
                    "publish refused, holding the batch and the feed",
                    source=self.name,
                    error=_describe(exc),
                    holding=self.held,
                    failures=self.state.failures,
                    retry_in_s=round(delay_s, 2),
                )
            await asyncio.sleep(delay_s)
            delay_s = min(delay_s * 2.0, self.retry_max_s)

    async def flush(self) -> None:
        """Publish everything held, once. If the bus fails (or the flush is cancelled), the
        batch goes back in front of the waiting events and the error propagates."""
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            state = self.state
            state.in_flight_since = time.monotonic()
            self._in_flight = len(batch)
            try:
                await self.bus.publish_many(batch)
            except BaseException as exc:
                self._pending[:0] = batch
                if isinstance(exc, Exception):
                    PUBLISH_FAILURES.labels(self.name).inc()
                    self.refused += 1
                    state.failures += 1
                    state.last_error = _describe(exc)
                    state.last_error_kind = type(exc).__name__
                    if state.failing_since is None:
                        state.failing_since = time.monotonic()
                raise
            finally:
                state.in_flight_since = None
                self._in_flight = 0
            self.published += len(batch)
            if state.failures:
                log.info(
                    "bus is taking batches again",
                    source=self.name,
                    after_failures=state.failures,
                    published=len(batch),
                )
            state.failures = 0
            state.last_error = None
            state.last_error_kind = None
            state.failing_since = None


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."
