"""Is ingest's work still turning? The heartbeat its two loops advance, for /healthz.

Ingest runs two loops: the read loop (read a batch from the feed, decode it, hand it to the
bus, backing off while the bus refuses) and the timer (every ``flush_interval_s``: publish
what waits, expire stale fragments). A process whose loops stopped turning answers its
probes and does nothing, so liveness asks the heartbeat:

* the timer must tick: it never waits on the feed, so a timer that has not run for the
  liveness timeout is dead (an error ended it: its reason is shown at once) or stuck;
* the read loop must step, unless it is waiting for the feed: a quiet feed is not a
  fault (readiness reports it), but a decode or a publish that has not returned for the
  timeout is stuck. Each publish attempt during a bus outage is a step: an outage makes
  ingest not ready, never not alive, while the bus client answers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class Heartbeat:
    timeout_s: float = 60.0
    """Seconds without a step (read loop, unless waiting for the feed) or a tick (timer)
    after which ingest is not alive."""
    loop_at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` of the read loop's last step."""
    waiting_for_feed: bool = True
    timer_at: float = field(default_factory=time.monotonic)
    ticks: int = 0
    """Timer ticks so far."""
    timer_failure: str | None = None
    """Why the timer stopped, if an error ended it."""

    def step(self) -> None:
        """The read loop moved on (a batch read, decoded, or a publish attempted)."""
        self.loop_at = time.monotonic()
        self.waiting_for_feed = False

    def waiting(self) -> None:
        """The read loop now waits for the feed (however long: a quiet feed is alive)."""
        self.loop_at = time.monotonic()
        self.waiting_for_feed = True

    def tick(self) -> None:
        self.timer_at = time.monotonic()
        self.ticks += 1

    def timer_failed(self, reason: str) -> None:
        self.timer_failure = reason

    def stuck(self) -> str | None:
        """Why ingest is not alive, or None when both loops turn."""
        if self.timer_failure is not None:
            return f"the ingest timer failed: {self.timer_failure}"
        now = time.monotonic()
        if not self.waiting_for_feed and now - self.loop_at > self.timeout_s:
            return (
                f"the read loop has not moved for {now - self.loop_at:.0f}s "
                "(a decode or a publish that does not return)"
            )
        if now - self.timer_at > self.timeout_s:
            return f"the ingest timer has not run for {now - self.timer_at:.0f}s"
        return None

    def facts(self) -> dict[str, int | float | str | None]:
        now = time.monotonic()
        return {
            "seconds_since_loop_step": round(now - self.loop_at, 1),
            "waiting_for_feed": int(self.waiting_for_feed),
            "seconds_since_timer": round(now - self.timer_at, 1),
            "timer_ticks": self.ticks,
        }
