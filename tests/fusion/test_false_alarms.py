"""False alarms on real captures: the captures in tests/corpora go through ingest and fusion
with the production thresholds. They are minutes long, so they can only show the short
behaviours: no spoofing or identity alert that a person reading the track would reject.
Every alert raised is printed (``pytest -s``).

Each capture is fed three ways, each a hazard of real feeds:

* as ``lookout ingest file`` reads it: captures without recorded times get the time they
  were read, so a vessel's fixes of several minutes share one time (repeated fixes);
* as ``lookout up``'s demo plays it: at a steady pace with reception times, forward then
  backward then forward;
* heard by two stations, the second's clock a few seconds off (two receivers hearing one
  vessel, receiver timestamp jitter): every message twice, tag-blocked with each station's
  time.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bus.memory import MemoryBus
from fusion.checkpoint import MemoryCheckpointStore
from fusion.service import FusionService
from fusion.settings import FusionSettings
from ingest.demo import messages, ping_pong
from ingest.pipeline import run_ingest
from ingest.scenario import tagged
from ingest.settings import IngestSettings
from ingest.sources.base import LineBatch
from ingest.sources.file import FileSource
from schemas.alerts import Alert, AlertChange, AlertRule
from schemas.topics import Topic
from tests.conftest import CORPORA
from tests.fusion.support import alerts_of, read_all, wait_drained

CAPTURES = [
    CORPORA / "pyais" / "nmea_data_sample.txt",
    CORPORA / "pyais" / "gatehouse.nmea",
    CORPORA / "gpsd" / "sample.aivdm",
]
START = datetime(2026, 3, 1, tzinfo=UTC)
TICK_S = 0.25
"""The demo feed's tick: a batch of lines every quarter second of its clock."""
SKEW_S = 3
"""The second station's clock runs this far ahead, s."""


class Paced:
    """Lines as a feed delivers them at ``lines_per_s``, received at a clock that starts at
    ``START`` and moves by ``TICK_S`` a batch (no sleeping: the times are what matter)."""

    def __init__(self, lines: Sequence[bytes], lines_per_s: float) -> None:
        self.lines = lines
        self.per_tick = max(1, round(lines_per_s * TICK_S))

    @property
    def name(self) -> str:
        return "capture://paced"

    async def batches(self) -> AsyncIterator[LineBatch]:
        for tick, i in enumerate(range(0, len(self.lines), self.per_tick)):
            at = START + timedelta(seconds=tick * TICK_S)
            yield LineBatch(list(self.lines[i : i + self.per_tick]), at)


def sentences(capture: Path) -> list[bytes]:
    """The capture's AIVDM/AIVDO sentences (comment lines and wrappers such as Gatehouse's
    $PGHP left out, as a receiver would forward them)."""
    lines = capture.read_bytes().splitlines()
    return [line for line in lines if line.startswith((b"!AIVD", b"!BSVD", b"!ABVD"))]


def demo_played(capture: Path) -> list[bytes]:
    """Forward, backward, forward (the demo's ping-pong), as lines."""
    groups = messages(sentences(capture))
    count = sum(len(g) for g in groups) * 3
    return list(itertools.islice(ping_pong(sentences(capture)), count))


def two_stations(capture: Path, lines_per_s: float) -> list[bytes]:
    """Each message heard by rx-a at its time and by rx-b, whose clock is ``SKEW_S`` ahead,
    a moment later."""
    out: list[bytes] = []
    for i, group in enumerate(messages(sentences(capture))):
        t = START.timestamp() + i / lines_per_s
        out += [tagged(line.decode(), t, "rx-a") for line in group]
        out += [tagged(line.decode(), t + SKEW_S, "rx-b") for line in group]
    return out


async def alerts_from(feed: object) -> list[Alert]:
    bus = MemoryBus(source="/lookout/fusion")
    await bus.start()
    await bus.ensure_topics(list(Topic))
    await run_ingest(feed, bus, IngestSettings())  # type: ignore[arg-type]
    settings = FusionSettings(batch_max_records=500, poll_timeout_s=0.05)
    service = FusionService(bus, settings, MemoryCheckpointStore())
    task = asyncio.create_task(service.run())
    try:
        await wait_drained(service)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return alerts_of(await read_all(bus, Topic.FUSION_ALERTS))


def feeds(capture: Path) -> dict[str, object]:
    pace = IngestSettings().demo_lines_per_s
    return {
        "file": FileSource(capture),
        "demo": Paced(demo_played(capture), pace),
        "two stations": Paced(two_stations(capture, pace), pace * 2),
    }


def rejected_by_a_reader(alerts: Sequence[Alert]) -> list[Alert]:
    """Alerts a person reading these captures' tracks would reject: they hold no jumps a
    vessel could not make and no vessel changing its name (an MMSI that is not allocated
    is a true finding, and is printed)."""
    return [
        a
        for a in alerts
        if a.change is AlertChange.OPENED
        and (
            a.rule is AlertRule.IDENTITY_CHANGE
            or (a.rule is AlertRule.SPOOFING and a.evidence.get("kind") == "impossible_jump")
        )
    ]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
async def test_real_captures_raise_no_spoofing_or_identity_alert_a_reader_would_reject(
    capture: Path,
) -> None:
    found: dict[str, list[Alert]] = {}
    for how, feed in feeds(capture).items():
        alerts = found[how] = await alerts_from(feed)
        print(f"\n{capture.relative_to(CORPORA)} ({how}): {len(alerts)} alert events")
        for a in alerts:
            print(f"  {a.rule.value} {a.change.value} {a.subject}: {a.title}")
            print(f"    evidence {a.evidence}")
    assert {how: rejected_by_a_reader(alerts) for how, alerts in found.items()} == {
        how: [] for how in found
    }
