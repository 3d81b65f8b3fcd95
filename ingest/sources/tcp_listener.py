"""TCP listener: receivers and tools that connect and push NMEA (AIS-catcher's TCP output,
``lookout ingest file --to tcp://…``), any number at once.

Each connection is read line by line (a line split across reads is joined again; an
over-long one is cut, as the TCP client does). Lines go through a small queue: when ingest
falls behind (or the bus is down) the queue fills, connections stop being read and TCP
itself holds the senders back. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import structlog

from ingest.sources.base import LineBatch, LineSplitter

log = structlog.get_logger(__name__)

_READ_BYTES = 65_536
_QUEUED_BATCHES = 64


class TcpListenSource:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 10110,
        *,
        max_line_bytes: int = 1024,
        name: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.max_line_bytes = max_line_bytes
        self._name = name or f"tcp-listen://{host}:{port}"
        self._queue: asyncio.Queue[LineBatch] = asyncio.Queue(_QUEUED_BATCHES)
        self._server: asyncio.Server | None = None
        self.connections = 0

    @property
    def name(self) -> str:
        return self._name

    async def open(self) -> tuple[str, int]:
        """Listen; returns the address (port 0 picks a free port)."""
        if self._server is None:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
            self.port = int(self._server.sockets[0].getsockname()[1])
            log.info("tcp listening for NMEA", source=self.name, address=f"{self.host}:{self.port}")
        return self.host, self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(2):  # not wait_for: see pyproject
                    await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        peer = writer.get_extra_info("peername")
        log.info("nmea sender connected", source=self.name, peer=str(peer))
        lines_of = LineSplitter(self.max_line_bytes)
        try:
            while chunk := await reader.read(_READ_BYTES):
                if lines := lines_of.feed(chunk):
                    await self._queue.put(LineBatch(lines, datetime.now(UTC)))
            if tail := lines_of.end():
                await self._queue.put(LineBatch([tail], datetime.now(UTC)))
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.warning("nmea sender dropped", source=self.name, peer=str(peer), error=str(exc))
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def batches(self) -> AsyncIterator[LineBatch]:
        await self.open()
        try:
            while True:
                yield await self._queue.get()
        finally:
            await self.close()
