"""`lookout deadletter replay` on the real broker: every dead letter goes back to its
original topic as it was (key, bytes, headers without the dlq_* ones), once per group."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bus.base import Record
from bus.deadletter import dead_letter, replay_dead_letters
from bus.kafka import KafkaBus
from bus.settings import BusSettings
from tests.store.support import read_topic

ROOT = Path(__file__).resolve().parents[2]


def replay(kafka_settings: BusSettings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LOOKOUT_BUS": "kafka",
        "LOOKOUT_KAFKA_BOOTSTRAP": kafka_settings.kafka_bootstrap,
        "LOOKOUT_KAFKA_IDEMPOTENCE": "false",  # Tansu has no InitProducerId
        # Short sessions: Tansu answers a lone member's join in about 2 s (issue 12's bus
        # work measured it), where the default would wait several.
        "LOOKOUT_KAFKA_SESSION_TIMEOUT_MS": "3000",
        "LOOKOUT_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
    }
    command = [sys.executable, "-m", "lookout.cli", "--log-level", "WARNING", "deadletter"]
    return subprocess.run(
        [*command, "replay", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.kafka
async def test_replay_republishes_each_dead_letter_to_its_topic_once(
    kafka_bus: KafkaBus, kafka_settings: BusSettings, unique: str
) -> None:
    original_topic, dlq = f"ais.positions.replay.{unique}", f"deadletter.{unique}"
    await kafka_bus.ensure_topics([original_topic, dlq])
    headers = (("ce_type", b"lookout.ais.position.v2"), ("ce_id", b"id-1"), ("trace", b"t-9"))
    original = Record(original_topic, 2, 41, "525000001", b'{"mmsi": 525000001}', headers, 0)
    letter = dead_letter(original, "undecodable: unknown type", "lookout-store-sink", topic=dlq)
    await kafka_bus.publish_many([letter])

    first = replay(kafka_settings, "--topic", dlq, "--group", f"replay-{unique}")
    assert first.returncode == 0, first.stderr
    assert original_topic in first.stdout and "1" in first.stdout, first.stdout
    (again,) = await read_topic(kafka_bus, original_topic, 1, timeout_s=60)
    assert again.key == "525000001" and again.value == original.value
    assert again.headers == headers  # the original headers, no dlq_* ones

    # The group remembers: a second replay finds nothing new.
    second = await replay_dead_letters(kafka_bus, group=f"replay-{unique}", topic=dlq)
    assert not second.replayed and second.not_dead_letters == 0


def test_replay_without_kafka_is_one_clear_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lookout.cli", "deadletter", "replay"],
        env={**os.environ, "LOOKOUT_BUS": "memory"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "lookout: the dead-letter topic lives on Kafka: set LOOKOUT_BUS=kafka and "
        "LOOKOUT_KAFKA_BOOTSTRAP (the in-memory bus of `lookout up` ends with its process)"
    ]
