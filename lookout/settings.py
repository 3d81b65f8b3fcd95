"""Settings of the all-in-one runner (environment prefix ``LOOKOUT_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class UpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".lookout"),
        description="Where the embedded default keeps its PostgreSQL data (survives restarts).",
    )
    database_url: str | None = Field(
        default=None, description="Use this PostgreSQL instead of starting an embedded one."
    )
    demo: bool = Field(default=True, description="Run the demo feed with `lookout up`.")
    nmea_host: str = Field(
        default="127.0.0.1",
        description="Address `lookout up` takes NMEA on (UDP and TCP). 0.0.0.0 to take a "
        "receiver on the network (AIS-catcher, rtl-ais, a dAISy box, OpenCPN).",
    )
    nmea_udp_port: int = Field(
        default=10110,
        ge=0,
        le=65535,
        description="UDP port `lookout up` takes NMEA datagrams on (10110, IANA's nmea-0183, "
        "is what receivers and OpenCPN send to); 0 turns it off.",
    )
    nmea_tcp_port: int = Field(
        default=10110,
        ge=0,
        le=65535,
        description="TCP port `lookout up` takes NMEA connections on (senders connect and "
        "write lines; 10110 is IANA's nmea-0183 for TCP too); 0 turns it off.",
    )
    log_level: str = Field(default="INFO", description="Log level; JSON lines unless a tty.")


class StopSettings(BaseSettings):
    """How every Lookout process stops (``lookout up`` and each service alone)."""

    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    stop_grace_s: float = Field(
        default=10.0,
        gt=0,
        description="On SIGINT or SIGTERM, a service still stopping after this long is "
        "cancelled again, s (its clean-up may wait on a broker that is gone: aiokafka "
        "retries a commit forever). Within Kubernetes' 30 s before SIGKILL.",
    )
