"""UDP listener: receivers (AIS-catcher, rtl-ais, shore stations) commonly forward NMEA
in datagrams, one or a few whole sentences each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import structlog
from prometheus_client import Counter

from ingest.sources.base import LineBatch

log = structlog.get_logger(__name__)

UDP_OVERFLOW = Counter(
    "lookout_ingest_udp_overflow_total",
    "Datagrams refused because decoding fell behind (the queue was full)",
    ["source"],
)


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[LineBatch], name: str) -> None:
        self.queue = queue
        self.name = name

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            self.queue.put_nowait(LineBatch(data.split(b"\n"), datetime.now(UTC)))
        except asyncio.QueueFull:
            # UDP has no back pressure: count and log what we could not take.
            UDP_OVERFLOW.labels(self.name).inc()
            log.warning("udp queue full, datagram refused", source=self.name)


class UdpSource:
    def __init__(
        self,
        host: str = "0.0.0.0",
        port: int = 10110,
        *,
        max_queued: int = 100_000,
        name: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._name = name or f"udp://{host}:{port}"
        self._queue: asyncio.Queue[LineBatch] = asyncio.Queue(max_queued)
        self._transport: asyncio.DatagramTransport | None = None

    @property
    def name(self) -> str:
        return self._name

    async def open(self) -> tuple[str, int]:
        """Bind the socket; returns the address (port 0 picks a free port)."""
        if self._transport is None:
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Receiver(self._queue, self._name), local_addr=(self.host, self.port)
            )
            host, port = self._transport.get_extra_info("sockname")[:2]
            self.port = port
            log.info("udp listening", source=self.name, address=f"{host}:{port}")
        return self.host, self.port

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def batches(self) -> AsyncIterator[LineBatch]:
        await self.open()
        try:
            while True:
                yield await self._queue.get()
        finally:
            self.close()
