"""How a running ingest is doing, for /healthz: is the feed still delivering?"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ingest.decoder import DecodeStats
from schemas.health import ComponentHealth


@dataclass
class IngestProgress:
    """Updated by ``run_ingest`` on every batch read from the source."""

    source: str
    name: str = "ingest"
    quiet_after_s: float = 120.0
    stats: DecodeStats = field(default_factory=DecodeStats)
    started_at: float = field(default_factory=time.monotonic)
    last_data_at: float | None = None

    def saw_data(self) -> None:
        self.last_data_at = time.monotonic()

    async def health(self) -> ComponentHealth:
        since = time.monotonic() - (self.last_data_at or self.started_at)
        facts: dict[str, int | float | str | None] = {
            "source": self.source,
            "lines_read": self.stats.lines_read,
            "lines_decoded": self.stats.lines_decoded,
            "lines_rejected": self.stats.lines_rejected,
            "seconds_since_data": round(since, 1),
        }
        if since > self.quiet_after_s:
            # A silent feed is not a dead process: the source keeps reconnecting.
            return ComponentHealth(
                name=self.name,
                status="degraded",
                detail=f"no data from the feed for {since:.0f}s",
                facts=dict(facts),
            )
        return ComponentHealth(name=self.name, status="ok", detail="receiving", facts=dict(facts))
