"""Health of a running component, as /healthz (liveness) and /readyz (readiness) report it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, JsonValue


class ComponentHealth(BaseModel):
    name: str
    status: Literal["ok", "degraded", "down"]
    detail: str = ""
    facts: dict[str, JsonValue] = Field(default_factory=dict)


class HealthReport(BaseModel):
    status: Literal["ok", "degraded", "down"]
    version: str
    components: list[ComponentHealth]
