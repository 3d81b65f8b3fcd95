"""From alert records to delivery rows: who receives what, in which format.

For one micro-batch of ``fusion.alerts`` records, in one database transaction: every
active subscription's filters and its agency's sharing rule are applied to every alert
event; each match becomes one delivery row holding the rendered body (CloudEvents JSON or
CAP XML), keyed by (subscription, webhook id) so a record read twice adds nothing. The
dispatcher commits the batch's offsets only after this transaction, so a crash between
the two re-reads the batch and writes nothing new.

Records that are not alert events are returned for the dead-letter topic, with a reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from api.settings import ApiSettings
from api.webhooks import cap, cloudevents
from api.webhooks.filters import CompiledFilter, visibility
from api.webhooks.settings import WebhookSettings
from bus.base import Record
from schemas.alerts import Alert, AlertChange
from schemas.envelope import CloudEventAttributes, EnvelopeError
from store import webhooks as db
from store.db import Conn


@dataclass
class IntakeResult:
    created: int = 0
    matched: int = 0
    events: int = 0
    unreadable: list[tuple[Record, str]] = field(default_factory=list)


class FilterCache:
    """Compiled filters of the active subscriptions, rebuilt only for changed rows."""

    def __init__(self) -> None:
        self._compiled: dict[uuid.UUID, tuple[datetime, CompiledFilter]] = {}

    def compile(self, rows: Sequence[db.SubscriptionRow]) -> list[CompiledFilter]:
        fresh: dict[uuid.UUID, tuple[datetime, CompiledFilter]] = {}
        for row in rows:
            known = self._compiled.get(row.subscription_id)
            if known is None or known[0] != row.updated_at:
                known = (row.updated_at, CompiledFilter(row))
            fresh[row.subscription_id] = known
        self._compiled = fresh
        return [compiled for _, compiled in fresh.values()]


def read_alert(record: Record) -> tuple[CloudEventAttributes, Alert]:
    """The record's attributes and alert; raises ``EnvelopeError`` with the reason."""
    if record.value is None:
        raise EnvelopeError("a tombstone on fusion.alerts carries no alert")
    attributes = record.attributes()
    return attributes, record.decode(Alert)


async def _polygon(conn: Conn, alert: Alert) -> list[tuple[float, float]] | None:
    if alert.geofence_id is None:
        return None
    geometry = await db.geofence_geometry(conn, alert.geofence_id)
    if not geometry:
        return None
    coordinates = geometry.get("coordinates")
    if geometry.get("type") == "Polygon" and isinstance(coordinates, list) and coordinates:
        return [(float(p[0]), float(p[1])) for p in coordinates[0]]
    return None  # a MultiPolygon zone is described by the circle only


async def render_for(
    conn: Conn,
    subscription: db.SubscriptionRow,
    alert: Alert,
    attributes: CloudEventAttributes,
    settings: WebhookSettings,
) -> tuple[str, str]:
    """(body, content type) of one alert event for one subscriber."""
    if subscription.format == "cap":
        earlier = (
            []
            if alert.change is AlertChange.OPENED
            else await db.earlier_messages(
                conn, subscription.subscription_id, alert.alert_id, attributes.time
            )
        )
        body = cap.render(
            alert,
            identifier=attributes.id,
            sent=attributes.time,
            sender=settings.webhook_cap_sender,
            references=[cap.CapReference(i, s) for i, s in earlier],
            polygon=await _polygon(conn, alert),
            circle_km=settings.webhook_cap_circle_km,
        )
        return body, cap.CONTENT_TYPE
    return cloudevents.render(alert, attributes), cloudevents.CONTENT_TYPE


async def plan_batch(
    conn: Conn,
    records: Sequence[Record],
    settings: WebhookSettings,
    filters: FilterCache,
    *,
    now: datetime,
    first_attempt_at: datetime,
    sharing_window_days: int | None = None,
) -> IntakeResult:
    """Write the batch's delivery rows (call inside a transaction)."""
    result = IntakeResult()
    events: list[tuple[CloudEventAttributes, Alert]] = []
    for record in records:
        try:
            events.append(read_alert(record))
        except (EnvelopeError, ValueError) as exc:
            result.unreadable.append((record, str(exc)[:500]))
    result.events = len(events)
    if not events:
        return result
    compiled = filters.compile(await db.subscriptions(conn, active_only=True))
    if not compiled:
        return result
    window_days = sharing_window_days or ApiSettings().sharing_window_days
    since = now - timedelta(days=window_days)
    contributors = await db.contributing_agencies(conn, since)
    for attributes, alert in events:
        rows = []
        for sub_filter in compiled:
            subscription = sub_filter.subscription
            seen = visibility(alert, subscription.agency_id, contributors)
            if not seen.visible or not sub_filter.matches(alert):
                continue
            shown = alert.model_copy(update={"evidence": {}}) if seen.redact_evidence else alert
            body, content_type = await render_for(conn, subscription, shown, attributes, settings)
            rows.append(
                db.NewDelivery(
                    subscription_id=subscription.subscription_id,
                    alert_id=alert.alert_id,
                    event_type=f"alert.{alert.change.value}",
                    webhook_id=attributes.id,
                    event_time=attributes.time,
                    payload=shown.model_dump(mode="json"),
                    body=body,
                    content_type=content_type,
                    first_attempt_at=first_attempt_at,
                )
            )
        result.matched += len(rows)
        # Row by row in event order: a later event's CAP references see the earlier rows.
        result.created += await db.insert_deliveries(conn, rows)
    return result
