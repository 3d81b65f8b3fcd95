"""What fusion's event-time alignment of its inputs (``fusion/ordering.py``) costs, in CPU
time per record, beside the per-MMSI stage itself on the same records in the same run (the
baseline). CPU time (``time.process_time``), not wall time: other work on a shared machine
does not count. Prints what it measured; never a test.

    .venv/bin/python bench/fusion/bench_ordering.py [--vessels 10000] [--per-vessel 10]

Three figures on one core (pinned to core 1):
* fusion: ``Fusion.process`` on the positions in batches of 5,000 (no alignment);
* aligner, positions only: the positions through ``EventTimeAligner`` (add each fetch of
  5,000, take with the static partition empty and without lag), as a live feed with a
  quiet ``ais.static`` runs;
* aligner, positions and statics: fetches of 4,000 positions and 1,000 static reports
  (two per vessel), each input's lag what is left of it, so the heads are merged by event
  time and a shard waits whenever one input's fetch is used up first.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.fusion.bench_fusion import SHIP, START, records
from bus.base import Outgoing, Record
from fusion.ordering import EventTimeAligner
from fusion.processor import Fusion
from fusion.settings import FusionSettings
from fusion.tracks import ShardState
from schemas.ais import StaticReport
from schemas.topics import Topic

console = Console()
RANKS = {Topic.AIS_STATIC.value: 0, Topic.AIS_POSITIONS.value: 1}
POS = (Topic.AIS_POSITIONS.value, 0)
STATIC = (Topic.AIS_STATIC.value, 0)


def statics(vessels: int, per_vessel: int) -> list[Record]:
    """Two static reports per vessel: with its first position and half way through."""
    out: list[Record] = []
    for step in (0, per_vessel // 2):
        for v in range(vessels):
            event = StaticReport(
                mmsi=525_000_000 + v,
                msg_type=5,
                event_time=START + timedelta(seconds=step * 10 + v * 10 / vessels),
                name=f"BENCH {v}",
                ship_type=70,
                source="bench",
                station="rx",
                mmsi_info=SHIP,
            )
            value, headers = Outgoing(Topic.AIS_STATIC, str(event.mmsi), event).encode("/b")
            out.append(
                Record(Topic.AIS_STATIC, 0, len(out), str(event.mmsi), value, tuple(headers), 0)
            )
    return out


def cpu_us_per_record(run: Callable[[], int]) -> float:
    started = time.process_time()
    count = run()
    return (time.process_time() - started) / count * 1e6


def main(vessels: int = 10_000, per_vessel: int = 10) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1 % (os.cpu_count() or 1)})
    positions = records(vessels, per_vessel, random.Random(7))
    identities = statics(vessels, per_vessel)
    console.print(
        f"{len(positions):,} positions, {len(identities):,} static reports; Python "
        f"{platform.python_version()}, CPU affinity {sorted(os.sched_getaffinity(0))}"
    )

    def fusion_alone() -> int:
        fusion = Fusion(FusionSettings())
        fusion.states[0] = ShardState(0)
        for i in range(0, len(positions), 5000):
            fusion.process(positions[i : i + 5000])
        return len(positions)

    def aligned_positions() -> int:
        aligner = EventTimeAligner(RANKS)
        released = 0
        for i in range(0, len(positions), 5000):
            aligner.add(positions[i : i + 5000])
            released += len(aligner.take({POS: 0, STATIC: 0}, 5000))
        assert released == len(positions)
        return released

    def aligned_mixed() -> int:
        aligner = EventTimeAligner(RANKS)
        released = p = s = 0
        while p < len(positions) or s < len(identities):
            aligner.add(positions[p : p + 4000])
            aligner.add(identities[s : s + 1000])
            p, s = min(p + 4000, len(positions)), min(s + 1000, len(identities))
            lags = {POS: len(positions) - p, STATIC: len(identities) - s}
            while batch := aligner.take(lags, 5000):
                released += len(batch)
        assert released == len(positions) + len(identities) and not aligner.held
        return released

    rows = [
        ("fusion: Fusion.process, positions (baseline)", cpu_us_per_record(fusion_alone)),
        ("aligner: positions, quiet ais.static", cpu_us_per_record(aligned_positions)),
        ("aligner: positions and statics merged", cpu_us_per_record(aligned_mixed)),
    ]
    table = Table(title="CPU per record, same run")
    table.add_column("what")
    table.add_column("µs/record", justify="right")
    table.add_column("of fusion's", justify="right")
    for what, us in rows:
        table.add_row(what, f"{us:.2f}", f"{us / rows[0][1]:.1%}")
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
