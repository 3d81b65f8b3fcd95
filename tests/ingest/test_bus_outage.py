"""A bus outage in the middle of a live feed: ingest holds what it decoded, stops reading its
feed, reports itself down with the reason, and once the broker is back publishes every
event, none lost, none doubled in content (a batch published again keeps its ids).

The broker is a real Tansu behind a loopback proxy that the test cuts and restores (Tansu
tells its clients to connect through the proxy), so the Kafka client sees a real network
partition."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyais.encode import encode_dict

from bus import BusSettings
from bus.kafka import KafkaBus
from ingest.pipeline import run_ingest
from ingest.progress import IngestProgress
from ingest.settings import IngestSettings
from ingest.sources.base import LineBatch
from ingest.sources.udp import UdpSource, kernel_drops
from schemas.health import ComponentHealth
from schemas.topics import Topic
from tests.ingest.support import wait_for
from tests.ingest.test_pipeline_delivery import FlakyBus
from tests.support.tansu import TansuBroker, free_port
from tests.support.tcp_proxy import TcpProxy

BATCH = 10
AIS_TOPICS = [Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.AIS_REJECTS]


@pytest.fixture
def proxied_broker(tmp_path: Path) -> Iterator[TcpProxy]:
    tansu_port = free_port()
    proxy = TcpProxy("127.0.0.1", tansu_port)
    broker = TansuBroker(tmp_path / "tansu.log", port=tansu_port, advertised_port=proxy.port)
    broker.start()
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()
        broker.stop()


class QueueFeed:
    """A live feed the test writes to: each item one received batch, None the end."""

    name = "tcp://feed.test:5631"

    def __init__(self) -> None:
        self.queue: asyncio.Queue[list[bytes] | None] = asyncio.Queue()

    async def batches(self) -> AsyncIterator[LineBatch]:
        while (lines := await self.queue.get()) is not None:
            yield LineBatch(lines, datetime.now(UTC))


def positions(first: int, count: int) -> list[bytes]:
    """``count`` distinct, valid type 1 sentences (one vessel each)."""
    return [
        encode_dict(
            {"type": 1, "mmsi": 503_000_000 + i, "lat": -8.5, "lon": 115.2, "speed": 9.5},
            talker_id="AI",
            sentence_type="VDM",
        )[0].encode()
        for i in range(first, first + count)
    ]


def kafka(proxy: TcpProxy) -> KafkaBus:
    settings = BusSettings(
        bus="kafka",
        kafka_bootstrap=proxy.address,
        kafka_idempotence=False,  # Tansu has no InitProducerId
        kafka_linger_ms=2,
        kafka_request_timeout_ms=1500,  # a refused publish fails within the test's patience
        kafka_session_timeout_ms=6000,
        kafka_heartbeat_interval_ms=500,
    )
    return KafkaBus(settings, source="/tests/ingest")


async def health_becomes(progress: IngestProgress, status: str) -> ComponentHealth:
    deadline = asyncio.get_running_loop().time() + 30
    while (health := await progress.health()).status != status:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"ingest never reported {status!r}; last: {health}")
        await asyncio.sleep(0.05)
    return health


async def test_a_bus_outage_holds_full_batches_pauses_the_feed_and_loses_nothing(
    proxied_broker: TcpProxy,
) -> None:
    proxy = proxied_broker
    settings = IngestSettings(
        batch_size=BATCH,
        flush_interval_s=3600,  # the timer never flushes: only the main loop's full batches
        publish_retry_initial_s=0.05,
        publish_retry_max_s=0.3,
    )
    feed = QueueFeed()
    progress = IngestProgress(feed.name)
    async with kafka(proxy) as bus:
        await bus.ensure_topics(AIS_TOPICS)
        run = asyncio.create_task(run_ingest(feed, bus, settings, progress))
        feed.queue.put_nowait(positions(0, BATCH))
        await wait_for(
            lambda: progress.publisher is not None and progress.publisher.published == BATCH,
            what="the first batch on the bus",
        )
        publisher = progress.publisher
        assert publisher is not None

        proxy.cut()
        for first in (BATCH, 2 * BATCH, 3 * BATCH):
            feed.queue.put_nowait(positions(first, BATCH))
        down = await health_becomes(progress, "down")
        assert "refused" in down.detail and "holding" in down.detail
        assert "(PublishError)" in down.detail and "NodeNotReady" not in down.detail  # no raw text
        await wait_for(lambda: publisher.refused >= 3, what="several refused publishes")
        assert not run.done()  # the outage did not end the run
        assert feed.queue.qsize() == 2  # the feed is not read while a full batch is held
        assert publisher.held == BATCH

        proxy.restore()
        feed.queue.put_nowait(None)
        stats = await asyncio.wait_for(run, 60)
        assert stats.lines_decoded == 4 * BATCH
        assert publisher.published == 4 * BATCH and publisher.held == 0
        assert (await progress.health()).status == "ok"

    # Everything on the topic: each event under exactly one id, each id one content.
    by_id: dict[bytes, set[bytes]] = defaultdict(set)
    async with kafka(proxy) as reader_bus, reader_bus.table(Topic.AIS_POSITIONS) as reader:
        deadline = asyncio.get_running_loop().time() + 30
        while len(by_id) < 4 * BATCH:
            assert asyncio.get_running_loop().time() < deadline, f"only {len(by_id)} read"
            for record in await reader.getmany(max_records=1000, timeout_s=0.5):
                headers = dict(record.headers)
                by_id[headers["ce_id"]].add(record.value or b"")
    assert len(by_id) == 4 * BATCH
    assert all(len(values) == 1 for values in by_id.values())
    contents = [next(iter(values)) for values in by_id.values()]
    assert len(set(contents)) == 4 * BATCH


async def test_udp_cannot_push_back_so_what_it_refuses_during_an_outage_is_counted() -> None:
    source = UdpSource("127.0.0.1", 0, max_queued=2, name="udp://test")
    _, port = await source.open()
    bus = FlakyBus(failures=10**9)  # the bus refuses until the test mends it
    settings = IngestSettings(batch_size=1, flush_interval_s=3600, publish_retry_max_s=0.05)
    progress = IngestProgress(source.name, source_facts=source.facts)
    run = asyncio.create_task(run_ingest(source, bus, settings, progress))
    lines = positions(0, 10)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.sendto(lines[0], ("127.0.0.1", port))
        await wait_for(lambda: bus.refused >= 1, what="the first datagram held")
        for line in lines[1:]:
            sender.sendto(line, ("127.0.0.1", port))
        # one held by the blocked main loop, two queued, the other seven refused
        await wait_for(lambda: source.refused == 7, what="the overflow counted")
    health = await progress.health()
    assert health.status == "down"
    assert health.facts["udp_datagrams_refused"] == 7
    assert health.facts["udp_kernel_drops"] == 0
    bus.failures = 0
    await wait_for(lambda: bus.published == 3, what="the held and queued datagrams published")
    run.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await run


def test_kernel_drops_on_a_udp_socket_are_read_from_the_kernel() -> None:
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listener,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender,
    ):
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's minimum
        listener.bind(("127.0.0.1", 0))
        assert kernel_drops(listener) == 0
        for _ in range(200):  # never read: the receive buffer overflows
            sender.sendto(b"x" * 500, listener.getsockname())
        drops = kernel_drops(listener)
        assert drops is not None and drops > 0
