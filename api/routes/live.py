"""The live alert stream (server-sent events)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import Briefly
from api.live import LiveAlerts, event_of

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "First `event: ready` once the stream follows every change; then "
            "`event: alert`, `id: <change number>`, `data: <Alert JSON>`.",
        }
    },
)
async def stream(
    request: Request,
    caller: Briefly,
    last_event_id: Annotated[
        int | None, Header(ge=0, description="Resume after this event id (sent by browsers).")
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, description="Resume after this id (first connection).")
    ] = None,
) -> EventSourceResponse:
    """Every change of an alert the caller may see, as it happens: new alerts from fusion
    and people's decisions from any watch floor. Ids order the changes; a reconnecting
    browser sends Last-Event-ID and misses nothing. Browsers authenticate with the page's
    session cookie (EventSource cannot send headers)."""
    live: LiveAlerts | None = getattr(request.app.state, "live", None)
    if live is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "live alerts are not running")
    resume = last_event_id if last_event_id is not None else after

    async def events() -> AsyncIterator[ServerSentEvent | dict[str, Any]]:
        async with live.connect(caller.agency, resume) as client:
            # Named, so a page can wait for it: from here on nothing committed is missed,
            # and a list read after it leaves no gap before the stream's first change.
            yield ServerSentEvent(comment="connected", retry=2000)
            yield ServerSentEvent(event="ready", data="{}")
            while True:
                item = await client.queue.get()
                if item is None:  # fell too far behind: the browser resumes from the database
                    return
                yield event_of(item)

    return EventSourceResponse(events(), ping=15)
