"""``lookout ingest file``: every line of a capture ends in a typed topic or in rejects, on
the memory bus and on a real Kafka-protocol broker (Tansu)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bus import BusSettings
from bus.kafka import KafkaBus
from schemas.ais import PositionReport, RejectRecord, StaticReport
from schemas.topics import Topic
from tests.ingest.support import GPSD_SAMPLE, PYAIS_SAMPLE, decode_all, rejects, typed

LOOKOUT = [sys.executable, "-m", "lookout.cli", "--log-level", "WARNING"]


def run_lookout(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real command in its own process, as an operator runs it."""
    return subprocess.run(
        [*LOOKOUT, *args],
        env={**os.environ, **env, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def summary_counts(output: str) -> dict[str, int]:
    return {
        m.group(1).strip(): int(m.group(2))
        for m in re.finditer(r"│\s*([^│]+?)\s*│\s*(\d+)\s*│", output)
    }


@pytest.mark.parametrize("capture", [PYAIS_SAMPLE, GPSD_SAMPLE], ids=lambda p: p.name)
def test_ingest_file_accounts_for_every_line(capture: Path) -> None:
    result = run_lookout(
        ["ingest", "file", str(capture), "--no-progress"], env={"LOOKOUT_BUS": "memory"}
    )
    assert result.returncode == 0, result.stderr
    counts = summary_counts(result.stdout)
    lines = len(capture.read_bytes().splitlines())
    assert counts["lines read"] == lines
    assert counts["blank or comment"] + counts["in typed events"] + counts["in rejects"] == lines
    _, decoder = decode_all(capture.read_bytes().splitlines())
    for msg_type, n in decoder.stats.decoded_by_type.items():
        assert counts[f"decoded type {msg_type}"] == n
    for reason, n in decoder.stats.rejected_by_reason.items():
        assert counts[f"rejected: {reason}"] == n


@pytest.mark.kafka
async def test_ingest_file_into_kafka_and_read_the_events_back(
    kafka_settings: BusSettings, unique: str
) -> None:
    source = f"file:test-{unique}"  # other tests share the broker's ais.* topics
    env = {
        "LOOKOUT_BUS": "kafka",
        "LOOKOUT_KAFKA_BOOTSTRAP": kafka_settings.kafka_bootstrap,
        "LOOKOUT_KAFKA_IDEMPOTENCE": str(kafka_settings.kafka_idempotence).lower(),
    }
    args = ["ingest", "file", str(PYAIS_SAMPLE), "--no-progress", "--source", source]
    result = await asyncio.to_thread(run_lookout, args, env)
    assert result.returncode == 0, result.stderr

    expected, _ = decode_all(PYAIS_SAMPLE.read_bytes().splitlines(), source=source)
    want_typed, want_rejects = len(typed(expected)), len(rejects(expected))
    got_typed: list[PositionReport | StaticReport] = []
    got_rejects: list[RejectRecord] = []
    topics = [Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.AIS_REJECTS]
    async with (
        KafkaBus(kafka_settings, source="/tests") as bus,
        bus.subscribe(topics, group=f"ingest-test.{unique}") as sub,
    ):
        deadline = asyncio.get_running_loop().time() + 60
        while len(got_typed) < want_typed or len(got_rejects) < want_rejects:
            assert asyncio.get_running_loop().time() < deadline, (
                f"read {len(got_typed)}/{want_typed} typed, {len(got_rejects)}/{want_rejects}"
            )
            for record in await sub.getmany(max_records=1000, timeout_s=0.5):
                if record.topic == Topic.AIS_REJECTS:
                    reject = record.decode(RejectRecord)
                    if reject.source == source:
                        assert record.key == source
                        got_rejects.append(reject)
                    continue
                cls = PositionReport if record.topic == Topic.AIS_POSITIONS else StaticReport
                event = record.decode(cls)
                if event.source == source:
                    assert record.key == str(event.mmsi)
                    got_typed.append(event)
    assert len(got_typed) == want_typed and len(got_rejects) == want_rejects
    key = lambda e: (e.msg_type, e.mmsi)  # noqa: E731
    assert sorted(map(key, got_typed)) == sorted(map(key, typed(expected)))
