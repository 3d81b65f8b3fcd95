"""A small server-sent-events reader for the tests (what a browser's EventSource does)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Event:
    id: str | None
    event: str
    data: Any


class EventStream:
    def __init__(self) -> None:
        self.events: asyncio.Queue[Event] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def next_alert(self, timeout_s: float = 15.0) -> Event:
        while True:
            event = await asyncio.wait_for(self.events.get(), timeout_s)
            if event.event == "alert":
                return event

    async def until(
        self, alert_id: str, status: str | None = None, timeout_s: float = 15.0
    ) -> Event:
        """The first alert event for ``alert_id`` (in ``status``); what came before it is
        returned by ``seen``."""

        def wanted(event: Event) -> bool:
            return bool(
                event.data["alert_id"] == alert_id and status in (None, event.data["status"])
            )

        for event in self.seen:  # changes of several alerts arrive in the order written
            if wanted(event):
                return event
        while True:
            event = await self.next_alert(timeout_s)
            self.seen.append(event)
            if wanted(event):
                return event

    seen: list[Event]


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> AsyncIterator[EventStream]:
    stream = EventStream()
    stream.seen = []
    connected = asyncio.Event()

    async def read() -> None:
        async with client.stream(
            "GET", "/v1/alerts/stream", headers=headers or {}, timeout=None
        ) as response:
            assert response.status_code == 200, await response.aread()
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line.startswith(":"):
                    connected.set()
                    continue
                if not line:
                    if "data" in fields:
                        await stream.events.put(
                            Event(
                                fields.get("id"),
                                fields.get("event", "message"),
                                json.loads(fields["data"]),
                            )
                        )
                    fields = {}
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")

    stream.task = asyncio.create_task(read())
    done, _ = await asyncio.wait(
        {stream.task, asyncio.create_task(connected.wait())},
        timeout=15,
        return_when=asyncio.FIRST_COMPLETED,
    )
    if stream.task in done:
        stream.task.result()
    try:
        yield stream
    finally:
        stream.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stream.task
