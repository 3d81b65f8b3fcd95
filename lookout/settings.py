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
    log_level: str = Field(default="INFO", description="Log level; JSON lines unless a tty.")
