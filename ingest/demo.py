"""The demo feed of ``lookout up``: generated scenario traffic first (a day and a half of
vessels doing each behaviour fusion detects, ending now, so the alerts table fills at
start), then the bundled pyais capture, replayed at a steady pace with reception-time
event times, so the picture moves without a real feed.

The capture is played forward, then backward, then forward again: looping it would make
every vessel jump from its last position back to its first, which fusion would rightly
call an impossible jump. Played backward, each vessel retraces its own track.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources

from bus.base import Bus
from ingest.demo_traffic import with_demo_traffic
from ingest.pipeline import run_ingest
from ingest.scenario import Scenario, ScenarioThresholds, build_scenario, scenario_duration_s
from ingest.settings import IngestSettings
from ingest.sources.base import LineBatch

DEMO_CAPTURE = "nmea_data_sample.txt"
_TICK_S = 0.25
_SCENARIO_BATCH = 2000


def demo_lines() -> list[bytes]:
    """The bundled capture, read from the installed package."""
    return resources.files("ingest.data").joinpath(DEMO_CAPTURE).read_bytes().splitlines()


def messages(lines: list[bytes]) -> list[list[bytes]]:
    """Lines grouped into whole messages (the fragments of a multi-sentence one together)."""
    grouped: list[list[bytes]] = []
    current: list[bytes] = []
    for line in lines:
        current.append(line)
        fields = line.split(b",")
        done = True
        if len(fields) > 2 and fields[1].isdigit() and fields[2].isdigit():
            done = fields[1] == fields[2]
        if done:
            grouped.append(current)
            current = []
    if current:
        grouped.append(current)
    return grouped


def ping_pong(lines: list[bytes]) -> Iterator[bytes]:
    """Forward, backward (by whole messages), forward, ... forever."""
    forward = messages(lines)
    backward = forward[::-1]
    for group in itertools.cycle([*forward, *backward]):
        yield from group


class DemoFeed:
    """Plays the capture forever at ``lines_per_s``, forward then backward."""

    def __init__(self, lines_per_s: float, lines: list[bytes] | None = None) -> None:
        self.lines_per_s = lines_per_s
        self.lines = lines if lines is not None else demo_lines()

    @property
    def name(self) -> str:
        return "demo://nmea_data_sample"

    async def batches(self) -> AsyncIterator[LineBatch]:
        looped = ping_pong(self.lines)
        loop = asyncio.get_running_loop()
        started_s, sent = loop.time(), 0
        while True:
            due = int((loop.time() - started_s) * self.lines_per_s) - sent
            if due > 0:
                yield LineBatch(list(itertools.islice(looped, due)), datetime.now(UTC))
                sent += due
            await asyncio.sleep(_TICK_S)


DEMO_THRESHOLDS = ScenarioThresholds(step_s=120.0)
"""Fusion's default thresholds; a report every two minutes keeps the start-up short."""


def demo_scenario(now: datetime, thresholds: ScenarioThresholds = DEMO_THRESHOLDS) -> Scenario:
    """The generated scenario, timed to end at ``now``, with the demo's own traffic (a boat
    dwelling in the demo's marine protected area, an AIS-SART: ``ingest.demo_traffic``)."""
    length = timedelta(seconds=scenario_duration_s(thresholds))
    start = (now - length).replace(microsecond=0) - timedelta(seconds=1)
    scenario = build_scenario(start, thresholds)
    scenario.lines = with_demo_traffic(scenario.lines, scenario.end.timestamp())
    return scenario


class ScenarioFeed:
    """A scenario's lines as fast as ingest takes them, received ``now``."""

    def __init__(self, scenario: Scenario, received_at: datetime) -> None:
        self.scenario = scenario
        self.received_at = received_at

    @property
    def name(self) -> str:
        return "demo://scenario"

    async def batches(self) -> AsyncIterator[LineBatch]:
        lines = self.scenario.lines
        for i in range(0, len(lines), _SCENARIO_BATCH):
            yield LineBatch(lines[i : i + _SCENARIO_BATCH], self.received_at)


async def run_demo_feed(
    bus: Bus, settings: IngestSettings | None = None, scenario: Scenario | None = None
) -> None:
    """Runs until cancelled (the demo feed never ends): the scenario first, if given, so its
    history is in before live times move fusion's watermark past it."""
    settings = settings or IngestSettings()
    if scenario is not None:
        await run_ingest(ScenarioFeed(scenario, datetime.now(UTC)), bus, settings)
    await run_ingest(DemoFeed(settings.demo_lines_per_s), bus, settings)
