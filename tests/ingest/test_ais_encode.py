"""The scenario generator's AIS encoder writes exactly what ``pyais.encode_dict`` writes
(only the payload's armouring is its own): for random messages of the types it sends, and
for a whole scenario."""

from __future__ import annotations

import random
from typing import Any

import pyais
import pytest

import ingest.scenario
from ingest.ais_encode import encode_dict
from ingest.scenario import build_scenario
from tests.fusion.support import THRESHOLDS


def random_message(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice([1, 5, 18])
    base: dict[str, Any] = {"type": kind, "mmsi": rng.randrange(200_000_000, 800_000_000)}
    if kind == 5:
        return base | {
            "shipname": rng.choice(["KM SINAR JAYA", "MEETER", "", "A" * 25]),
            "callsign": f"YB{rng.randrange(10_000):04d}",
            "imo": rng.randrange(9_000_000, 9_999_999),
            "ship_type": rng.randrange(100),
            "ais_version": 0,
        }
    return base | {
        "lat": round(rng.uniform(-90, 90), 5),
        "lon": round(rng.uniform(-180, 180), 5),
        "speed": round(rng.uniform(0, 102), 1),
        "course": round(rng.uniform(0, 359.9), 1),
        "heading": rng.randrange(360),
        **({"status": rng.randrange(16)} if kind == 1 else {}),
    }


@pytest.mark.parametrize("seed", range(3))
def test_random_messages_are_encoded_as_pyais_does(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(300):
        message = random_message(rng)
        seq_id = rng.choice([None, rng.randrange(10)])
        ours = encode_dict(message, talker_id="AI", sentence_type="VDM", seq_id=seq_id)
        theirs = pyais.encode_dict(message, talker_id="AI", sentence_type="VDM", seq_id=seq_id)
        assert ours == theirs, message


def test_a_scenario_is_the_same_line_for_line(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = build_scenario(thresholds=THRESHOLDS).lines
    monkeypatch.setattr(ingest.scenario, "encode_dict", pyais.encode_dict)
    assert build_scenario(thresholds=THRESHOLDS).lines == ours
