"""TCP client to an AIS feed (AIS-catcher, AISHub, MSSIS relays serve NMEA over TCP).

It never gives up: a refused connect, a dropped connection or a silent feed leads to a
reconnect with capped exponential backoff. A line split across two reads is joined again;
a line cut off by a dropped connection is passed on as it is, so it ends in rejects
instead of vanishing. A line longer than ``max_line_bytes`` is not buffered: its first
bytes are passed on (the decoder rejects them as malformed) and the rest is discarded up
to the next newline.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import structlog

from ingest.metrics import RECONNECTS
from ingest.sources.base import LineBatch, LineSplitter

log = structlog.get_logger(__name__)

_READ_BYTES = 65_536


class Backoff:
    """Capped exponential backoff with jitter (so many clients do not reconnect in step)."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self.initial_s = initial_s
        self.max_s = max_s
        self._next_s = initial_s

    def next_delay_s(self) -> float:
        delay = self._next_s
        self._next_s = min(self._next_s * 2.0, self.max_s)
        return delay * random.uniform(0.8, 1.0)

    def reset(self) -> None:
        self._next_s = self.initial_s


class TcpSource:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        reconnect_initial_s: float = 0.5,
        reconnect_max_s: float = 30.0,
        connect_timeout_s: float = 10.0,
        idle_timeout_s: float = 120.0,
        max_line_bytes: int = 1024,
        name: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._name = name or f"tcp://{host}:{port}"
        self.backoff = Backoff(reconnect_initial_s, reconnect_max_s)
        self.connect_timeout_s = connect_timeout_s
        self.idle_timeout_s = idle_timeout_s
        self.max_line_bytes = max_line_bytes
        self.connections = 0

    @property
    def name(self) -> str:
        return self._name

    async def batches(self) -> AsyncIterator[LineBatch]:
        while True:
            try:
                async with asyncio.timeout(self.connect_timeout_s):  # not wait_for: pyproject
                    reader, writer = await asyncio.open_connection(self.host, self.port)
            except (OSError, TimeoutError) as exc:
                delay_s = self.backoff.next_delay_s()
                log.warning(
                    "feed connect failed",
                    source=self.name,
                    error=str(exc),
                    retry_in_s=round(delay_s, 2),
                )
                await asyncio.sleep(delay_s)
                continue
            self.connections += 1
            RECONNECTS.labels(self.name).inc()
            log.info("feed connected", source=self.name, connection=self.connections)
            try:
                async for batch in self._read(reader):
                    yield batch
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            delay_s = self.backoff.next_delay_s()
            log.warning("feed dropped", source=self.name, retry_in_s=round(delay_s, 2))
            await asyncio.sleep(delay_s)

    async def _read(self, reader: asyncio.StreamReader) -> AsyncIterator[LineBatch]:
        lines_of = LineSplitter(self.max_line_bytes)
        while True:
            try:
                async with asyncio.timeout(self.idle_timeout_s):  # not wait_for: pyproject
                    chunk = await reader.read(_READ_BYTES)
            except (OSError, TimeoutError) as exc:
                log.warning("feed read failed", source=self.name, error=str(exc) or "idle")
                chunk = b""
            if not chunk:
                tail = lines_of.end()
                if tail.strip():
                    yield LineBatch([tail], datetime.now(UTC))  # cut off: it will be rejected
                return
            self.backoff.reset()  # the feed is alive: the next drop starts small again
            lines = lines_of.feed(chunk)
            if lines:
                yield LineBatch(lines, datetime.now(UTC))
