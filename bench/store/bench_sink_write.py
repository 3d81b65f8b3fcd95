"""The sink's write path beside a bare COPY of the same rows, measured in the same run
(issue 13: the sink at >= 0.8 of the bare path).

    .venv/bin/python bench/store/bench_sink_write.py [--rounds 3] [--per-side 100000]

Starts its own embedded PostgreSQL in a temporary directory (left unpinned), then pins
itself to one core (the last it may run on) and writes blocks of fresh position rows into
the same ``positions`` table, one block per side and round, the side that goes first
rotating each round, so every side meets about the same table size and machine load:

  1. bare COPY + INSERT (issue 13's baseline): psycopg 3 binary COPY of the rows, already
     tuples, into a temporary staging table, then ``INSERT … SELECT … ON CONFLICT DO
     NOTHING`` into ``positions``; one transaction per batch.
  2. bare + latest: the same plus the upsert of each vessel's latest position into
     ``vessels`` that the sink also does (the COP reads it): the like-for-like floor.
  3. sink: ``StoreSink.run`` as deployed, consuming the records exactly as they travel (JSON
     values and CloudEvents headers made by the bus's own encoder, published on a memory
     bus before it starts): poll, decode, admission checks, COPY, insert, vessels' latest
     state, offsets committed.

Every batch has 5,000 vessels, each once (the worst case for ``vessels``). Rates are steady
state: the rows after a block's first batch over the time from its end to the end of the
last. Beside wall-clock rows/s it prints CPU per row of the client (this process) and of
the whole server (postmaster and children, from /proc), which the load of other processes
on the machine does not inflate, and both ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg  # noqa: E402
from bench_store import Fleet, position_batches  # noqa: E402

from bus.base import Outgoing, Record  # noqa: E402
from bus.memory import MemoryBus  # noqa: E402
from ingest.mmsi import classify_mmsi  # noqa: E402
from schemas.ais import PositionReport  # noqa: E402
from schemas.topics import Topic  # noqa: E402
from store import timeseries  # noqa: E402
from store.db import Conn, connect  # noqa: E402
from store.embedded import EmbeddedPostgres  # noqa: E402
from store.migrate import migrate  # noqa: E402
from store.settings import StoreSettings  # noqa: E402
from store.sink import StoreSink  # noqa: E402
from store.write_positions import (  # noqa: E402
    MOVE_LATEST,
    POSITION_COLUMNS,
    STAGE_COLUMNS,
    STAGE_TYPES,
    PositionRow,
    position_days,
)

START = datetime(2026, 9, 1, tzinfo=UTC)
_COLS = ", ".join(POSITION_COLUMNS)
BARE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS bare_stage "
    "(LIKE positions, mmsi_kind text, flag_country text) ON COMMIT DELETE ROWS"
)
BARE_COPY = f"COPY bare_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
BARE_INSERT = (
    f"INSERT INTO positions ({_COLS}) SELECT {_COLS} FROM bare_stage "
    "ON CONFLICT (mmsi, time, lat, lon) DO NOTHING"
)
# The sink's own statement for the vessels' latest state, run against the bare stage: the
# same server work with none of the sink's client work.
BARE_LATEST = MOVE_LATEST.replace(b"positions_stage", b"bare_stage")


class ServerClock:
    """CPU time of the whole PostgreSQL server (postmaster and every child: backends, WAL
    writer, checkpointer, autovacuum), read from /proc. Unlike wall time it does not grow
    when other processes crowd the machine."""

    def __init__(self, data_dir: Path) -> None:
        self.postmaster = int((data_dir / "postmaster.pid").read_text().split()[0])
        self.tick_s = 1 / os.sysconf("SC_CLK_TCK")

    def cpu_s(self) -> float:
        total = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            pid, ppid = int(entry.name), int(fields[1])
            if pid == self.postmaster or ppid == self.postmaster:
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total * self.tick_s


@dataclass
class Side:
    """One way of writing; its rate is steady state: rows after its first batch of a
    round over the time from the end of that batch to the end of the last."""

    name: str
    server: ServerClock
    rows: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    server_s: float = 0.0
    _mark: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def start(self) -> None:
        self._mark = (time.perf_counter(), time.process_time(), self.server.cpu_s())

    def stop(self, rows: int) -> None:
        wall, cpu, server = self._mark
        self.rows += rows
        self.wall_s += time.perf_counter() - wall
        self.cpu_s += time.process_time() - cpu
        self.server_s += self.server.cpu_s() - server

    def rate(self) -> float:
        return self.rows / self.wall_s

    def cpu_us(self) -> float:
        return self.cpu_s / self.rows * 1e6

    def server_us(self) -> float:
        return self.server_s / self.rows * 1e6

    def cost_us(self) -> float:
        """CPU of client and server per row."""
        return self.cpu_us() + self.server_us()


def as_record(row: PositionRow, offset: int) -> Record:
    """The record ingest publishes for this row: a validated ``PositionReport`` through
    the bus's own encoder (JSON value, CloudEvents headers)."""
    report = PositionReport(
        mmsi=row[1],
        msg_type=row[4],
        event_time=row[0],
        lat=row[2],
        lon=row[3],
        speed_kn=row[5],
        course_deg=row[6],
        nav_status=row[8],
        position_accuracy_high=row[10],
        source=row[13],
        mmsi_info=classify_mmsi(row[1]),
    )
    message = Outgoing(Topic.AIS_POSITIONS, str(row[1]), report)
    value, headers = message.encode("/ingest/bench")
    return Record(message.topic, 0, offset, message.key, value, tuple(headers), 0)


def sink_row(row: PositionRow) -> PositionRow:
    """The row as the sink stages it (what the record above decodes to), dated in whole
    seconds as an NMEA 4.0 tag block (``c:``) dates a report; what bench_store adds after
    the flag (the H3 cell, once positions has one) is kept."""
    info = classify_mmsi(row[1])
    course = row[6] % 360.0  # 359.96 rounds to 360.0, which AIS keeps for "not available"
    return (
        row[0].replace(microsecond=0),
        *row[1:6],
        course,
        *row[7:14],
        info.valid,
        info.kind.value,
        info.country,
        *row[17:],
    )


async def bare(
    conn: Conn, side: Side, batches: Sequence[Sequence[PositionRow]], latest: bool
) -> None:
    rows = 0
    for n, batch in enumerate(batches):
        async with conn.transaction(), conn.cursor() as cur:
            async with cur.copy(BARE_COPY.encode()) as copy:
                copy.set_types(list(STAGE_TYPES))
                for row in batch:
                    await copy.write_row(row)
            await cur.execute(BARE_INSERT.encode())
            if n:
                rows += cur.rowcount
            if latest:
                await cur.execute(BARE_LATEST, {"max_ahead_s": 300.0})
        if n == 0:
            side.start()
    side.stop(rows)


async def sink(settings: StoreSettings, side: Side, batches: Sequence[Sequence[Record]]) -> None:
    """The sink as it runs: a consumer of ``ais.positions`` (memory bus, the records
    published before it starts), writing and committing batch after batch."""
    bus = MemoryBus(partitions=1)  # one partition: the sink's batches are the batches here
    await bus.publish_many(
        [
            Outgoing(r.topic, r.key, None, headers=r.headers, raw=r.value)
            for batch in batches
            for r in batch
        ]
    )
    expected = sum(len(b) for b in batches)
    seen: list[int] = []
    done = asyncio.Event()

    async def written(records: Sequence[Record]) -> None:
        if not seen:
            side.start()
        seen.append(len(records))
        if sum(seen) >= expected:
            side.stop(sum(seen[1:]))
            done.set()

    store_sink = StoreSink(bus, settings, after_database_commit=written)
    running = asyncio.create_task(store_sink.run())
    try:
        await asyncio.wait_for(done.wait(), 600)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def bench(
    url: str, server: ServerClock, rounds: int, per_side: int, vessels: int, batch: int
) -> None:
    settings = StoreSettings(database_url=url, sink_batch_max_records=batch)
    async with await connect(url) as conn:
        report = await migrate(conn, settings)
        pg_version = (await (await conn.execute("SHOW server_version")).fetchone() or ["?"])[0]
        await conn.execute(BARE_STAGE.encode())
        fleet = Fleet(vessels)
        total = rounds * 3 * per_side
        batches = [
            [sink_row(row) for row in rows]
            for rows in position_batches(fleet, total, 60.0, batch, START)
        ]
        keeper = timeseries.PartitionKeeper(report.backend)
        await keeper.ensure(
            conn, timeseries.POSITIONS, set().union(*(position_days(b) for b in batches))
        )
        records = [[as_record(row, n) for n, row in enumerate(rows)] for rows in batches]
        print(
            f"PostgreSQL {pg_version} ({report.backend.value}), python "
            f"{platform.python_version()}, psycopg {psycopg.__version__}, {os.cpu_count()} "
            f"cpus, client pinned to core {sorted(os.sched_getaffinity(0))}, server unpinned; "
            f"{rounds} rounds of {per_side:,} positions per side ({vessels:,} vessels) in "
            f"batches of {batch:,}; {sum(len(r.value or b'') for r in records[0]) / batch:.0f} "
            "bytes of JSON per record"
        )
        sides = [Side(name, server) for name in ("bare COPY + INSERT", "bare + latest", "sink")]
        per_block = per_side // batch
        block = 0
        for turn in range(rounds):
            # Each side writes a block of fresh batches per round; which goes first
            # rotates, so none is always the first to meet a bigger table.
            for which in range(3):
                side = (which + turn) % 3
                span = slice(block * per_block, (block + 1) * per_block)
                block += 1
                if side == 2:
                    await sink(settings, sides[2], records[span])
                else:
                    await bare(conn, sides[side], batches[span], latest=side == 1)
    print(f"{'':>20}  {'rows/s':>9}  {'CPU us per row: client':>22} {'server':>7} {'both':>6}")
    for s in sides:
        print(
            f"{s.name:>20}: {s.rate():>9,.0f}  {s.cpu_us():>22.1f} {s.server_us():>7.1f} "
            f"{s.cost_us():>6.1f}   ({s.rows:,} rows in {s.wall_s:.2f} s)"
        )
    for n, name in ((0, "bare COPY + INSERT"), (1, "bare + latest")):
        print(
            f"sink / {name}: {sides[2].rate() / sides[n].rate():.2f} in rows/s, "
            f"{sides[n].cost_us() / sides[2].cost_us():.2f} in CPU per row"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="blocks per side")
    parser.add_argument("--per-side", type=int, default=100_000, help="positions per block")
    parser.add_argument("--vessels", type=int, default=5_000, help="distinct MMSIs")
    parser.add_argument("--batch", type=int, default=5_000, help="the sink's default batch")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lookout-bench-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pg")
        url = server.start()  # before pinning: the server's processes stay unpinned
        try:
            os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
            clock = ServerClock(Path(tmp) / "pg")
            asyncio.run(bench(url, clock, args.rounds, args.per_side, args.vessels, args.batch))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
