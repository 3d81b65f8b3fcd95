"""Sentences per second from a capture file to the topics, next to pyais's bare decode loop.

    .venv/bin/python bench/ingest/bench_ingest.py [--repeat 112] [--no-kafka]

Builds a capture of ~100k sentences by repeating the real captures in tests/corpora (whole
files, so multi-sentence groups stay intact), then times, in one run on one core:
  1. pyais bare: ``for msg in FileReaderStream(path): msg.decode()`` (errors counted)
  2. lookout decode only: our decoder (checksums, assembly, MMSI flags, pydantic models)
  -  memory bus publish only: the bus's own cost per event, for attribution
  3. lookout file -> memory bus: the ingest pipeline, publish_many in batches
  4. lookout file -> Kafka: the same onto a Tansu broker started here (acks=all)
and prints each rate and its ratio to (1). Target: (3) >= 0.7 x (1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import pyais  # noqa: E402

from bus import BusSettings  # noqa: E402
from bus.kafka import KafkaBus  # noqa: E402
from bus.memory import MemoryBus  # noqa: E402
from ingest.decoder import AisDecoder, AisEvent  # noqa: E402
from ingest.pipeline import run_ingest  # noqa: E402
from ingest.settings import IngestSettings  # noqa: E402
from ingest.sources.file import FileSource  # noqa: E402
from schemas.topics import Topic  # noqa: E402
from tests.support.tansu import TansuBroker  # noqa: E402

CORPORA = ROOT / "tests" / "corpora"


def build_capture(path: Path, repeat: int) -> int:
    sample = (CORPORA / "pyais" / "nmea_data_sample.txt").read_bytes()
    if not sample.endswith(b"\n"):
        sample += b"\n"
    path.write_bytes(sample * repeat)
    return sample.count(b"\n") * repeat


def bench_pyais(path: Path) -> tuple[float, int, int]:
    decoded = errors = 0
    started = time.perf_counter()
    for msg in pyais.FileReaderStream(str(path)):
        try:
            msg.decode()
            decoded += 1
        except Exception:  # unknown types, empty payloads: counted, as pyais's own bench does
            errors += 1
    return time.perf_counter() - started, decoded, errors


def bench_decode_only(path: Path) -> float:
    lines = path.read_bytes().splitlines()
    decoder = AisDecoder("bench")
    out: list[AisEvent] = []
    started = time.perf_counter()
    now = datetime.now(UTC)
    for first in range(0, len(lines), 4096):
        out.clear()
        decoder.decode_lines(lines[first : first + 4096], now, out)
    return time.perf_counter() - started


async def bench_publish_only(lines: list[bytes]) -> tuple[float, int]:
    """The bus's share: publishing already-decoded events (JSON + CloudEvents headers)."""
    from ingest.publisher import outgoing

    decoder = AisDecoder("bench")
    events: list[AisEvent] = []
    decoder.decode_lines(lines, datetime.now(UTC), events)
    messages = [outgoing(e) for e in events]
    bus = MemoryBus(source="/bench", max_records_per_partition=10**7)
    started = time.perf_counter()
    for first in range(0, len(messages), 1000):
        await bus.publish_many(messages[first : first + 1000])
    return time.perf_counter() - started, len(messages)


async def bench_pipeline(path: Path, bus: MemoryBus | KafkaBus) -> tuple[float, int]:
    settings = IngestSettings()
    async with bus:
        await bus.ensure_topics([Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.AIS_REJECTS])
        started = time.perf_counter()
        stats = await run_ingest(FileSource(path), bus, settings)
        elapsed = time.perf_counter() - started
    return elapsed, stats.lines_read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=112, help="copies of the 898-line capture")
    parser.add_argument("--no-kafka", action="store_true", help="skip the Tansu run")
    args = parser.parse_args()

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
    print(
        f"python {platform.python_version()} ({platform.machine()}), nproc {os.cpu_count()}, "
        f"pinned to 1 core, pyais {pyais.__version__}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        capture = Path(tmp) / "capture.nmea"
        lines = build_capture(capture, args.repeat)
        print(f"capture: {lines} lines ({capture.stat().st_size / 1e6:.1f} MB)")

        bare_s, decoded, errors = bench_pyais(capture)
        bare_rate = lines / bare_s
        print(
            f"pyais bare decode loop:  {bare_rate:9,.0f} sentences/s "
            f"({bare_s:.2f} s; {decoded} decoded, {errors} errors)"
        )

        decode_s = bench_decode_only(capture)
        print(
            f"lookout decode only:     {lines / decode_s:9,.0f} sentences/s "
            f"ratio {bare_s / decode_s:.2f}"
        )

        publish_s, published = asyncio.run(bench_publish_only(capture.read_bytes().splitlines()))
        print(
            f"memory bus publish only: {published / publish_s:9,.0f} events/s "
            f"({publish_s / published * 1e6:.1f} us per event: JSON + CloudEvents headers)"
        )

        memory_s, read = asyncio.run(
            bench_pipeline(capture, MemoryBus(source="/bench", max_records_per_partition=10**7))
        )
        assert read == lines
        print(
            f"lookout file -> memory:  {lines / memory_s:9,.0f} sentences/s "
            f"ratio {bare_s / memory_s:.2f}"
        )

        if not args.no_kafka:
            broker = TansuBroker(Path(tmp) / "tansu.log")
            broker.start()
            try:
                settings = BusSettings(
                    bus="kafka",
                    kafka_bootstrap=broker.bootstrap,
                    kafka_idempotence=False,
                    replication_factor=1,  # one broker
                    min_insync_replicas=1,
                )
                kafka_s, read = asyncio.run(bench_pipeline(capture, KafkaBus(settings)))
            finally:
                broker.stop()
            print(
                f"lookout file -> Kafka:   {lines / kafka_s:9,.0f} sentences/s "
                f"ratio {bare_s / kafka_s:.2f} (Tansu, memory storage, acks=all)"
            )


if __name__ == "__main__":
    main()
