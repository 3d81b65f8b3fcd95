"""Live feeds: the TCP client rides out a feed that drops mid-sentence; UDP datagrams decode."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from bus.memory import MemoryBus
from ingest.pipeline import run_ingest
from ingest.settings import IngestSettings
from ingest.sources.tcp import TcpSource
from ingest.sources.udp import UdpSource
from schemas.ais import PositionReport, RejectReason, RejectRecord
from schemas.topics import Topic
from tests.ingest.support import PYAIS_SAMPLE, decode_all, typed, wait_for

FAST = IngestSettings(batch_size=100, flush_interval_s=0.02)
# Thirty single-sentence class A reports from a live capture.
SENTENCES = [
    line for line in PYAIS_SAMPLE.read_bytes().splitlines() if line.startswith(b"!AIVDM,1,1,,A,1")
][:30]


class Collected:
    """Everything published on the ais topics of a memory bus, read by a group of our own."""

    def __init__(self) -> None:
        self.positions: list[PositionReport] = []
        self.rejects: list[RejectRecord] = []


@pytest.fixture
async def collected(memory_bus: MemoryBus, unique: str) -> AsyncIterator[Collected]:
    found = Collected()
    sub = memory_bus.subscribe([Topic.AIS_POSITIONS, Topic.AIS_REJECTS], group=f"t.{unique}")

    async def read() -> None:
        async with sub:
            async for batch in sub.batches(timeout_s=0.05):
                for record in batch:
                    if record.topic == Topic.AIS_POSITIONS:
                        found.positions.append(record.decode(PositionReport))
                    else:
                        found.rejects.append(record.decode(RejectRecord))

    reader = asyncio.create_task(read())
    yield found
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)


class DroppingFeed:
    """A feed server whose first connection sends a sentence in two writes, then dies in the
    middle of another sentence; the second connection sends that one whole, and the rest."""

    def __init__(self, sentences: list[bytes], delivered: Collected) -> None:
        self.sentences = [s + b"\r\n" for s in sentences]
        self.delivered = delivered
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self.serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def serve(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        s = self.sentences
        if self.connections == 1:
            writer.write(b"".join(s[:5]) + s[5][:20])
            await writer.drain()
            # The client has read up to the split: what follows arrives in another read.
            await wait_for(lambda: len(self.delivered.positions) >= 5, what="first 5 positions")
            writer.write(s[5][20:] + b"".join(s[6:15]) + s[15][:25])
            await writer.drain()
            writer.close()  # dropped mid-sentence
            return
        writer.write(b"".join(s[15:]))
        await writer.drain()
        await asyncio.Event().wait()  # stays up until the test ends

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_tcp_source_rides_out_a_feed_that_drops_mid_sentence(
    memory_bus: MemoryBus, collected: Collected
) -> None:
    feed = DroppingFeed(SENTENCES, collected)
    port = await feed.start()
    source = TcpSource("127.0.0.1", port, reconnect_initial_s=0.01, reconnect_max_s=0.1)
    ingest = asyncio.create_task(run_ingest(source, memory_bus, FAST))
    try:
        await wait_for(lambda: len(collected.positions) >= len(SENTENCES), what="all positions")
        await wait_for(lambda: len(collected.rejects) >= 1, what="the cut-off sentence")
    finally:
        ingest.cancel()
        await asyncio.gather(ingest, return_exceptions=True)
        await feed.stop()

    expected, _ = decode_all(SENTENCES)
    key = lambda e: (e.mmsi, e.lat, e.lon, e.speed_kn)  # noqa: E731
    assert sorted(map(key, collected.positions)) == sorted(map(key, typed(expected)))
    assert source.connections == 2
    [cut] = collected.rejects
    assert cut.raw == [SENTENCES[15][:25].decode()]
    assert cut.reason in (RejectReason.MALFORMED, RejectReason.CHECKSUM)


async def test_tcp_source_keeps_trying_while_nothing_listens(memory_bus: MemoryBus) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free, and closed again: connects are refused
    source = TcpSource("127.0.0.1", port, reconnect_initial_s=0.01, reconnect_max_s=0.02)
    attempts = 0
    original = source.backoff.next_delay_s

    def counting() -> float:
        nonlocal attempts
        attempts += 1
        return original()

    source.backoff.next_delay_s = counting  # type: ignore[method-assign]
    ingest = asyncio.create_task(run_ingest(source, memory_bus, FAST))
    try:
        await wait_for(lambda: attempts >= 5, what="five refused connects")
        assert not ingest.done()
    finally:
        ingest.cancel()
        await asyncio.gather(ingest, return_exceptions=True)


async def test_udp_datagrams_are_decoded(memory_bus: MemoryBus, collected: Collected) -> None:
    source = UdpSource("127.0.0.1", 0)
    host, port = await source.open()
    ingest = asyncio.create_task(run_ingest(source, memory_bus, FAST))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for first in range(0, 10, 2):  # two sentences per datagram, as receivers send
                sender.sendto(b"\r\n".join(SENTENCES[first : first + 2]) + b"\r\n", (host, port))
            sender.sendto(b"!AIVDM,1,1,,A,garbage,0*00\r\n", (host, port))
        await wait_for(lambda: len(collected.positions) >= 10, what="ten positions")
        await wait_for(lambda: len(collected.rejects) >= 1, what="one reject")
    finally:
        ingest.cancel()
        await asyncio.gather(ingest, return_exceptions=True)
    assert {p.mmsi for p in collected.positions} == {
        e.mmsi for e in typed(decode_all(SENTENCES[:10])[0])
    }
    assert collected.rejects[0].reason is RejectReason.CHECKSUM


async def test_tcp_source_does_not_buffer_an_endless_line() -> None:
    # A feed that sends 300 kB without a newline, then the rest of that line and a sentence.
    reader = asyncio.StreamReader(limit=2**20)
    reader.feed_data(b"X" * 300_000 + b"END OF THE LONG LINE\n" + SENTENCES[0] + b"\r\n")
    reader.feed_eof()
    source = TcpSource("127.0.0.1", 1, max_line_bytes=1024)
    lines = [line async for batch in source._read(reader) for line in batch.lines]
    assert lines == [b"X" * 1025, SENTENCES[0] + b"\r"]  # the first bytes, then what follows
    events, _ = decode_all(lines)
    [reject, position] = events
    assert isinstance(reject, RejectRecord) and reject.reason is RejectReason.MALFORMED
    assert reject.raw == ["X" * 1024] and "first 1024 bytes" in reject.detail
    assert isinstance(position, PositionReport)
