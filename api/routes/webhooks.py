"""Webhook subscriptions of the caller's agency (integrator role): create (the secret is
shown once), list, read, delete, rotate the secret, re-enable, the delivery log, manual
redelivery and a test ping. Every query runs as the API role under row-level security
(migration 019): an agency sees and touches only its own subscriptions."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import shapely
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from shapely.geometry import shape

from api.common import unprocessable
from api.deps import Db, Integrator, audit
from api.webhooks.delivery import attempt
from api.webhooks.filters import area_bounds
from api.webhooks.settings import WebhookSettings
from api.webhooks.signing import new_secret
from api.webhooks.ssrf import (
    AddressPolicy,
    Resolver,
    SsrfGuard,
    SsrfRefused,
    guarded_client,
    parse_allow_cidrs,
    system_resolver,
)
from schemas.alerts import AlertRule, Severity
from schemas.config import PolygonGeometry
from store import webhooks as db

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

MAX_AREA_VERTICES = 10_000
PING_TYPE = "webhook.ping"


def webhook_settings(request: Request) -> WebhookSettings:
    """The app's webhook settings (tests set them on ``app.state``), else the environment."""
    found = getattr(request.app.state, "webhook_settings", None)
    return found if isinstance(found, WebhookSettings) else WebhookSettings()


def ssrf_guard(
    request: Request, settings: Annotated[WebhookSettings, Depends(webhook_settings)]
) -> SsrfGuard:
    resolver: Resolver = getattr(request.app.state, "webhook_resolver", None) or system_resolver
    return SsrfGuard(AddressPolicy(parse_allow_cidrs(settings.webhook_allow_cidrs)), resolver)


HookSettings = Annotated[WebhookSettings, Depends(webhook_settings)]
Guard = Annotated[SsrfGuard, Depends(ssrf_guard)]


class WebhookFilters(BaseModel):
    rules: list[AlertRule] | None = Field(
        default=None, description="Alert rules to receive; none means every rule."
    )
    min_severity: Severity | None = Field(default=None, description="Lowest severity sent.")
    area: PolygonGeometry | None = Field(
        default=None,
        description="Only alerts whose position lies in this GeoJSON (Multi)Polygon; an "
        "alert without a position is then not sent.",
    )


class WebhookIn(BaseModel):
    url: str = Field(
        max_length=2000,
        examples=["https://ops.partner-agency.example/lookout/alerts"],
        description="http(s) URL; it must resolve to public addresses only (SSRF guard).",
    )
    format: Literal["cloudevents", "cap"] = Field(
        default="cloudevents",
        description="cloudevents: CloudEvents 1.0 JSON (structured mode); cap: OASIS CAP 1.2 XML.",
    )
    description: str = Field(default="", max_length=500)
    filters: WebhookFilters = Field(default_factory=WebhookFilters)


class Webhook(BaseModel):
    id: uuid.UUID
    url: str
    format: str
    description: str
    filters: WebhookFilters
    active: bool
    disabled_at: datetime | None = None
    disabled_reason: str | None = None
    failing_since: datetime | None = None
    previous_secret_valid_until: datetime | None = None
    created_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(
        description="The signing secret (whsec_ + base64). Shown once: store it now.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret, shown once.")
    previous_secret_valid_until: datetime = Field(
        description="Until then every delivery carries both signatures."
    )


class Attempt(BaseModel):
    attempted_at: datetime
    outcome: str = Field(examples=["delivered", "failed", "timeout", "refused", "error"])
    status_code: int | None
    latency_ms: float | None
    response_excerpt: str | None = Field(description="The first bytes of the answer.")
    error: str | None


class Delivery(BaseModel):
    id: uuid.UUID
    webhook_id: str = Field(description="The webhook-id header: the alert event's id.")
    event_type: str = Field(examples=["alert.opened"])
    alert_id: uuid.UUID | None
    status: str = Field(examples=["pending", "failed", "delivered", "dead"])
    attempts: int
    redeliveries: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryWithAttempts(Delivery):
    log: list[Attempt]


def _public(row: db.SubscriptionRow) -> Webhook:
    return Webhook(
        id=row.subscription_id,
        url=row.url,
        format=row.format,
        description=row.description,
        filters=WebhookFilters(
            rules=[AlertRule(r) for r in row.rules] if row.rules else None,
            min_severity=Severity(row.min_severity) if row.min_severity else None,
            area=PolygonGeometry.model_validate(row.area) if row.area else None,
        ),
        active=row.active,
        disabled_at=row.disabled_at,
        disabled_reason=row.disabled_reason,
        failing_since=row.failing_since,
        previous_secret_valid_until=row.previous_secret_until,
        created_at=row.created_at,
    )


def _delivery(row: db.DeliveryRow) -> Delivery:
    return Delivery(
        id=row.delivery_id,
        webhook_id=row.webhook_id,
        event_type=row.event_type,
        alert_id=row.alert_id,
        status=row.status,
        attempts=row.attempts,
        redeliveries=row.redeliveries,
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )


def _not_found() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, "no such webhook for your agency")


async def _own(db_conn: Db, caller: Integrator, webhook: uuid.UUID) -> db.SubscriptionRow:
    row = await db.subscription(db_conn, webhook, agency_id=caller.agency)
    if row is None:
        raise _not_found()
    return row


def _checked_area(area: PolygonGeometry | None) -> dict[str, object] | None:
    if area is None:
        return None
    geometry = area.model_dump()
    polygon = shape(geometry)
    if shapely.get_num_coordinates(polygon) > MAX_AREA_VERTICES:
        raise unprocessable(f"filters.area has more than {MAX_AREA_VERTICES} vertices")
    if not shapely.is_valid(polygon):
        raise unprocessable(
            f"filters.area is not a valid polygon: {shapely.is_valid_reason(polygon)}"
        )
    return geometry


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def create(body: WebhookIn, caller: Integrator, conn: Db, guard: Guard) -> WebhookCreated:
    """Subscribe the caller's agency to alert events. The URL is resolved and refused when
    any address it names is not public (private, loopback, link-local, CGNAT, ...): 422."""
    try:
        await guard.check_url(body.url)
    except SsrfRefused as exc:
        raise unprocessable(f"url refused: {exc.reason}") from None
    area = _checked_area(body.filters.area)
    secret = new_secret()
    row = await db.create_subscription(
        conn,
        agency_id=caller.agency,
        url=body.url,
        secret=secret,
        fmt=body.format,
        description=body.description,
        rules=[r.value for r in body.filters.rules] if body.filters.rules else None,
        min_severity=body.filters.min_severity.value if body.filters.min_severity else None,
        area=area,
        bbox=area_bounds(area) if area else None,
        created_by_key=caller.key_id,
    )
    await audit(conn, caller, "create", "webhook", str(row.subscription_id), {"url": body.url})
    return WebhookCreated(**_public(row).model_dump(), secret=secret)


@router.get("", response_model=list[Webhook])
async def list_webhooks(caller: Integrator, conn: Db) -> list[Webhook]:
    return [_public(r) for r in await db.subscriptions(conn, agency_id=caller.agency)]


@router.get("/{webhook}", response_model=Webhook)
async def read(webhook: uuid.UUID, caller: Integrator, conn: Db) -> Webhook:
    return _public(await _own(conn, caller, webhook))


@router.delete("/{webhook}", status_code=status.HTTP_204_NO_CONTENT)
async def delete(webhook: uuid.UUID, caller: Integrator, conn: Db) -> Response:
    """Unsubscribe; pending deliveries are dropped with it (the log goes too)."""
    if not await db.delete_subscription(conn, webhook, caller.agency):
        raise _not_found()
    await audit(conn, caller, "delete", "webhook", str(webhook))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{webhook}/rotate-secret", response_model=SecretRotated)
async def rotate_secret(
    webhook: uuid.UUID, caller: Integrator, conn: Db, settings: HookSettings
) -> SecretRotated:
    """A new secret, shown once. During the overlap (``LOOKOUT_WEBHOOK_SECRET_OVERLAP_S``)
    deliveries carry both signatures, so the receiver switches without downtime."""
    secret = new_secret()
    until = datetime.now(UTC) + timedelta(seconds=settings.webhook_secret_overlap_s)
    if not await db.rotate_secret(conn, webhook, caller.agency, secret, until):
        raise _not_found()
    await audit(conn, caller, "rotate_secret", "webhook", str(webhook))
    return SecretRotated(secret=secret, previous_secret_valid_until=until)


@router.post("/{webhook}/enable", response_model=Webhook)
async def enable(webhook: uuid.UUID, caller: Integrator, conn: Db) -> Webhook:
    """Re-enable an endpoint the dispatcher disabled (410 Gone, or 5 days of failures)."""
    if not await db.enable_subscription(conn, webhook, caller.agency):
        raise _not_found()
    await audit(conn, caller, "enable", "webhook", str(webhook))
    return _public(await _own(conn, caller, webhook))


@router.get("/{webhook}/deliveries", response_model=list[Delivery])
async def deliveries(webhook: uuid.UUID, caller: Integrator, conn: Db) -> list[Delivery]:
    """The latest deliveries (newest first, at most 100)."""
    await _own(conn, caller, webhook)
    return [_delivery(r) for r in await db.deliveries(conn, webhook)]


@router.get("/{webhook}/deliveries/{delivery}", response_model=DeliveryWithAttempts)
async def delivery_log(
    webhook: uuid.UUID, delivery: uuid.UUID, caller: Integrator, conn: Db
) -> DeliveryWithAttempts:
    """One delivery and its log: every attempt's outcome, status, latency, first bytes."""
    await _own(conn, caller, webhook)
    found = [
        r for r in await db.deliveries(conn, webhook, limit=10_000) if r.delivery_id == delivery
    ]
    if not found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such delivery")
    log = await db.attempts(conn, delivery)
    return DeliveryWithAttempts(
        **_delivery(found[0]).model_dump(),
        log=[
            Attempt(
                attempted_at=a.attempted_at,
                outcome=a.outcome,
                status_code=a.status_code,
                latency_ms=a.latency_ms,
                response_excerpt=a.response_excerpt,
                error=a.error,
            )
            for a in log
        ],
    )


@router.post(
    "/{webhook}/deliveries/{delivery}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Delivery,
)
async def redeliver(
    webhook: uuid.UUID, delivery: uuid.UUID, caller: Integrator, conn: Db
) -> Delivery:
    """Send a delivery again from the start of the retry schedule, with the same
    webhook-id and body (the receiver deduplicates on the id)."""
    await _own(conn, caller, webhook)
    if not await db.redeliver(conn, webhook, delivery, datetime.now(UTC)):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such delivery")
    await audit(conn, caller, "redeliver", "webhook_delivery", str(delivery))
    (row,) = [
        r for r in await db.deliveries(conn, webhook, limit=10_000) if r.delivery_id == delivery
    ]
    return _delivery(row)


@router.post("/{webhook}/ping", response_model=DeliveryWithAttempts)
async def ping(
    webhook: uuid.UUID, caller: Integrator, conn: Db, settings: HookSettings, guard: Guard
) -> DeliveryWithAttempts:
    """Send a signed test event now and answer with the outcome (it is logged like any
    delivery, and never retried)."""
    row = await _own(conn, caller, webhook)
    now = datetime.now(UTC)
    ping_id = f"ping-{uuid.uuid4()}"
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": ping_id,
            "type": PING_TYPE,
            "source": "/lookout/webhooks",
            "time": now.isoformat().replace("+00:00", "Z"),
            "data": {"webhook": str(webhook)},
        },
        separators=(",", ":"),
    )
    await db.insert_deliveries(
        conn,
        [
            db.NewDelivery(
                subscription_id=webhook,
                alert_id=None,
                event_type=PING_TYPE,
                webhook_id=ping_id,
                event_time=now,
                payload={"webhook": str(webhook)},
                body=body,
                content_type="application/cloudevents+json",
                first_attempt_at=now,
            )
        ],
    )
    (due,) = [d for d in await db.deliveries(conn, webhook, limit=10) if d.webhook_id == ping_id]
    async with guarded_client(
        guard, timeout_s=settings.webhook_timeout_s, max_connections=1
    ) as client:
        outcome = await attempt(
            client,
            url=row.url,
            webhook_id=ping_id,
            body=body,
            content_type="application/cloudevents+json",
            secrets=row.signing_secrets(now),
            attempted_at=now,
            excerpt_bytes=settings.webhook_response_excerpt_bytes,
            timeout_s=settings.webhook_timeout_s,
        )
    pending = db.DueDelivery(
        delivery_id=due.delivery_id,
        subscription_id=webhook,
        webhook_id=ping_id,
        body=body,
        content_type="application/cloudevents+json",
        attempts=0,
        created_at=due.created_at,
    )
    await db.record_attempt(conn, pending, outcome.result, retry_at=None)
    return await delivery_log(webhook, due.delivery_id, caller, conn)
