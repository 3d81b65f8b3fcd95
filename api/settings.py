"""API settings (environment prefix ``LOOKOUT_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    api_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(default=8000, ge=0, le=65535, description="Port of the API.")


class OpsSettings(BaseSettings):
    """Where a service without an HTTP API of its own serves /healthz and /metrics."""

    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    ops_host: str = Field(default="127.0.0.1", description="Ops endpoint address.")
    ops_port: int = Field(
        default=9464, ge=0, le=65535, description="Ops endpoint port; 0 turns it off."
    )
