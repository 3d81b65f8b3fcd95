"""Small pieces the routes share: bounded time windows, boxes, publishing to the bus."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ValidationError

from api.settings import ApiSettings
from bus.base import Bus, BusError, Outgoing
from store.models import BoundingBox

WHOLE_WORLD = BoundingBox(min_lon=-180, min_lat=-90, max_lon=180, max_lat=90)


def unprocessable(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, reason)


def settings_of(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.settings
    return settings


Settings = Annotated[ApiSettings, Depends(settings_of)]


def bus_of(request: Request) -> Bus:
    bus: Bus | None = request.app.state.bus
    if bus is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the API has no bus to publish to")
    return bus


BusDep = Annotated[Bus, Depends(bus_of)]


async def publish(bus: Bus, messages: list[Outgoing]) -> None:
    """Publish and wait until durable; a bus that cannot take it is a 503, never a 2xx."""
    try:
        await bus.publish_many(messages)
    except BusError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"could not publish: {exc}"
        ) from exc


def parse_bbox(text: str | None) -> BoundingBox | None:
    if text is None:
        return None
    try:
        return BoundingBox.parse(text)
    except (ValidationError, ValueError) as exc:
        reason = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        raise unprocessable(f"bbox {text!r}: {reason}") from None


BboxQuery = Annotated[
    str | None,
    Query(
        description="west,south,east,north in degrees (WGS 84)",
        examples=["94.0,-11.0,141.0,6.0"],
        pattern=r"^[^,]+,[^,]+,[^,]+,[^,]+$",
    ),
]


def window(
    start: datetime | None,
    end: datetime | None,
    settings: ApiSettings,
    *,
    default: timedelta = timedelta(hours=24),
) -> tuple[datetime, datetime]:
    """[start, end): end defaults to now, start to ``default`` before end; at most
    ``api_max_window_days`` long (a clear 422 beyond)."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.tzinfo is None:
            raise unprocessable(f"{name} must carry a timezone, e.g. 2026-03-01T00:00:00Z")
    end = (end or datetime.now(UTC)).astimezone(UTC)
    start = (start or end - default).astimezone(UTC)
    if end <= start:
        raise unprocessable(f"end {end.isoformat()} is not after start {start.isoformat()}")
    limit = timedelta(days=settings.api_max_window_days)
    if end - start > limit:
        raise unprocessable(
            f"the window is {(end - start).total_seconds() / 86400:.1f} days; at most "
            f"{settings.api_max_window_days:g} (LOOKOUT_API_MAX_WINDOW_DAYS): ask in parts"
        )
    return start, end


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema with its definitions inlined, for request bodies declared by
    hand (routes that accept JSON or CSV): no dangling ``$ref`` in the OpenAPI document."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved
