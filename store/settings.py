"""Settings of the store and its sink (environment prefix ``LOOKOUT_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:5432/lookout",
        description="PostgreSQL (TimescaleDB when available) connection URL.",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Drop positions and alerts older than this many days; None keeps all.",
    )
    partitions_ahead_days: int = Field(
        default=3,
        ge=0,
        description="Daily partitions created ahead of today (native partitioning only).",
    )
    compress_after_days: int = Field(
        default=7, ge=1, description="TimescaleDB only: compress position chunks this old."
    )
    sink_group: str = Field(default="lookout-store-sink", description="Consumer group.")
    sink_batch_max_records: int = Field(
        default=5000, ge=1, description="Most records written in one database transaction."
    )
    sink_max_clock_ahead_s: float = Field(
        default=300.0,
        ge=0,
        description="Positions dated more than this many seconds ahead of the database's "
        "clock are stored in the track but never become a vessel's latest position.",
    )
    sink_max_future_s: float = Field(
        default=86_400.0,
        gt=0,
        description="Positions and alerts dated more than this many seconds ahead of the "
        "database's clock go to the dead-letter topic: a receiver's broken clock must not "
        "create partitions for far days (a day: issue 12).",
    )
    sink_max_new_partitions: int = Field(
        default=31,
        ge=1,
        description="Most daily partitions one batch may create; events of further days go "
        "to the dead-letter topic (a month of days: issue 12).",
    )
    partition_lock_timeout_ms: int = Field(
        default=5000,
        ge=1,
        description="lock_timeout of partition DDL, ms: a partition that cannot lock its "
        "table this long is retried rather than stalling every writer queued behind it.",
    )
    sink_dead_letter_max_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="A batch in which more than this share of the records would go to the "
        "dead-letter topic stops the sink instead (reported down, nothing committed): a "
        "broken constraint or an unknown producer version must not dead-letter the world.",
    )
    sink_dead_letter_share_min_records: int = Field(
        default=20,
        ge=1,
        description="The share rule applies to batches of at least this many records (one "
        "bad record in a quiet second is not most of the stream).",
    )
    sink_poll_timeout_s: float = Field(
        default=0.5,
        gt=0,
        description="Longest wait for records in one poll of the topics, seconds (while a "
        "batch is being written, the next is read only if the bus already holds it).",
    )
    sink_retry_initial_s: float = Field(
        default=0.2, gt=0, description="First wait after a failed batch write."
    )
    sink_retry_max_s: float = Field(default=10.0, gt=0, description="Longest wait between tries.")
    sink_liveness_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="The sink is reported not alive (/healthz 503, restart it) when its loop "
        "has not turned for this long; a database outage alone never makes it so.",
    )
    database_connect_timeout_s: int = Field(
        default=5, ge=1, description="Give up a connection attempt after this long, seconds."
    )
