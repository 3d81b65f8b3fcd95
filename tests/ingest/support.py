"""Helpers shared by the ingest tests: decode whole files, wait on conditions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ingest.decoder import AisDecoder, AisEvent
from schemas.ais import PositionReport, RejectRecord, StaticReport
from schemas.safety import SafetyMessage

CORPORA = Path(__file__).resolve().parent.parent / "corpora"
GPSD_SAMPLE = CORPORA / "gpsd" / "sample.aivdm"
GPSD_EXPECTED = CORPORA / "gpsd" / "sample.aivdm.js.chk"
GPSD_EXPECTED_UNSCALED = CORPORA / "gpsd" / "sample.aivdm.ju.chk"
PYAIS_SAMPLE = CORPORA / "pyais" / "nmea_data_sample.txt"

RECEIVED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def decode_all(
    lines: Sequence[bytes | str], source: str = "test", received_at: datetime = RECEIVED
) -> tuple[list[AisEvent], AisDecoder]:
    """Decode ``lines`` as one feed to the end (waiting fragments flushed as incomplete)."""
    decoder = AisDecoder(source)
    out: list[AisEvent] = []
    raw = [x.encode() if isinstance(x, str) else x for x in lines]
    decoder.decode_lines(raw, received_at, out)
    decoder.flush(received_at, out)
    return out, decoder


def typed(events: Sequence[AisEvent]) -> list[PositionReport | StaticReport | SafetyMessage]:
    return [e for e in events if not isinstance(e, RejectRecord)]


def primary(events: Sequence[AisEvent]) -> list[AisEvent]:
    """Typed events less the identities that types 19 and 21 carry beside their position:
    one per message decoded."""
    return [
        e for e in typed(events) if not (isinstance(e, StaticReport) and e.msg_type in (19, 21))
    ]


def rejects(events: Sequence[AisEvent]) -> list[RejectRecord]:
    return [e for e in events if isinstance(e, RejectRecord)]


async def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0, what: str = "") -> None:
    """Wait until ``condition()`` holds, failing after ``timeout_s`` (never a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or condition}")
        await asyncio.sleep(0.01)
