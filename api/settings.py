"""API settings (environment prefix ``LOOKOUT_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

API_DATABASE_ROLE = "lookout_api"
"""The role migration 008 creates: not superuser, not owner, no BYPASSRLS."""


class ApiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    api_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(default=8000, ge=0, le=65535, description="Port of the API.")
    api_database_url: str | None = Field(
        default=None,
        description="How the API connects: as the lookout_api role, so row-level security "
        "binds it. Default: LOOKOUT_DATABASE_URL with its user replaced by lookout_api.",
    )
    api_db_pool_size: int = Field(
        default=10, ge=1, le=200, description="Most database connections the API holds."
    )
    sharing_window_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="An agency sees others' reports (and the alerts they caused) while it "
        "has filed a report itself within this many days (the mutual-sharing rule).",
    )
    api_max_window_days: float = Field(
        default=31.0,
        gt=0,
        description="Longest time window one query may ask for (track, history, area).",
    )
    api_max_rows: int = Field(
        default=10_000, ge=1, description="Most rows one page of any list may hold."
    )
    geofence_max_vertices: int = Field(
        default=10_000,
        ge=4,
        description="Most vertices of one zone (fusion tests every position against every "
        "zone's outline; a coastline traced to the metre belongs in a simplified copy).",
    )
    geofence_max_span_deg: float = Field(
        default=60.0,
        gt=0,
        le=360,
        description="Widest a zone may be, degrees of longitude or latitude (Indonesia's "
        "EEZ spans about 46 degrees of longitude).",
    )
    api_cookie_secure: bool = Field(
        default=False,
        description="Mark the page's session cookie Secure (set when served over HTTPS).",
    )
    sse_queue_size: int = Field(
        default=256,
        ge=1,
        description="Events buffered per live-stream client; a client that falls this far "
        "behind is disconnected and resumes from the database with Last-Event-ID.",
    )
    nearest_assets_limit: int = Field(
        default=5, ge=1, le=100, description="How many assets an alert's nearest help lists."
    )
    nearest_assets_max_range_nm: float = Field(
        default=500.0,
        gt=0,
        description="Assets farther than this from an alert (great circle, nm) are not "
        "listed as nearest help (a patrol boat at 20 kn covers it in a day).",
    )
    sse_poll_s: float = Field(
        default=1.0,
        gt=0,
        description="The live stream reads the database at least this often, seconds, even "
        "when the bus says nothing (decisions made through another API instance).",
    )
    cop_cache_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="A common operating picture built for an agency's question is served to "
        "that agency's requests for the same question for this long, seconds (the "
        "whole region is 4 MB of GeoJSON; many watch floors ask every few seconds). 0: "
        "every request builds its own.",
    )
    sse_settle_s: float = Field(
        default=5.0,
        ge=0,
        description="The live stream re-reads alert changes this recent, seconds, so that a "
        "change committed after a higher-numbered one is still delivered: the longest a "
        "writer's transaction stays open (the sink's batch).",
    )


class OpsSettings(BaseSettings):
    """Where a service without an HTTP API of its own serves /healthz, /readyz and /metrics."""

    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", extra="ignore")

    ops_host: str = Field(default="127.0.0.1", description="Ops endpoint address.")
    ops_port: int = Field(
        default=9464, ge=0, le=65535, description="Ops endpoint port; 0 turns it off."
    )


def api_database_url(database_url: str, settings: ApiSettings) -> str:
    """The API's connection: its own URL when given, else the store's with the API role."""
    if settings.api_database_url:
        return settings.api_database_url
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    parts = conninfo_to_dict(database_url)
    parts["user"] = API_DATABASE_ROLE
    parts.pop("password", None)
    return make_conninfo("", **parts)
