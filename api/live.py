"""Live alerts for the watch floor: one hub per API process, a bounded queue per client.

The database is the one ordered log: every write of an alert takes the next
``alerts.change_seq`` (migration 008), which is the server-sent event's id. The hub reads
new changes per agency (under that agency's row-level security, so a client never sees an
alert it could not read over REST) and hands them to each client's queue. It reads when
the bus's live tail of ``fusion.alerts`` says something happened (fusion's alerts, other
API instances' decisions), when this instance decides, and at least every ``sse_poll_s``.
A reconnecting browser sends ``Last-Event-ID`` and is first served from the database.

Change numbers are taken inside write transactions, so a number can become visible after a
higher one (two writers committing out of order). The hub therefore re-reads numbers it
saw within the last ``sse_settle_s`` and only then moves its cursor past them, so a late
commit is still delivered.

Exactly once per client, across the seam between a resuming client's backlog and the live
changes the others are following: each client remembers what it was sent above its own
settled point and drops a repeat. A client resuming from an older Last-Event-ID rewinds
its agency's read to that id; the rows read again are offered to every client of the
agency, and only the one that has not had them takes them.

A client whose queue is full (a stalled browser) is disconnected rather than allowed to
slow the others; it reconnects with its Last-Event-ID and resumes from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client import Counter, Gauge

from api.db import ApiDatabase
from api.models import Alert
from bus.base import Bus
from schemas.topics import Topic
from store.alert_queries import alerts_changed_after, last_change_seq

log = structlog.get_logger(__name__)

READ_LIMIT = 1000
CLIENTS = Gauge("lookout_sse_clients", "Live-stream clients connected")
DROPPED = Counter("lookout_sse_clients_dropped_total", "Clients cut off for falling behind")


@dataclass(eq=False)
class LiveClient:
    agency: str
    after_seq: int
    """Every change up to this number was delivered or is not wanted (before the client's
    start); it moves up as its agency's changes settle."""
    queue: asyncio.Queue[tuple[int, str] | None]
    overflowed: bool = False
    sent: set[int] = field(default_factory=set)
    """Changes above ``after_seq`` already delivered: a repeat of one is dropped."""

    def wants(self, seq: int) -> bool:
        return not self.overflowed and seq > self.after_seq and seq not in self.sent

    def offer(self, seq: int, data: str) -> None:
        if not self.wants(seq):
            return
        try:
            self.queue.put_nowait((seq, data))
        except asyncio.QueueFull:
            self.overflowed = True
            DROPPED.inc()
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()  # room for the end-of-stream marker
            self.queue.put_nowait(None)
            return
        self.sent.add(seq)

    def settle(self, settled: int) -> None:
        """Nothing at or below ``settled`` can still arrive: forget what was sent there."""
        if settled > self.after_seq:
            self.after_seq = settled
            self.sent = {seq for seq in self.sent if seq > settled}


@dataclass(eq=False)
class _Agency:
    settled: int
    """Every change up to this number has been read (no writer still holds a lower one)."""
    cursor: int
    """The next read starts after this number: ``settled``, or lower while a resuming
    client's backlog is still to be read."""
    recent: dict[int, float] = field(default_factory=dict)
    """Numbers above ``settled`` already seen, with when they were first seen."""
    clients: set[LiveClient] = field(default_factory=set)


class LiveAlerts:
    def __init__(
        self,
        database: ApiDatabase,
        bus: Bus | None,
        queue_size: int,
        poll_s: float,
        settle_s: float = 5.0,
    ):
        self.database = database
        self.bus = bus
        self.queue_size = queue_size
        self.poll_s = poll_s
        self.settle_s = settle_s
        self._agencies: dict[str, _Agency] = {}
        self._joining: list[LiveClient] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._deliver_forever(), name="live-deliver"))
        if self.bus is not None:
            self._tasks.append(asyncio.create_task(self._follow_bus(), name="live-tail"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    @contextlib.asynccontextmanager
    async def connect(self, agency: str, last_event_id: int | None) -> AsyncIterator[LiveClient]:
        """A client of ``agency`` receiving changes after ``last_event_id`` (None: from
        now on)."""
        if last_event_id is None:
            async with self.database.session(agency) as conn:
                last_event_id = await last_change_seq(conn)
        client = LiveClient(agency, last_event_id, asyncio.Queue(self.queue_size))
        self._joining.append(client)
        CLIENTS.inc()
        self.wake()
        try:
            yield client
        finally:
            CLIENTS.dec()
            group = self._agencies.get(agency)
            if group is not None:
                group.clients.discard(client)
                if not group.clients:
                    del self._agencies[agency]
            with contextlib.suppress(ValueError):
                self._joining.remove(client)

    async def _follow_bus(self) -> None:
        """Any record on fusion.alerts (an alert from fusion, a decision from any API
        instance) means: read the database now, and again once its writer has surely
        committed."""
        assert self.bus is not None
        async with self.bus.tail([Topic.FUSION_ALERTS.value]) as tail:
            while True:
                if await tail.getmany(max_records=1000, timeout_s=1.0):
                    self.wake()
                    asyncio.get_running_loop().call_later(0.3, self.wake)

    async def _deliver_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_s):  # not wait_for: see pyproject
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self._deliver_once()
            except Exception as exc:  # the database is away: clients wait, nothing is lost
                log.warning("live alerts: reading changes failed", error=str(exc)[:300])
                await asyncio.sleep(self.poll_s)

    async def _deliver_once(self) -> None:
        joining, self._joining = self._joining, []
        for client in joining:
            group = self._agencies.get(client.agency)
            if group is None:
                group = self._agencies[client.agency] = _Agency(
                    settled=client.after_seq, cursor=client.after_seq
                )
            group.cursor = min(group.cursor, client.after_seq)
            group.clients.add(client)
        for agency, group in list(self._agencies.items()):
            if group.clients:
                await self._read(agency, group)

    async def _read(self, agency: str, group: _Agency) -> None:
        now = time.monotonic()
        after = group.cursor
        while True:
            async with self.database.session(agency) as conn:
                rows = await alerts_changed_after(conn, after, READ_LIMIT)
            for row in rows:
                seq = int(row["change_seq"])
                if seq > group.settled:
                    group.recent.setdefault(seq, now)
                takers = [c for c in group.clients if c.wants(seq)]
                if takers:
                    data = Alert.model_validate(row).model_dump_json()
                    for client in takers:
                        client.offer(seq, data)
            if len(rows) < READ_LIMIT:
                break
            after = int(rows[-1]["change_seq"])
        self._settle(group, now)

    def _settle(self, group: _Agency, now: float) -> None:
        for seq in sorted(group.recent):
            if now - group.recent[seq] < self.settle_s:
                break
            group.settled = max(group.settled, seq)
            del group.recent[seq]
        group.cursor = group.settled
        for client in group.clients:
            client.settle(group.settled)


def event_of(item: tuple[int, str]) -> dict[str, Any]:
    seq, data = item
    return {"id": str(seq), "event": "alert", "data": data}
