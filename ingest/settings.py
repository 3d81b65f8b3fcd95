"""Settings of the ingest service (environment prefix ``LOOKOUT_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKOUT_INGEST_", extra="ignore")

    batch_size: int = Field(
        default=1000, ge=1, description="Events per publish_many (one await per batch)."
    )
    flush_interval_s: float = Field(
        default=0.2, gt=0, description="A partial batch waits at most this long on a live feed."
    )
    fragment_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="A multi-sentence message still missing parts this long after its first "
        "fragment is rejected as 'incomplete' (fragments normally arrive within a second).",
    )
    max_clock_ahead_s: float = Field(
        default=300.0,
        ge=0,
        description="A report whose recorded time (tag block c: or timestamp column) is more "
        "than this ahead of its reception time is rejected as 'invalid_value' (receiver "
        "clocks drift a little; a far-future time would freeze a vessel's latest position). "
        "Past times, as in a replayed capture, are fine.",
    )
    max_line_bytes: int = Field(
        default=1024,
        ge=82,
        description="Longest line accepted (NMEA allows 82 characters; tag blocks and relay "
        "suffixes add some). Longer lines are rejected as 'malformed', only their first "
        "bytes kept; a TCP feed discards the rest up to the next newline.",
    )
    publish_retry_initial_s: float = Field(
        default=0.2,
        gt=0,
        description="First wait before publishing a batch the bus refused again. The batch is "
        "held and the feed is not read meanwhile (TCP and files are paused; UDP counts "
        "what it cannot queue).",
    )
    publish_retry_max_s: float = Field(
        default=5.0, gt=0, description="Cap of the exponential backoff while the bus refuses."
    )
    publish_stall_s: float = Field(
        default=10.0,
        gt=0,
        description="A publish the bus has not acknowledged for this long makes ingest report "
        "itself degraded (the Kafka client retries inside its request timeout meanwhile).",
    )
    liveness_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Ingest is reported not alive (/healthz 503: restart it) when its read "
        "loop has not moved for this long while not waiting for the feed (a decode or a "
        "publish that does not return), or its flush timer has not run. Longer than the "
        "Kafka request timeout (30 s), so a slow broker is retried, not restarted; a quiet "
        "feed or a bus outage alone never makes it so.",
    )
    identity_cache_size: int = Field(
        default=100_000,
        ge=1,
        description="MMSIs whose latest type 24 parts A and B are remembered, so each static "
        "report published carries the whole identity (ais.static is compacted by MMSI). "
        "A regional feed hears some tens of thousands of vessels.",
    )
    reconnect_initial_s: float = Field(
        default=0.5, gt=0, description="First wait before reconnecting to a TCP feed."
    )
    reconnect_max_s: float = Field(
        default=30.0, gt=0, description="Cap of the exponential reconnect backoff."
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, description="TCP connect timeout.")
    idle_timeout_s: float = Field(
        default=120.0,
        gt=0,
        description="A TCP feed silent this long is treated as dropped and reconnected.",
    )
    demo_lines_per_s: float = Field(
        default=20.0, gt=0, description="Pace of the demo feed of `lookout up`."
    )
