"""When to try a delivery again: Svix's schedule, a receiver's Retry-After, and the clock.

The schedule is a list of delays, one per attempt, measured from the previous failure:
attempt 1 at once, attempt 2 five seconds after attempt 1 failed, and so on (Svix's
published schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h — about 28 h in
all). After the last attempt fails, the delivery is given up (status ``dead``), logged and
counted; its endpoint is disabled once it has failed for 5 days (``webhook_disable_after_s``).

``Retry-After`` (seconds or an HTTP date) is honoured as a lower bound: the next attempt
is at the later of the schedule's step and the receiver's wish, capped so that no answer
can park a delivery for longer than the schedule's longest step.

Every decision reads an injectable ``Clock`` so tests run five days of schedule in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Protocol

SVIX_SCHEDULE_S: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock a test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        self._now += timedelta(seconds=seconds)
        return self._now


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or HTTP-date); None when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class RetryPlan:
    schedule_s: Sequence[float]
    retry_after_max_s: float

    @property
    def attempts(self) -> int:
        return len(self.schedule_s)

    def first_attempt_at(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.schedule_s[0])

    def next_attempt_at(
        self, attempts_made: int, now: datetime, retry_after_s: float | None = None
    ) -> datetime | None:
        """When to try again after ``attempts_made`` attempts, the last of which failed
        at ``now``; None when the schedule is spent."""
        if attempts_made >= len(self.schedule_s):
            return None
        delay = self.schedule_s[attempts_made]
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, self.retry_after_max_s))
        return now + timedelta(seconds=delay)
