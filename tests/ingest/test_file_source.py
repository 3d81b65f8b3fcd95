"""File replay: plain, tag-block and timestamp-column captures; paced or as fast as possible;
and the demo feed of ``lookout up``."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bus.memory import MemoryBus
from ingest.demo import DemoFeed, demo_lines
from ingest.pipeline import run_ingest
from ingest.settings import IngestSettings
from ingest.sources.file import FileSource
from schemas.ais import PositionReport, RejectRecord
from schemas.topics import Topic
from tests.ingest.support import PYAIS_SAMPLE
from tests.ingest.test_decoder import TYPE_1, TYPE_5, tag_block

START = 1_700_000_000


def tag_block_capture(path: Path) -> Path:
    """Twenty reports over two recorded seconds, with a two-line type 5 in the middle."""
    lines = [tag_block(f"s:rx1,c:{START + i // 5}") + TYPE_1 for i in range(10)]
    lines += [tag_block(f"s:rx1,c:{START + 1}") + s for s in TYPE_5]
    lines += [tag_block(f"s:rx1,c:{START + 2}") + TYPE_1 for _ in range(10)]
    path.write_text("\n".join(lines) + "\n")
    return path


async def positions_of(path: Path, speed: float) -> list[PositionReport]:
    bus = MemoryBus()
    stats = await run_ingest(FileSource(path, speed=speed), bus, IngestSettings())
    assert stats.lines_pending == 0 and not stats.rejected_by_reason
    async with bus.subscribe([Topic.AIS_POSITIONS], group="g") as sub:
        records = await sub.getmany(max_records=10_000, timeout_s=0.1)
    return [r.decode(PositionReport) for r in records]


@pytest.mark.parametrize("speed", [0.0, 50.0])
async def test_tag_block_replay_gives_recorded_event_times_at_any_speed(
    tmp_path: Path, speed: float
) -> None:
    positions = await positions_of(tag_block_capture(tmp_path / "tagged.nmea"), speed)
    assert len(positions) == 20
    assert {p.station for p in positions} == {"rx1"}
    assert sorted({p.event_time for p in positions}) == [
        datetime.fromtimestamp(START + s, UTC) for s in (0, 1, 2)
    ]


async def test_a_timestamp_column_capture_replays_paced(tmp_path: Path) -> None:
    capture = tmp_path / "columns.log"
    capture.write_text("".join(f"{START + i * 0.1:.1f} {TYPE_1}\n" for i in range(5)))
    positions = await positions_of(capture, speed=20.0)
    assert [p.event_time.timestamp() for p in positions] == pytest.approx(
        [START + i * 0.1 for i in range(5)]
    )


async def test_a_gzipped_capture_is_read_as_it_is(tmp_path: Path) -> None:
    capture = tmp_path / "sample.nmea.gz"
    capture.write_bytes(gzip.compress(PYAIS_SAMPLE.read_bytes()))
    seen: list[int] = []
    stats = await run_ingest(FileSource(capture, on_progress=seen.append), MemoryBus())
    assert stats.lines_read == len(PYAIS_SAMPLE.read_bytes().splitlines())
    assert seen and seen[-1] == capture.stat().st_size


async def test_the_demo_feed_loops_over_the_bundled_capture(memory_bus: MemoryBus) -> None:
    lines = demo_lines()
    assert len(lines) == len(PYAIS_SAMPLE.read_bytes().splitlines())
    feed = DemoFeed(lines_per_s=2_000, lines=lines)
    demo = asyncio.create_task(run_ingest(feed, memory_bus, IngestSettings(flush_interval_s=0.05)))
    count = 0
    async with memory_bus.subscribe([Topic.AIS_POSITIONS], group="demo-test") as sub:

        async def read() -> bool:
            nonlocal count
            count += len(await sub.getmany(max_records=5_000, timeout_s=0.05))
            return count > len(lines)  # more positions than one pass holds: it looped

        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 30
            while not await read():
                assert loop.time() < deadline, f"only {count} positions from the demo feed"
        finally:
            demo.cancel()
            await asyncio.gather(demo, return_exceptions=True)


@pytest.mark.parametrize("speed", [0.0, 50.0])
async def test_an_over_long_line_is_rejected_cut_and_the_next_line_still_read(
    tmp_path: Path, speed: float
) -> None:
    capture = tmp_path / "garbage.nmea"
    capture.write_bytes(b"Z" * 3_000_000 + b"\n" + TYPE_1.encode() + b"\n" + b"Y" * 2000)
    bus = MemoryBus()
    stats = await run_ingest(FileSource(capture, speed=speed, max_line_bytes=1024), bus)
    assert stats.lines_read == 3 and stats.lines_pending == 0
    assert dict(stats.rejected_by_reason) == {"malformed": 2}
    async with bus.subscribe([Topic.AIS_REJECTS], group="g") as sub:
        rejected = [r.decode(RejectRecord) for r in await sub.getmany(timeout_s=0.1)]
    assert [r.raw for r in rejected] == [["Z" * 1024], ["Y" * 1024]]
    assert all("longer than 1024 bytes" in r.detail for r in rejected)
