"""Sentences per second from a capture file to the topics, next to baselines in the same run.

    taskset -c 1 .venv/bin/python bench/ingest/bench_ingest.py [--repeat 112] [--no-kafka]

Builds a capture of ~100k sentences by repeating a real capture from tests/corpora (whole
files, so multi-sentence groups stay intact), then times, in one run, the benchmark process
pinned to one core (the Tansu broker, started first, is not pinned):
  1. pyais bare: ``for msg in FileReaderStream(path): msg.decode()`` (errors counted)
  2. lookout decode only: our decoder (checksums, assembly, MMSI flags, validated events)
  -  memory bus publish only: the bus's own cost per event, for attribution
  3. lookout file -> memory bus: the ingest pipeline, publish_many in batches
  4. lookout file -> Kafka: the same onto a Tansu broker started here (acks=all)
  5. bare aiokafka: an ``AIOKafkaProducer`` (acks=all, the bus's linger and batch size)
     sending the very records of (4) -- same topics' partition counts, keys, values and
     headers -- to the same broker, ``send`` per record and the futures awaited per 1,000
  -  KafkaBus publish only: our bus sending those records already encoded (its share of 4)
Each path is timed in wall-clock seconds and in this process's CPU seconds
(``time.process_time``; on a shared machine the wall clock counts other processes' time,
CPU time does not, but it does not count the broker's either). Targets (issue 13):
(3) >= 0.6 x (1), stretch 0.8; (4) >= 0.8 x (5).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pyais  # noqa: E402
from aiokafka import AIOKafkaProducer  # noqa: E402

from bus import BusSettings  # noqa: E402
from bus.base import Outgoing, Record  # noqa: E402
from bus.kafka import KafkaBus  # noqa: E402
from bus.memory import MemoryBus  # noqa: E402
from ingest.decoder import AisDecoder, AisEvent  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from ingest.settings import IngestSettings  # noqa: E402
from ingest.sources.file import FileSource  # noqa: E402
from schemas.topics import Topic  # noqa: E402
from tests.support.tansu import TansuBroker  # noqa: E402

CORPORA = ROOT / "tests" / "corpora"
TOPICS = [Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.AIS_SAFETY, Topic.AIS_REJECTS]
BATCH = 1000  # events per publish, as IngestSettings.batch_size


class Timing:
    """Wall and CPU seconds of one path."""

    def __init__(self) -> None:
        self.wall_s = 0.0
        self.cpu_s = 0.0

    def __enter__(self) -> Timing:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = time.process_time() - self._cpu


def build_capture(path: Path, repeat: int) -> int:
    sample = (CORPORA / "pyais" / "nmea_data_sample.txt").read_bytes()
    if not sample.endswith(b"\n"):
        sample += b"\n"
    path.write_bytes(sample * repeat)
    return sample.count(b"\n") * repeat


def bench_pyais(path: Path) -> tuple[Timing, int, int]:
    decoded = errors = 0
    with Timing() as timing:
        for msg in pyais.FileReaderStream(str(path)):
            try:
                msg.decode()
                decoded += 1
            except Exception:  # unknown types, empty payloads: counted, as pyais's bench does
                errors += 1
    return timing, decoded, errors


def bench_decode_only(path: Path) -> Timing:
    lines = path.read_bytes().splitlines()
    decoder = AisDecoder("bench")
    out: list[AisEvent] = []
    now = datetime.now(UTC)
    with Timing() as timing:
        for first in range(0, len(lines), 4096):
            out.clear()
            decoder.decode_lines(lines[first : first + 4096], now, out)
    return timing


async def bench_publish_only(lines: list[bytes]) -> tuple[Timing, int]:
    """The publishing share: already-decoded events encoded a batch at a time (JSON and
    CloudEvents headers, ``WireEncoder``) and published to the memory bus."""
    from ingest.publisher import WireEncoder

    decoder = AisDecoder("bench")
    events: list[AisEvent] = []
    ids: list[str] = []
    decoder.decode_lines(lines, datetime.now(UTC), events, ids)
    bus = MemoryBus(source="/bench", max_records_per_partition=10**7)
    encoder = WireEncoder(bus.source)
    with Timing() as timing:
        for first in range(0, len(events), BATCH):
            batch = encoder.encode(events[first : first + BATCH], ids[first : first + BATCH])
            await bus.publish_many(batch)
    return timing, len(events)


async def bench_pipeline(path: Path, bus: MemoryBus | KafkaBus) -> tuple[Timing, int]:
    async with bus:
        await bus.ensure_topics(TOPICS)
        with Timing() as timing:
            stats = await run_ingest(FileSource(path), bus, IngestSettings())
    return timing, stats.lines_read


async def published_records(path: Path) -> list[Record]:
    """Every record the pipeline publishes for ``path``, in publish order per partition."""
    bus = MemoryBus(source="/lookout/ingest", max_records_per_partition=10**7)
    async with bus:
        await run_ingest(FileSource(path), bus, IngestSettings())
        records: list[Record] = []
        async with bus.subscribe(TOPICS, group="bench") as reader:  # a new group: earliest
            await reader.wait_assigned()
            while batch := await reader.getmany(max_records=100_000, timeout_s=0.05):
                records.extend(batch)
    return records


async def bench_bare_kafka(settings: BusSettings, records: Sequence[Record]) -> Timing:
    """A bare aiokafka producer sending ``records`` (topic, key, value, headers) as they
    are, onto copies of the topics (same partition counts), ``BATCH`` futures at a time."""
    prefix = "bare."
    async with KafkaBus(settings) as admin:
        await admin.ensure_topics(prefix + t for t in TOPICS)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=settings.kafka_max_batch_bytes,
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )
    await producer.start()
    try:
        messages = [
            (prefix + r.topic, None if r.key is None else r.key.encode(), r.value, list(r.headers))
            for r in records
        ]
        send = producer.send
        with Timing() as timing:
            for first in range(0, len(messages), BATCH):
                futures = [
                    await send(topic, value, key, headers=headers)
                    for topic, key, value, headers in messages[first : first + BATCH]
                ]
                await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return timing


async def bench_bus_publish_only(settings: BusSettings, records: Sequence[Record]) -> Timing:
    """Lookout's own Kafka bus sending ``records`` already encoded (``Outgoing.raw``, the
    way the publisher hands them over), ``BATCH`` per ``publish_many``: its share of (4)."""
    prefix = "bus."
    messages = [
        Outgoing(prefix + r.topic, r.key, None, raw=r.value, headers=r.headers) for r in records
    ]
    async with KafkaBus(settings, source="/bench") as bus:
        await bus.ensure_topics(prefix + t for t in TOPICS)
        with Timing() as timing:
            for first in range(0, len(messages), BATCH):
                await bus.publish_many(messages[first : first + BATCH])
    return timing


def line(
    name: str, count: int, timing: Timing, bare: Timing | None, unit: str = "sentences"
) -> None:
    rate = count / timing.wall_s
    text = f"{name:26s} {rate:9,.0f} {unit}/s  {timing.cpu_s / count * 1e6:6.2f} us CPU each"
    if bare is not None:
        text += (
            f"  ratio wall {bare.wall_s / timing.wall_s:.2f}  CPU {bare.cpu_s / timing.cpu_s:.2f}"
        )
    print(text, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=112, help="copies of the 898-line capture")
    parser.add_argument("--no-kafka", action="store_true", help="skip the Tansu runs")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        broker: TansuBroker | None = None
        if not args.no_kafka:
            broker = TansuBroker(Path(tmp) / "tansu.log")  # before pinning: not on our core
            broker.start()
        try:
            run(Path(tmp), args.repeat, broker)
        finally:
            if broker is not None:
                broker.stop()


def run(tmp: Path, repeat: int, broker: TansuBroker | None) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # one core for this process
    print(
        f"python {platform.python_version()} ({platform.machine()}), nproc {os.cpu_count()}, "
        f"pinned to core {max(os.sched_getaffinity(0))}, pyais {pyais.__version__}"
    )
    capture = tmp / "capture.nmea"
    lines = build_capture(capture, repeat)
    print(f"capture: {lines} lines ({capture.stat().st_size / 1e6:.1f} MB)")

    bare, decoded, errors = bench_pyais(capture)
    line("pyais bare decode loop", lines, bare, None)
    print(f"{'':26s} ({decoded} decoded, {errors} errors)")
    line("lookout decode only", lines, bench_decode_only(capture), bare)
    publish, published = asyncio.run(bench_publish_only(capture.read_bytes().splitlines()))
    line("memory bus publish only", published, publish, None, unit="events")
    memory, read = asyncio.run(
        bench_pipeline(capture, MemoryBus(source="/bench", max_records_per_partition=10**7))
    )
    assert read == lines
    line("lookout file -> memory", lines, memory, bare)
    if broker is None:
        return
    settings = BusSettings(
        bus="kafka",
        kafka_bootstrap=broker.bootstrap,
        kafka_idempotence=False,
        replication_factor=1,  # one broker
        min_insync_replicas=1,
    )
    kafka, read = asyncio.run(bench_pipeline(capture, KafkaBus(settings, source="/bench")))
    assert read == lines
    records = asyncio.run(published_records(capture))
    bare_kafka = asyncio.run(bench_bare_kafka(settings, records))
    line("bare aiokafka (same bytes)", len(records), bare_kafka, None, unit="records")
    print(f"{'':26s} ({len(records)} records for {lines} lines)")
    bus_only = asyncio.run(bench_bus_publish_only(settings, records))
    line("KafkaBus publish only", len(records), bus_only, None, unit="records")
    line("lookout file -> Kafka", lines, kafka, bare)
    print(
        f"{'':26s} file -> Kafka / bare aiokafka: wall "
        f"{bare_kafka.wall_s / kafka.wall_s:.2f}  CPU {bare_kafka.cpu_s / kafka.cpu_s:.2f}"
    )


if __name__ == "__main__":
    main()
