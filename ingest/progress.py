"""How a running ingest is doing: for /readyz, is the feed still delivering and is the bus
taking what was decoded? For /healthz, are its loops still turning (``ingest.heartbeat``)?"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ingest.decoder import DecodeStats
from ingest.heartbeat import Heartbeat
from ingest.publisher import BatchPublisher
from schemas.health import ComponentHealth

Facts = dict[str, int | float | str | None]


@dataclass
class IngestProgress:
    """Updated by ``run_ingest`` on every batch read from the source."""

    source: str
    name: str = "ingest"
    quiet_after_s: float = 120.0
    publish_stall_s: float = 10.0
    """A publish unacknowledged this long is reported (degraded)."""
    stats: DecodeStats = field(default_factory=DecodeStats)
    publisher: BatchPublisher | None = None
    source_facts: Callable[[], dict[str, int]] | None = None
    """What the source itself counts (a UDP listener: datagrams it could not take)."""
    started_at: float = field(default_factory=time.monotonic)
    last_data_at: float | None = None
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    """Advanced by the read loop and the timer of ``run_ingest``: liveness."""

    def saw_data(self) -> None:
        self.last_data_at = time.monotonic()

    async def liveness(self) -> ComponentHealth:
        """Alive while the read loop and the timer turn (``ingest.heartbeat``): down, so
        the process is restarted, when either has stopped."""
        facts: Facts = {"source": self.source, **self.heartbeat.facts()}
        stuck = self.heartbeat.stuck()
        if stuck is not None:
            return ComponentHealth(name=self.name, status="down", detail=stuck, facts=facts)
        return ComponentHealth(name=self.name, status="ok", detail="loops turning", facts=facts)

    async def health(self) -> ComponentHealth:
        now = time.monotonic()
        since = now - (self.last_data_at or self.started_at)
        facts: Facts = {
            "source": self.source,
            "lines_read": self.stats.lines_read,
            "lines_decoded": self.stats.lines_decoded,
            "lines_rejected": self.stats.lines_rejected,
            "seconds_since_data": round(since, 1),
        }
        if self.source_facts is not None:
            facts.update(self.source_facts())
        publisher = self.publisher
        if publisher is not None:
            state = publisher.state
            facts.update(
                published=publisher.published,
                holding=publisher.held,
                publishes_refused=publisher.refused,
            )
            if state.failures:
                failing_s = now - (state.failing_since or now)
                # The bus is the way out of this service: while it refuses, nothing this
                # service decodes reaches anyone. Held, not lost; the feed waits.
                return ComponentHealth(
                    name=self.name,
                    status="down",
                    detail=f"the bus refused the last {state.failures} publish(es) over "
                    f"{failing_s:.0f}s ({state.last_error_kind}); holding {publisher.held} "
                    "events and pausing the feed, retrying with backoff",
                    facts=dict(facts),
                )
            if state.in_flight_since is not None:
                waiting_s = now - state.in_flight_since
                if waiting_s > self.publish_stall_s:
                    return ComponentHealth(
                        name=self.name,
                        status="degraded",
                        detail=f"the bus has not acknowledged a publish for {waiting_s:.0f}s; "
                        f"holding {publisher.held} events and pausing the feed",
                        facts=dict(facts),
                    )
        if since > self.quiet_after_s:
            # A silent feed is not a dead process: the source keeps reconnecting.
            return ComponentHealth(
                name=self.name,
                status="degraded",
                detail=f"no data from the feed for {since:.0f}s",
                facts=dict(facts),
            )
        return ComponentHealth(name=self.name, status="ok", detail="receiving", facts=dict(facts))
