"""The demo feed of ``lookout up``: the bundled pyais capture, replayed in a loop at a
steady pace with reception-time event times, so the picture moves without a real feed.
(The Bali-region demo scenario replaces it in a later issue.)"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from importlib import resources

from bus.base import Bus
from ingest.pipeline import run_ingest
from ingest.settings import IngestSettings
from ingest.sources.base import LineBatch

DEMO_CAPTURE = "nmea_data_sample.txt"
_TICK_S = 0.25


def demo_lines() -> list[bytes]:
    """The bundled capture, read from the installed package."""
    return resources.files("ingest.data").joinpath(DEMO_CAPTURE).read_bytes().splitlines()


class DemoFeed:
    """Loops over the capture forever at ``lines_per_s``. Lines are sent in file order,
    so the fragments of a multi-sentence message stay together."""

    def __init__(self, lines_per_s: float, lines: list[bytes] | None = None) -> None:
        self.lines_per_s = lines_per_s
        self.lines = lines if lines is not None else demo_lines()

    @property
    def name(self) -> str:
        return "demo://nmea_data_sample"

    async def batches(self) -> AsyncIterator[LineBatch]:
        looped = itertools.cycle(self.lines)
        loop = asyncio.get_running_loop()
        started_s, sent = loop.time(), 0
        while True:
            due = int((loop.time() - started_s) * self.lines_per_s) - sent
            if due > 0:
                yield LineBatch(list(itertools.islice(looped, due)), datetime.now(UTC))
                sent += due
            await asyncio.sleep(_TICK_S)


async def run_demo_feed(bus: Bus, settings: IngestSettings | None = None) -> None:
    """Runs until cancelled (the demo feed never ends)."""
    settings = settings or IngestSettings()
    await run_ingest(DemoFeed(settings.demo_lines_per_s), bus, settings)
