"""Bus settings (environment prefix ``LOOKOUT_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BusSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    bus: Literal["memory", "kafka"] = Field(
        default="memory", description="memory: one process (embedded default); kafka: services."
    )
    kafka_bootstrap: str = Field(
        default="127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,host:port]."
    )
    kafka_client_id: str = Field(default="lookout", description="Kafka client id.")
    kafka_idempotence: bool = Field(
        default=True,
        description="Idempotent producer. On for real Kafka; Tansu (tests) lacks it.",
    )
    kafka_linger_ms: int = Field(default=5, ge=0, description="Producer batching delay, ms.")
    kafka_max_batch_bytes: int = Field(
        default=1_048_576, ge=16_384, description="Producer batch size per partition, bytes."
    )
    kafka_request_timeout_ms: int = Field(
        default=40_000,
        ge=1000,
        description="How long the Kafka client retries a request (and a produced batch) "
        "before it fails; aiokafka's default. A publish fails after this, and its caller "
        "holds the batch and retries.",
    )
    kafka_compression: Literal["none", "gzip", "lz4", "zstd", "snappy"] = Field(
        default="none", description="Producer compression codec."
    )
    kafka_session_timeout_ms: int = Field(
        default=10_000, ge=1000, description="Consumer-group session timeout, ms."
    )
    kafka_heartbeat_interval_ms: int = Field(
        default=3_000, ge=100, description="Consumer heartbeat interval, ms."
    )
    kafka_max_poll_interval_ms: int = Field(
        default=300_000, ge=1000, description="Longest gap between polls before eviction, ms."
    )
    partitions: int = Field(default=3, ge=1, description="Partitions of topics Lookout creates.")
    replication_factor: int = Field(
        default=1, ge=1, description="Replication factor of topics Lookout creates."
    )
    stall_after_s: float = Field(
        default=60.0, gt=0, description="A consumer with lag and no records this long is unhealthy."
    )
