"""Webhook settings (environment prefix ``LOOKOUT_``): the dispatcher and the SSRF guard."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.webhooks.schedule import SVIX_SCHEDULE_S


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    webhook_allow_cidrs: str = Field(
        default="",
        description="Comma-separated CIDRs webhooks may reach although they are private, "
        "loopback or otherwise non-global (e.g. 10.20.0.0/16). Empty: public addresses only.",
    )
    webhook_timeout_s: float = Field(
        default=15.0,
        gt=0,
        description="A delivery that has no complete answer after this long is failed and "
        "retried (Svix and Standard Webhooks use 15 s).",
    )
    webhook_retry_schedule_s: list[float] = Field(
        default=list(SVIX_SCHEDULE_S),
        min_length=1,
        description="Delay before each attempt after an event, seconds, JSON list "
        "(Svix's: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).",
    )
    webhook_retry_after_max_s: float = Field(
        default=36_000.0,
        ge=0,
        description="A receiver's Retry-After is honoured up to this many seconds (the "
        "schedule's longest step), so no answer can park a delivery forever.",
    )
    webhook_disable_after_s: float = Field(
        default=5 * 86_400.0,
        gt=0,
        description="An endpoint failing without a single success for this long is "
        "disabled and admins are told (Svix: 5 days).",
    )
    webhook_concurrency_per_endpoint: int = Field(
        default=4,
        ge=1,
        description="Deliveries in flight to one endpoint at once, so a slow or dead one "
        "never takes the connections healthy ones need.",
    )
    webhook_claim_batch: int = Field(
        default=200, ge=1, description="Most due deliveries claimed from the database at once."
    )
    webhook_lease_s: float = Field(
        default=30.0,
        gt=0,
        description="A claimed delivery belongs to its dispatcher this long; one that died "
        "mid-delivery gives it back when the lease runs out. Must exceed the timeout.",
    )
    webhook_poll_s: float = Field(
        default=1.0,
        gt=0,
        description="How often the dispatcher looks for due retries when nothing woke it.",
    )
    webhook_response_excerpt_bytes: int = Field(
        default=512, ge=0, description="First bytes of each answer kept in the delivery log."
    )
    webhook_secret_overlap_s: float = Field(
        default=86_400.0,
        ge=0,
        description="After a secret rotation the old secret also signs for this long, so "
        "receivers switch without downtime.",
    )
    webhook_cap_sender: str = Field(
        default="lookout@fusion-centre.invalid",
        description="CAP <sender>: the fusion centre's identifier (unique, no spaces).",
    )
    webhook_cap_circle_km: float = Field(
        default=1.0,
        gt=0,
        description="Radius of the CAP <circle> around an alert's position when the alert "
        "has no area or uncertainty of its own, km.",
    )
    dispatch_topic: str = Field(
        default="fusion.alerts",
        description="Topic of alert events the dispatcher consumes (tests use their own).",
    )
    dispatch_group: str = Field(
        default="lookout-webhook-dispatch", description="Consumer group of the dispatcher."
    )
    dispatch_batch_max_records: int = Field(
        default=500, ge=1, description="Most alert events turned into deliveries per batch."
    )
    dispatch_poll_timeout_s: float = Field(default=0.5, gt=0)
    dispatch_retry_initial_s: float = Field(
        default=0.2, gt=0, description="First wait after a lost database or broker."
    )
    dispatch_retry_max_s: float = Field(
        default=10.0, gt=0, description="Longest wait between tries after a lost database."
    )
