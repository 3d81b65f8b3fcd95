"""Sending NMEA lines on to another ingest (a running ``lookout up``, any NMEA-over-IP
listener) over UDP or TCP, as a receiver would: ``lookout ingest file CAPTURE --to
udp://127.0.0.1:10110``.

TCP pushes back: a slow receiver slows the sender, and nothing is lost. UDP cannot: lines
go in datagrams of at most ``UDP_DATAGRAM_BYTES`` (one Ethernet frame, so none is
fragmented), and a receiver that falls behind drops some (Lookout's UDP listener counts
what it drops). Prefer TCP for large captures.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import urlsplit

from ingest.errors import SourceError

UDP_DATAGRAM_BYTES = 1400


class LineSink(Protocol):
    async def send(self, lines: Sequence[bytes]) -> None: ...

    async def close(self) -> None: ...


def parse_target(url: str) -> tuple[str, str, int]:
    """``udp://HOST:PORT`` or ``tcp://HOST:PORT`` -> (scheme, host, port)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("udp", "tcp") or not parts.hostname or port is None:
        raise SourceError(
            f"--to {url!r}: expected udp://HOST:PORT or tcp://HOST:PORT, "
            "e.g. udp://127.0.0.1:10110 for a running lookout up"
        )
    return parts.scheme, parts.hostname, port


def _framed(lines: Sequence[bytes]) -> list[bytes]:
    """Each line with NMEA's CR LF (whatever line end it was read with)."""
    return [line.rstrip(b"\r\n") + b"\r\n" for line in lines if line.strip()]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.refused = 0

    def error_received(self, exc: Exception) -> None:
        self.refused += 1  # ICMP port unreachable: nothing listens there (yet)


class UdpLineSink:
    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Udp) -> None:
        self.transport = transport
        self.protocol = protocol
        self.datagrams = 0

    async def send(self, lines: Sequence[bytes]) -> None:
        datagram = b""
        for line in _framed(lines):
            if datagram and len(datagram) + len(line) > UDP_DATAGRAM_BYTES:
                self._send(datagram)
                datagram = b""
                await asyncio.sleep(0)  # let the loop flush; a little kinder to receivers
            datagram += line
        if datagram:
            self._send(datagram)

    def _send(self, datagram: bytes) -> None:
        self.transport.sendto(datagram)
        self.datagrams += 1

    async def close(self) -> None:
        self.transport.close()


class TcpLineSink:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer

    async def send(self, lines: Sequence[bytes]) -> None:
        self.writer.write(b"".join(_framed(lines)))
        await self.writer.drain()  # the receiver's pace: TCP pushes back

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


async def open_line_sink(url: str) -> LineSink:
    """Connect to ``url``; raises ``SourceError`` with a reason a user can act on."""
    scheme, host, port = parse_target(url)
    try:
        if scheme == "tcp":
            async with asyncio.timeout(10):  # not wait_for: see pyproject
                _, writer = await asyncio.open_connection(host, port)
            return TcpLineSink(writer)
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(_Udp, remote_addr=(host, port))
        return UdpLineSink(transport, protocol)
    except (OSError, TimeoutError) as exc:
        reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or "timed out"
        raise SourceError(
            f"cannot reach {url}: {reason} (is lookout up running and listening there?)"
        ) from None
