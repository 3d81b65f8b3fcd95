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
    sink_poll_timeout_s: float = Field(default=0.5, gt=0)
    sink_retry_initial_s: float = Field(
        default=0.2, gt=0, description="First wait after a lost database connection."
    )
    sink_retry_max_s: float = Field(default=10.0, gt=0, description="Longest wait between tries.")
    database_connect_timeout_s: int = Field(
        default=5, ge=1, description="Give up a connection attempt after this long, seconds."
    )
