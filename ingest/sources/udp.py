"""UDP listener: receivers (AIS-catcher, rtl-ais, shore stations) commonly forward NMEA
in datagrams, one or a few whole sentences each.

UDP cannot push back on a sender. While ingest waits for the bus, datagrams queue up to
``max_queued``; beyond that they are refused and counted. The kernel drops datagrams too
when its receive buffer overflows before they are read: Linux counts those per socket
(the ``drops`` column of /proc/net/udp), and this source reports that count as well, so
every datagram lost on the way in is accounted for in metrics and health.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import structlog
from prometheus_client import Counter, Gauge

from ingest.sources.base import LineBatch

log = structlog.get_logger(__name__)

UDP_OVERFLOW = Counter(
    "lookout_ingest_udp_overflow_total",
    "Datagrams refused because decoding or the bus fell behind (the queue was full)",
    ["source"],
)
UDP_KERNEL_DROPS = Gauge(
    "lookout_ingest_udp_kernel_drops",
    "Datagrams the kernel dropped on the listening socket since it opened (receive buffer "
    "full; Linux /proc/net/udp drops)",
    ["source"],
)

_PROC_NET_UDP = (Path("/proc/net/udp"), Path("/proc/net/udp6"))


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


def kernel_drops(sock: _HasFileno) -> int | None:
    """Datagrams the kernel dropped on ``sock`` (Linux); None where that is not known."""
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
    except OSError:
        return None
    for table in _PROC_NET_UDP:
        try:
            rows = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            # sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
            if len(cols) >= 13 and cols[9] == inode:
                return int(cols[12])
    return None


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue[LineBatch], name: str) -> None:
        self.queue = queue
        self.name = name
        self.refused = 0
        self._refusing = False

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            self.queue.put_nowait(LineBatch(data.split(b"\n"), datetime.now(UTC)))
        except asyncio.QueueFull:
            # UDP has no back pressure: count what we could not take; log the first of a
            # run of refusals, not each one.
            if not self._refusing:
                self._refusing = True
                log.warning("udp queue full, refusing datagrams", source=self.name)
            self.refused += 1
            UDP_OVERFLOW.labels(self.name).inc()
        else:
            if self._refusing:
                self._refusing = False
                log.info("udp queue taking datagrams again", source=self.name, refused=self.refused)


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
        self._receiver: _Receiver | None = None
        self._socket: _HasFileno | None = None
        self._refused_before = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def refused(self) -> int:
        """Datagrams refused because the queue was full, since this source was made."""
        return self._refused_before + (self._receiver.refused if self._receiver else 0)

    def kernel_drops(self) -> int | None:
        """Datagrams the kernel dropped on the open socket (None if closed or unknown)."""
        return None if self._socket is None else kernel_drops(self._socket)

    def facts(self) -> dict[str, int]:
        """Losses on the way in, for health."""
        facts = {"udp_datagrams_refused": self.refused}
        drops = self.kernel_drops()
        if drops is not None:
            facts["udp_kernel_drops"] = drops
        return facts

    async def open(self) -> tuple[str, int]:
        """Bind the socket; returns the address (port 0 picks a free port)."""
        if self._transport is None:
            loop = asyncio.get_running_loop()
            receiver = _Receiver(self._queue, self._name)
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: receiver, local_addr=(self.host, self.port)
            )
            self._receiver = receiver
            self._socket = self._transport.get_extra_info("socket")
            UDP_KERNEL_DROPS.labels(self._name).set_function(lambda: self.kernel_drops() or 0)
            host, port = self._transport.get_extra_info("sockname")[:2]
            self.port = port
            log.info("udp listening", source=self.name, address=f"{host}:{port}")
        return self.host, self.port

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            self._socket = None
            if self._receiver is not None:
                self._refused_before += self._receiver.refused
                self._receiver = None

    async def batches(self) -> AsyncIterator[LineBatch]:
        await self.open()
        try:
            while True:
                yield await self._queue.get()
        finally:
            self.close()
