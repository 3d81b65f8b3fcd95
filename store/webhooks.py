"""Webhook subscriptions, deliveries and their attempt log in the database.

The dispatcher writes a delivery row per (alert event, subscription) before it commits
its Kafka offsets, and delivers from these rows; the retry schedule lives in
``next_attempt_at``, so a restarted dispatcher picks up every pending delivery. A delivery
is claimed with a lease (``claimed_until``), so a dispatcher killed mid-delivery gives it
back when the lease runs out, and two dispatchers never send the same attempt.

Every time is passed in by the caller (the dispatcher's injectable clock), never the
database's ``now()``, so tests run days of retry schedule in seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from store.db import Conn

SUBSCRIPTION_COLUMNS = """subscription_id, agency_id, url, secret, description, rules,
    min_severity, area, format, previous_secret, previous_secret_until, failing_since,
    active, disabled_at, disabled_reason, created_at, updated_at"""


@dataclass(frozen=True)
class SubscriptionRow:
    subscription_id: uuid.UUID
    agency_id: str
    url: str
    secret: str
    description: str
    rules: list[str] | None
    min_severity: str | None
    area: dict[str, Any] | None
    format: str
    previous_secret: str | None
    previous_secret_until: datetime | None
    failing_since: datetime | None
    active: bool
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime

    def signing_secrets(self, now: datetime) -> list[str]:
        """The current secret, and the previous one while its overlap lasts."""
        found = [self.secret]
        if self.previous_secret and self.previous_secret_until and now < self.previous_secret_until:
            found.append(self.previous_secret)
        return found


@dataclass(frozen=True)
class NewDelivery:
    subscription_id: uuid.UUID
    alert_id: uuid.UUID | None
    event_type: str
    webhook_id: str
    event_time: datetime
    payload: dict[str, Any]
    body: str
    content_type: str
    first_attempt_at: datetime


@dataclass(frozen=True)
class DueDelivery:
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    webhook_id: str
    body: str
    content_type: str
    attempts: int
    created_at: datetime


@dataclass(frozen=True)
class DeliveryRow:
    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    alert_id: uuid.UUID | None
    event_type: str
    webhook_id: str
    event_time: datetime | None
    status: str
    attempts: int
    redeliveries: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class AttemptRow:
    attempt_id: int
    delivery_id: uuid.UUID
    attempted_at: datetime
    outcome: str
    status_code: int | None
    latency_ms: float | None
    response_excerpt: str | None
    error: str | None


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt came to. ``retry_at`` None with a failure means give up."""

    outcome: str  # delivered | failed | timeout | refused | error
    attempted_at: datetime
    status_code: int | None = None
    latency_ms: float | None = None
    response_excerpt: str | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


# --- subscriptions -------------------------------------------------------------------


async def create_subscription(
    conn: Conn,
    *,
    agency_id: str,
    url: str,
    secret: str,
    fmt: str,
    description: str = "",
    rules: Sequence[str] | None = None,
    min_severity: str | None = None,
    area: dict[str, Any] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    created_by_key: uuid.UUID | None = None,
) -> SubscriptionRow:
    min_lon, min_lat, max_lon, max_lat = bbox or (None, None, None, None)
    async with conn.cursor(row_factory=class_row(SubscriptionRow)) as cur:
        await cur.execute(
            f"""INSERT INTO webhook_subscriptions (subscription_id, agency_id, url, secret,
                    description, rules, min_severity, area, min_lon, min_lat, max_lon, max_lat,
                    format, created_by_key)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                RETURNING {SUBSCRIPTION_COLUMNS}""".encode(),
            (
                uuid.uuid4(),
                agency_id,
                url,
                secret,
                description,
                list(rules) if rules else None,
                min_severity,
                Jsonb(area) if area is not None else None,
                min_lon,
                min_lat,
                max_lon,
                max_lat,
                fmt,
                created_by_key,
            ),
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def subscriptions(
    conn: Conn, *, agency_id: str | None = None, active_only: bool = False
) -> list[SubscriptionRow]:
    conditions, params = ["true"], []
    if agency_id is not None:
        conditions.append("agency_id = %s")
        params.append(agency_id)
    if active_only:
        conditions.append("active")
    async with conn.cursor(row_factory=class_row(SubscriptionRow)) as cur:
        await cur.execute(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions "
            f"WHERE {' AND '.join(conditions)} ORDER BY created_at".encode(),
            params,
        )
        return await cur.fetchall()


async def subscription(
    conn: Conn, subscription_id: uuid.UUID, *, agency_id: str | None = None
) -> SubscriptionRow | None:
    async with conn.cursor(row_factory=class_row(SubscriptionRow)) as cur:
        await cur.execute(
            f"SELECT {SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions "
            "WHERE subscription_id = %s AND (%s::text IS NULL OR agency_id = %s)".encode(),
            (subscription_id, agency_id, agency_id),
        )
        return await cur.fetchone()


async def delete_subscription(conn: Conn, subscription_id: uuid.UUID, agency_id: str) -> bool:
    cur = await conn.execute(
        "DELETE FROM webhook_subscriptions WHERE subscription_id = %s AND agency_id = %s",
        (subscription_id, agency_id),
    )
    return cur.rowcount > 0


async def rotate_secret(
    conn: Conn,
    subscription_id: uuid.UUID,
    agency_id: str,
    new_secret: str,
    previous_until: datetime,
) -> bool:
    cur = await conn.execute(
        """UPDATE webhook_subscriptions
           SET previous_secret = secret, previous_secret_until = %s, secret = %s,
               updated_at = now()
           WHERE subscription_id = %s AND agency_id = %s""",
        (previous_until, new_secret, subscription_id, agency_id),
    )
    return cur.rowcount > 0


async def enable_subscription(conn: Conn, subscription_id: uuid.UUID, agency_id: str) -> bool:
    cur = await conn.execute(
        """UPDATE webhook_subscriptions
           SET active = true, disabled_at = NULL, disabled_reason = NULL, failing_since = NULL,
               updated_at = now()
           WHERE subscription_id = %s AND agency_id = %s""",
        (subscription_id, agency_id),
    )
    return cur.rowcount > 0


async def disable_subscription(
    conn: Conn, subscription_id: uuid.UUID, reason: str, at: datetime
) -> bool:
    """Disable an endpoint and tell admins: an audit row and an open admin notice, in the
    same transaction. False when it was already disabled (nothing written twice)."""
    async with conn.transaction():
        cur = await conn.execute(
            """UPDATE webhook_subscriptions
               SET active = false, disabled_at = %s, disabled_reason = %s, updated_at = now()
               WHERE subscription_id = %s AND active
               RETURNING agency_id, url""",
            (at, reason, subscription_id),
        )
        row = await cur.fetchone()
        if row is None:
            return False
        agency_id, url = row
        detail = {"url": url, "reason": reason}
        await conn.execute(
            """INSERT INTO audit_log (at, agency_id, action, resource, resource_id, detail)
               VALUES (%s, %s, 'disable', 'webhook', %s, %s)""",
            (at, agency_id, str(subscription_id), Jsonb(detail)),
        )
        await conn.execute(
            """INSERT INTO admin_notices (at, agency_id, kind, resource, resource_id, message)
               VALUES (%s, %s, 'webhook_disabled', 'webhook', %s, %s)""",
            (at, agency_id, str(subscription_id), f"Webhook {url} disabled: {reason}"),
        )
    return True


# --- the sharing rule and areas the dispatcher reads ----------------------------------


async def contributing_agencies(conn: Conn, since: datetime) -> set[str]:
    """Agencies that filed at least one report since ``since`` (the sharing rule)."""
    cur = await conn.execute(
        "SELECT DISTINCT agency_id FROM patrol_reports WHERE received_at >= %s", (since,)
    )
    return {str(row[0]) for row in await cur.fetchall()}


async def geofence_geometry(conn: Conn, geofence_id: str) -> dict[str, Any] | None:
    cur = await conn.execute(
        "SELECT geometry FROM geofences WHERE geofence_id = %s AND deleted_at IS NULL",
        (geofence_id,),
    )
    row = await cur.fetchone()
    return dict(row[0]) if row and isinstance(row[0], dict) else None


async def earlier_messages(
    conn: Conn, subscription_id: uuid.UUID, alert_id: uuid.UUID, before: datetime
) -> list[tuple[str, datetime]]:
    """(webhook id, event time) of this alert's earlier messages to this subscriber."""
    cur = await conn.execute(
        """SELECT webhook_id, event_time FROM webhook_deliveries
           WHERE subscription_id = %s AND alert_id = %s AND event_time < %s
           ORDER BY event_time, created_at""",
        (subscription_id, alert_id, before),
    )
    return [(str(r[0]), r[1]) for r in await cur.fetchall()]


# --- deliveries ------------------------------------------------------------------------


async def insert_deliveries(conn: Conn, rows: Sequence[NewDelivery]) -> int:
    """Insert, ignoring any already there (a redelivered Kafka record adds nothing)."""
    if not rows:
        return 0
    async with conn.cursor() as cur:
        await cur.executemany(
            """INSERT INTO webhook_deliveries (delivery_id, subscription_id, alert_id, event_type,
                   event_key, webhook_id, event_time, payload, body, content_type,
                   next_attempt_at)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (subscription_id, event_key) DO NOTHING""",
            [
                (
                    uuid.uuid4(),
                    r.subscription_id,
                    r.alert_id,
                    r.event_type,
                    r.webhook_id,
                    r.webhook_id,
                    r.event_time,
                    Jsonb(r.payload),
                    r.body,
                    r.content_type,
                    r.first_attempt_at,
                )
                for r in rows
            ],
            returning=False,
        )
        return cur.rowcount


_RELAXED_COMMIT = b"SET LOCAL synchronous_commit = off"
"""Claims and attempt records commit without waiting for the WAL flush: each delivery
would otherwise wait for its own fsync (the dispatcher's bottleneck in bench/webhooks).
A database crash can lose only the last moments of them, and a lost claim or "delivered"
mark means the delivery is sent again with the same webhook-id — the at-least-once the
receivers already deduplicate. Delivery rows themselves (the intake) stay synchronous:
Kafka offsets are committed on their strength."""

_CLAIM = b"""
WITH slots AS (
    SELECT s.subscription_id, %(per_endpoint)s - coalesce(b.n, 0) AS free
    FROM webhook_subscriptions s
    LEFT JOIN unnest(%(busy_ids)s::uuid[], %(busy_counts)s::int[]) AS b(subscription_id, n)
        ON b.subscription_id = s.subscription_id
    WHERE s.active
), chosen AS (
    SELECT due.delivery_id
    FROM slots
    CROSS JOIN LATERAL (
        SELECT d.delivery_id FROM webhook_deliveries d
        WHERE d.subscription_id = slots.subscription_id
          AND d.status IN ('pending', 'failed')
          AND d.next_attempt_at <= %(now)s
          AND (d.claimed_until IS NULL OR d.claimed_until < %(now)s)
        ORDER BY d.next_attempt_at
        LIMIT greatest(slots.free, 0)
    ) AS due
    LIMIT %(limit)s
)
UPDATE webhook_deliveries d SET claimed_until = %(lease_until)s
FROM chosen
WHERE d.delivery_id = chosen.delivery_id
  AND d.status IN ('pending', 'failed')
  AND (d.claimed_until IS NULL OR d.claimed_until < %(now)s)
RETURNING d.delivery_id, d.subscription_id, d.webhook_id, d.body, d.content_type, d.attempts,
          d.created_at
"""


async def claim_due(
    conn: Conn,
    *,
    now: datetime,
    lease_s: float,
    limit: int,
    per_endpoint: int,
    in_flight: dict[uuid.UUID, int],
) -> list[DueDelivery]:
    """Claim due deliveries, at most ``per_endpoint`` per subscription counting those
    already ``in_flight`` here. The UPDATE re-checks the claim, so two dispatchers racing
    for a row never both get it."""
    async with conn.transaction(), conn.cursor(row_factory=class_row(DueDelivery)) as cur:
        await cur.execute(_RELAXED_COMMIT)
        await cur.execute(
            _CLAIM,
            {
                "busy_ids": list(in_flight),
                "busy_counts": list(in_flight.values()),
                "now": now,
                "lease_until": now + timedelta(seconds=lease_s),
                "per_endpoint": per_endpoint,
                "limit": limit,
            },
        )
        return await cur.fetchall()


async def next_due_at(conn: Conn) -> datetime | None:
    cur = await conn.execute(
        """SELECT min(greatest(d.next_attempt_at, coalesce(d.claimed_until, d.next_attempt_at)))
           FROM webhook_deliveries d
           JOIN webhook_subscriptions s ON s.subscription_id = d.subscription_id AND s.active
           WHERE d.status IN ('pending', 'failed')"""
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def record_attempt(
    conn: Conn,
    delivery: DueDelivery,
    result: AttemptResult,
    *,
    retry_at: datetime | None,
) -> None:
    """The attempt's log row, the delivery's new state and the endpoint's failure streak,
    in one transaction. A failure with ``retry_at`` None gives the delivery up (dead)."""
    if result.delivered:
        status = "delivered"
    elif retry_at is not None:
        status = "failed"
    else:
        status = "dead"
    async with conn.transaction():
        await conn.execute(_RELAXED_COMMIT)
        await conn.execute(
            """INSERT INTO webhook_attempts (delivery_id, subscription_id, attempted_at, outcome,
                   status_code, latency_ms, response_excerpt, error)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            (
                delivery.delivery_id,
                delivery.subscription_id,
                result.attempted_at,
                result.outcome,
                result.status_code,
                result.latency_ms,
                result.response_excerpt,
                result.error,
            ),
        )
        await conn.execute(
            """UPDATE webhook_deliveries
               SET status = %s, attempts = attempts + 1, last_attempt_at = %s,
                   last_status_code = %s, last_error = %s, claimed_until = NULL,
                   next_attempt_at = coalesce(%s, next_attempt_at),
                   delivered_at = CASE WHEN %s THEN %s ELSE delivered_at END
               WHERE delivery_id = %s""",
            (
                status,
                result.attempted_at,
                result.status_code,
                result.error,
                retry_at,
                result.delivered,
                result.attempted_at,
                delivery.delivery_id,
            ),
        )
        if result.delivered:
            await conn.execute(
                "UPDATE webhook_subscriptions SET failing_since = NULL "
                "WHERE subscription_id = %s AND failing_since IS NOT NULL",
                (delivery.subscription_id,),
            )
        else:
            await conn.execute(
                "UPDATE webhook_subscriptions SET failing_since = %s "
                "WHERE subscription_id = %s AND failing_since IS NULL",
                (result.attempted_at, delivery.subscription_id),
            )


async def failing_since(conn: Conn, subscription_id: uuid.UUID) -> datetime | None:
    cur = await conn.execute(
        "SELECT failing_since FROM webhook_subscriptions WHERE subscription_id = %s",
        (subscription_id,),
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def release_claims(conn: Conn, delivery_ids: Sequence[uuid.UUID]) -> None:
    """Give back deliveries claimed but not attempted (a dispatcher stopping cleanly)."""
    if delivery_ids:
        await conn.execute(
            "UPDATE webhook_deliveries SET claimed_until = NULL WHERE delivery_id = ANY(%s)",
            (list(delivery_ids),),
        )


async def deliveries(
    conn: Conn, subscription_id: uuid.UUID, *, limit: int = 100
) -> list[DeliveryRow]:
    async with conn.cursor(row_factory=class_row(DeliveryRow)) as cur:
        await cur.execute(
            """SELECT delivery_id, subscription_id, alert_id, event_type, webhook_id, event_time,
                      status, attempts, redeliveries, next_attempt_at, last_attempt_at,
                      last_status_code, last_error, created_at, delivered_at
               FROM webhook_deliveries WHERE subscription_id = %s
               ORDER BY created_at DESC LIMIT %s""",
            (subscription_id, limit),
        )
        return await cur.fetchall()


async def delivery(
    conn: Conn, subscription_id: uuid.UUID, delivery_id: uuid.UUID
) -> DeliveryRow | None:
    async with conn.cursor(row_factory=class_row(DeliveryRow)) as cur:
        await cur.execute(
            """SELECT delivery_id, subscription_id, alert_id, event_type, webhook_id, event_time,
                      status, attempts, redeliveries, next_attempt_at, last_attempt_at,
                      last_status_code, last_error, created_at, delivered_at
               FROM webhook_deliveries WHERE subscription_id = %s AND delivery_id = %s""",
            (subscription_id, delivery_id),
        )
        return await cur.fetchone()


async def attempts(conn: Conn, delivery_id: uuid.UUID) -> list[AttemptRow]:
    async with conn.cursor(row_factory=class_row(AttemptRow)) as cur:
        await cur.execute(
            """SELECT attempt_id, delivery_id, attempted_at, outcome, status_code, latency_ms,
                      response_excerpt, error
               FROM webhook_attempts WHERE delivery_id = %s ORDER BY attempt_id""",
            (delivery_id,),
        )
        return await cur.fetchall()


async def redeliver(
    conn: Conn, subscription_id: uuid.UUID, delivery_id: uuid.UUID, at: datetime
) -> bool:
    """Send a delivery again from the start of the schedule (same webhook-id and body)."""
    cur = await conn.execute(
        """UPDATE webhook_deliveries
           SET status = 'pending', attempts = 0, redeliveries = redeliveries + 1,
               next_attempt_at = %s, claimed_until = NULL
           WHERE delivery_id = %s AND subscription_id = %s""",
        (at, delivery_id, subscription_id),
    )
    return cur.rowcount > 0


async def delivery_counts(conn: Conn) -> dict[str, int]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status")
        return {str(r["status"]): int(r["n"]) for r in await cur.fetchall()}
