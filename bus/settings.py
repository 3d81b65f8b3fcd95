"""Bus settings (environment prefix ``LOOKOUT_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
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
    kafka_metadata_refresh_ms: int = Field(
        default=30_000,
        ge=100,
        description="Metadata refresh period, ms: readers without a group (tables, live "
        "tails) pick up partitions added to their topics within it.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How clients talk to the brokers (TLS and/or SASL)."
    )
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="TLS: CA bundle that signed the brokers' certificates (default: the "
        "system's CAs).",
    )
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="TLS: client certificate (PEM) for mutual TLS."
    )
    kafka_ssl_keyfile: Path | None = Field(
        default=None, description="TLS: private key (PEM) of the client certificate."
    )
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None, description="TLS: password of the private key, if it is encrypted."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512",
        description="SASL mechanism when the protocol is SASL_*; PLAIN sends the password "
        "as is, so use it only over SASL_SSL.",
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password.")
    partitions: int = Field(default=3, ge=1, description="Partitions of topics Lookout creates.")
    replication_factor: int = Field(
        default=3,
        ge=1,
        description="Replication factor of topics Lookout creates (3: Kafka's advice for "
        "production; one-broker set-ups such as docker-compose and tests set 1).",
    )
    min_insync_replicas: int = Field(
        default=2,
        ge=1,
        description="min.insync.replicas of topics Lookout creates: with acks=all a write "
        "is durable on this many replicas (2 of 3 survives one broker loss; 1 on one broker).",
    )
    stall_after_s: float = Field(
        default=60.0, gt=0, description="A consumer with lag and no records this long is unhealthy."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError(
                f"LOOKOUT_MIN_INSYNC_REPLICAS ({self.min_insync_replicas}) exceeds "
                f"LOOKOUT_REPLICATION_FACTOR ({self.replication_factor}): no write could succeed"
            )
        if self.kafka_security_protocol.startswith("SASL_") and (
            not self.kafka_sasl_username or self.kafka_sasl_password is None
        ):
            raise ValueError(
                f"LOOKOUT_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "LOOKOUT_KAFKA_SASL_USERNAME and LOOKOUT_KAFKA_SASL_PASSWORD"
            )
        if self.kafka_ssl_keyfile is not None and self.kafka_ssl_certfile is None:
            raise ValueError("LOOKOUT_KAFKA_SSL_KEYFILE needs LOOKOUT_KAFKA_SSL_CERTFILE")
        return self
