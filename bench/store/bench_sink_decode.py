"""The sink's decode of wire records, per record, next to pydantic's bare JSON validation.

    .venv/bin/python bench/store/bench_sink_decode.py [--repeat 40]

Encodes the events ingest makes of the real capture in tests/corpora (``--repeat`` copies)
as bus records, exactly as they travel (JSON value + CloudEvents headers), then times on
one core, in CPU time (``time.process_time``, best of five, so the load of other processes
on the machine does not count):
  1. bare: ``msgspec.json.decode(value, type=PositionReport)`` per record, the one
     validation the read path cannot do without (the wire events are msgspec Structs);
  2. the sink's ``store.decode.decode_batch`` over the same records in batches of 5,000
     (envelope check, type lookup, validation, the row for COPY).
and prints both per record and the ratio (1) / (2).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bus.base import Record  # noqa: E402
from ingest.decoder import AisDecoder, AisEvent  # noqa: E402
from ingest.publisher import outgoing  # noqa: E402
from schemas.ais import PositionReport  # noqa: E402
from schemas.topics import Topic  # noqa: E402
from store.decode import decode_batch  # noqa: E402

SAMPLE = ROOT / "tests" / "corpora" / "pyais" / "nmea_data_sample.txt"


def records(repeat: int) -> list[Record]:
    decoder = AisDecoder("bench")
    events: list[AisEvent] = []
    decoder.decode_lines(SAMPLE.read_bytes().splitlines() * repeat, datetime.now(UTC), events)
    out: list[Record] = []
    for offset, event in enumerate(events):
        message = outgoing(event)
        value, headers = message.encode("/ingest/bench")
        out.append(Record(message.topic, 0, offset, message.key, value, tuple(headers), 0))
    return [r for r in out if r.topic == Topic.AIS_POSITIONS]


def best_cpu_s(work: Callable[[], object], runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40, help="copies of the 898-line capture")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    positions = records(args.repeat)
    values = [r.value or b"" for r in positions]
    validate = msgspec.json.Decoder(PositionReport).decode

    def bare() -> None:
        for value in values:
            validate(value)

    def sink() -> None:
        for first in range(0, len(positions), 5000):
            decode_batch(positions[first : first + 5000])

    bare_s, sink_s = best_cpu_s(bare), best_cpu_s(sink)
    n = len(positions)
    print(f"{n:,} position records ({sum(map(len, values)) / n:.0f} bytes of JSON each)")
    print(f"bare msgspec decode:      {bare_s / n * 1e6:6.2f} us per record")
    print(f"sink decode_batch:        {sink_s / n * 1e6:6.2f} us per record")
    print(f"ratio bare / sink:        {bare_s / sink_s:6.2f}")


if __name__ == "__main__":
    main()
