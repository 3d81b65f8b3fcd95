"""``lookout dispatch``: alert events to partner agencies' webhooks, never silently lost.

Two loops share one process:

* **intake** — a consumer-group member on ``fusion.alerts``. For each micro-batch it writes
  one delivery row per (alert event, matching subscription) in one transaction, and only
  then commits the batch's offsets (``intake.py``). A record it cannot read goes to the
  dead-letter topic first. A lost database is waited out with backoff: nothing is
  committed, nothing skipped.
* **delivery** — claims due rows from the database with a lease and sends them through one
  shared, pooled, SSRF-guarded ``httpx.AsyncClient``, at most
  ``webhook_concurrency_per_endpoint`` at a time per endpoint, so a slow or dead endpoint
  holds only its own slots while healthy ones go on. Each attempt is logged; failures are
  retried on the persisted schedule (``schedule.py``); ``410 Gone``, or an endpoint failing
  for ``webhook_disable_after_s``, disables the endpoint and tells admins (an audit row and
  an ``admin_notices`` row the page shows).

A dispatcher killed at any moment loses nothing: offsets follow the rows, and a claimed
delivery comes back when its lease runs out. The price is a possible duplicate, which
carries the same ``webhook-id`` for the receiver to drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

import httpcore
import httpx
import psycopg
import structlog
from psycopg_pool import AsyncConnectionPool

from api.settings import ApiSettings
from api.webhooks import metrics
from api.webhooks.delivery import attempt
from api.webhooks.intake import FilterCache, IntakeResult, plan_batch
from api.webhooks.schedule import Clock, RetryPlan, SystemClock, parse_retry_after
from api.webhooks.settings import WebhookSettings
from api.webhooks.ssrf import (
    AddressPolicy,
    Resolver,
    SsrfGuard,
    guarded_client,
    parse_allow_cidrs,
    system_resolver,
)
from bus.base import Bus, CommitError, Record, Subscription
from bus.deadletter import dead_letter
from schemas.health import ComponentHealth
from schemas.topics import Topic
from store import webhooks as db
from store.db import is_connection_lost

log = structlog.get_logger(__name__)

CLAIM_COALESCE_S = 0.005
"""Wait this long after a wake before claiming, so one claim serves many freed slots."""
LIVENESS_S = 120.0
"""A loop that has not gone round for this long is stuck: /healthz says down (a restart
is the cure). Both loops go round at least every few seconds, waiting or not."""
POOL_SIZE = 16
"""Database connections: claims, intake and one per attempt being recorded."""

BatchHook = Callable[[Sequence[Record]], Awaitable[None]]


class EndpointClients:
    """One pooled, SSRF-guarded ``httpx.AsyncClient`` per endpoint, with as many
    connections as the endpoint may have deliveries in flight.

    Why not one client for all: httpcore's pool matches every queued request against every
    connection on each change (O(connections x requests)); with 200 connections that
    dominated the dispatcher's CPU in bench/webhooks. Per endpoint, a pool holds at most
    ``webhook_concurrency_per_endpoint`` connections, keeps them alive between deliveries,
    and a dead endpoint can never occupy connections another one needs."""

    def __init__(
        self,
        guard: SsrfGuard,
        settings: WebhookSettings,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.guard = guard
        self.settings = settings
        self.backend = backend
        self._clients: dict[uuid.UUID, httpx.AsyncClient] = {}

    def get(self, subscription_id: uuid.UUID) -> httpx.AsyncClient:
        client = self._clients.get(subscription_id)
        if client is None:
            client = guarded_client(
                self.guard,
                timeout_s=self.settings.webhook_timeout_s,
                max_connections=self.settings.webhook_concurrency_per_endpoint,
                inner=self.backend,
            )
            self._clients[subscription_id] = client
        return client

    async def __aenter__(self) -> EndpointClients:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        clients, self._clients = list(self._clients.values()), {}
        await asyncio.gather(*(c.aclose() for c in clients), return_exceptions=True)


class Dispatcher:
    def __init__(
        self,
        bus: Bus,
        settings: WebhookSettings,
        database_url: str,
        *,
        clock: Clock | None = None,
        resolver: Resolver = system_resolver,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        topic: str | None = None,
        deadletter_topic: str = Topic.DEADLETTER,
        after_intake: BatchHook | None = None,
        sharing_window_days: int | None = None,
    ) -> None:
        """``network_backend`` opens sockets below the SSRF guard (tests record them);
        ``after_intake`` runs between the rows' commit and the offsets' (crash tests)."""
        self.bus = bus
        self.settings = settings
        self.database_url = database_url
        self.clock: Clock = clock or SystemClock()
        self.guard = SsrfGuard(
            AddressPolicy(parse_allow_cidrs(settings.webhook_allow_cidrs)), resolver
        )
        self.plan = RetryPlan(settings.webhook_retry_schedule_s, settings.webhook_retry_after_max_s)
        self.topic = topic or settings.dispatch_topic
        # The API's setting: one sharing rule, read the same way by routes and webhooks.
        self.sharing_window_days = sharing_window_days or ApiSettings().sharing_window_days
        self.deadletter_topic = deadletter_topic
        self._network_backend = network_backend
        self._after_intake = after_intake
        self._filters = FilterCache()
        self._wake = asyncio.Event()
        self.ready = asyncio.Event()
        self.rounds = 0
        """Claim rounds done: a test waits for it to move instead of sleeping."""
        self._in_flight: dict[uuid.UUID, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._pool: AsyncConnectionPool | None = None
        self._subscription: Subscription | None = None
        self.problem: str | None = None
        self.problem_since: float | None = None
        self.counts: dict[str, int] = {"events": 0, "deliveries": 0, "attempts": 0}
        self._went_round: dict[str, float] = {}

    # --- life cycle ------------------------------------------------------------------

    async def run(self, *, consume: bool = True) -> None:
        """Intake and delivery until cancelled; ``consume=False`` delivers only (rows come
        from ``intake`` calls: tests, and a process that only delivers)."""
        self._pool = AsyncConnectionPool(
            self.database_url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"autocommit": True},
            open=False,
        )
        await self._pool.open(wait=False)
        clients = EndpointClients(self.guard, self.settings, self._network_backend)
        try:
            async with clients, asyncio.TaskGroup() as group:
                self.ready.set()
                if consume:
                    group.create_task(self.run_intake(), name="webhook-intake")
                group.create_task(self.run_delivery(clients), name="webhook-delivery")
        finally:
            self.ready.clear()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._pool.close()

    @property
    def in_flight(self) -> int:
        """Deliveries being attempted right now."""
        return len(self._tasks)

    def wake(self) -> None:
        """Look for due deliveries now (after new rows, a redelivery, or a clock move)."""
        self._wake.set()

    def _trouble(self, what: str, exc: BaseException) -> None:
        reason = f"{what}: {str(exc).strip()[:300] or type(exc).__name__}"
        if self.problem_since is None:
            self.problem_since = time.monotonic()
            log.warning("webhook dispatcher waiting", reason=reason)
        self.problem = reason

    def _healed(self) -> None:
        if self.problem is not None:
            log.info("webhook dispatcher recovered", was=self.problem)
        self.problem = None
        self.problem_since = None

    # --- intake ----------------------------------------------------------------------

    async def run_intake(self) -> None:
        subscription = self.bus.subscribe([self.topic], group=self.settings.dispatch_group)
        self._subscription = subscription
        async with subscription:
            while True:
                self._went_round["intake"] = time.monotonic()
                records = await subscription.getmany(
                    max_records=self.settings.dispatch_batch_max_records,
                    timeout_s=self.settings.dispatch_poll_timeout_s,
                )
                if not records:
                    continue
                await self.intake(records)
                if self._after_intake is not None:
                    await self._after_intake(records)
                try:
                    await subscription.commit(records)
                except CommitError as exc:  # the partition moved: its new owner re-reads
                    log.warning("offsets not committed", reason=str(exc))

    async def intake(self, records: Sequence[Record]) -> IntakeResult:
        """Write the batch's rows, waiting out a lost database; then dead-letter the
        unreadable records. Anything else unforeseen propagates: the process stops with
        the reason rather than skip (fail closed)."""
        delay = self.settings.dispatch_retry_initial_s
        assert self._pool is not None
        while True:
            try:
                async with self._pool.connection() as conn, conn.transaction():
                    now = self.clock.now()
                    result = await plan_batch(
                        conn,
                        records,
                        self.settings,
                        self._filters,
                        now=now,
                        first_attempt_at=self.plan.first_attempt_at(now),
                        sharing_window_days=self.sharing_window_days,
                    )
                break
            except (psycopg.Error, OSError) as exc:
                if isinstance(exc, psycopg.Error) and not is_connection_lost(exc):
                    raise
                self._trouble("database lost while writing deliveries", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.dispatch_retry_max_s)
        if result.unreadable:
            await self.bus.publish_many(
                [
                    dead_letter(r, why, self.settings.dispatch_group, topic=self.deadletter_topic)
                    for r, why in result.unreadable
                ]
            )
            metrics.DEAD_LETTERS.inc(len(result.unreadable))
            for record, why in result.unreadable:
                log.warning("alert record dead-lettered", offset=record.offset, reason=why)
        self._healed()
        self.wake()
        metrics.DELIVERIES_CREATED.inc(result.created)
        self.counts["events"] += result.events
        self.counts["deliveries"] += result.created
        return result

    # --- delivery --------------------------------------------------------------------

    async def run_delivery(self, clients: EndpointClients) -> None:
        assert self._pool is not None
        delay = self.settings.dispatch_retry_initial_s
        while True:
            self._went_round["delivery"] = time.monotonic()
            self._wake.clear()
            try:
                subscribers, claimed = await self._claim()
                self._healed()
                delay = self.settings.dispatch_retry_initial_s
            except (psycopg.Error, OSError) as exc:
                if isinstance(exc, psycopg.Error) and not is_connection_lost(exc):
                    raise
                self._trouble("database lost while claiming deliveries", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.dispatch_retry_max_s)
                continue
            for due in claimed:
                subscriber = subscribers.get(due.subscription_id)
                if subscriber is None:  # disabled or deleted since the claim
                    continue
                self._in_flight[due.subscription_id] = (
                    self._in_flight.get(due.subscription_id, 0) + 1
                )
                client = clients.get(subscriber.subscription_id)
                task = asyncio.create_task(self._deliver(client, subscriber, due))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            metrics.IN_FLIGHT.set(len(self._tasks))
            self.rounds += 1
            if len(claimed) >= self.settings.webhook_claim_batch:
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.webhook_poll_s):  # not wait_for
                    await self._wake.wait()
            # Deliveries finishing one by one each wake the loop: gather a few before the
            # next claim, or the claims (one query each) become the bottleneck.
            await asyncio.sleep(CLAIM_COALESCE_S)

    async def _claim(self) -> tuple[dict[uuid.UUID, db.SubscriptionRow], list[db.DueDelivery]]:
        assert self._pool is not None
        async with self._pool.connection() as conn:
            claimed = await db.claim_due(
                conn,
                now=self.clock.now(),
                lease_s=self.settings.webhook_lease_s,
                limit=self.settings.webhook_claim_batch,
                per_endpoint=self.settings.webhook_concurrency_per_endpoint,
                in_flight={k: v for k, v in self._in_flight.items() if v},
            )
            if not claimed:
                return {}, []
            rows = await db.subscriptions(conn, active_only=True)
        return {r.subscription_id: r for r in rows}, claimed

    async def _deliver(
        self, client: httpx.AsyncClient, subscriber: db.SubscriptionRow, due: db.DueDelivery
    ) -> None:
        try:
            now = self.clock.now()
            outcome = await attempt(
                client,
                url=subscriber.url,
                webhook_id=due.webhook_id,
                body=due.body,
                content_type=due.content_type,
                secrets=subscriber.signing_secrets(now),
                attempted_at=now,
                excerpt_bytes=self.settings.webhook_response_excerpt_bytes,
                timeout_s=self.settings.webhook_timeout_s,
            )
            result = outcome.result
            metrics.ATTEMPTS.labels(result.outcome).inc()
            if result.latency_ms is not None:
                metrics.ATTEMPT_SECONDS.observe(result.latency_ms / 1000.0)
            self.counts["attempts"] += 1
            retry_at = None
            if not result.delivered:
                after = self.clock.now()
                retry_at = self.plan.next_attempt_at(
                    due.attempts + 1, after, parse_retry_after(outcome.retry_after, after)
                )
                if retry_at is None:
                    metrics.GIVEN_UP.inc()
                    log.warning(
                        "webhook delivery given up",
                        delivery_id=str(due.delivery_id),
                        url=subscriber.url,
                        attempts=due.attempts + 1,
                    )
            await self._record(subscriber, due, result, retry_at, gone=outcome.gone)
        except Exception as exc:  # never lose the task silently: log, lease brings it back
            self._trouble("delivery bookkeeping failed", exc)
            log.exception("webhook delivery bookkeeping failed", delivery_id=str(due.delivery_id))
        finally:
            self._in_flight[due.subscription_id] -= 1
            if not self._in_flight[due.subscription_id]:
                del self._in_flight[due.subscription_id]
            metrics.IN_FLIGHT.set(len(self._tasks) - 1)
            self.wake()

    async def _record(
        self,
        subscriber: db.SubscriptionRow,
        due: db.DueDelivery,
        result: db.AttemptResult,
        retry_at: datetime | None,
        *,
        gone: bool,
    ) -> None:
        assert self._pool is not None
        async with self._pool.connection() as conn:
            await db.record_attempt(conn, due, result, retry_at=retry_at)
            reason = None
            if gone:
                reason = "the endpoint answered 410 Gone"
            elif not result.delivered:
                since = await db.failing_since(conn, subscriber.subscription_id)
                limit = timedelta(seconds=self.settings.webhook_disable_after_s)
                if since is not None and result.attempted_at - since >= limit:
                    days = self.settings.webhook_disable_after_s / 86_400
                    reason = f"every attempt failed for {days:g} days"
            if reason is not None and await db.disable_subscription(
                conn, subscriber.subscription_id, reason, result.attempted_at
            ):
                metrics.DISABLED.labels("gone" if gone else "failing").inc()
                log.warning(
                    "webhook endpoint disabled",
                    subscription_id=str(subscriber.subscription_id),
                    url=subscriber.url,
                    reason=reason,
                )

    # --- health ----------------------------------------------------------------------

    async def liveness(self) -> ComponentHealth:
        """Down only when a loop is stuck (not when it waits for a lost database)."""
        now = time.monotonic()
        stuck = {
            loop: round(now - at)
            for loop, at in self._went_round.items()
            if now - at > LIVENESS_S and not (loop == "intake" and self.problem)
        }
        if stuck:
            detail = ", ".join(f"{loop} loop idle {s}s" for loop, s in stuck.items())
            return ComponentHealth(name="webhook-dispatcher", status="down", detail=detail)
        return ComponentHealth(name="webhook-dispatcher", status="ok", detail="loops running")

    async def health(self) -> ComponentHealth:
        facts: dict[str, int | float | str | None] = {
            **self.counts,
            "in_flight": sum(self._in_flight.values()),
        }
        if self.problem is not None:
            waited = time.monotonic() - (self.problem_since or time.monotonic())
            facts["waiting_s"] = round(waited, 1)
            return ComponentHealth(
                name="webhook-dispatcher", status="degraded", detail=self.problem, facts=dict(facts)
            )
        if self._subscription is not None and self._subscription.assignment():
            consumer = await self._subscription.health()
            facts["lag"] = consumer.lag
            if not consumer.alive:
                return ComponentHealth(
                    name="webhook-dispatcher",
                    status="down",
                    detail=f"consumer stalled: {consumer.reason}",
                    facts=dict(facts),
                )
        return ComponentHealth(
            name="webhook-dispatcher", status="ok", detail="delivering", facts=dict(facts)
        )
