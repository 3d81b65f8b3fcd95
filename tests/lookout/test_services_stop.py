"""Stopping: a service whose clean-up outlives the first cancellation (aiokafka retries an
offset commit or a leave-group forever while the broker is down: `lookout fusion` hung on
Ctrl-C, a second Ctrl-C did nothing) is cancelled again after LOOKOUT_STOP_GRACE_S, so the
process stops; the others' clean-up still runs."""

from __future__ import annotations

import asyncio

import pytest
from structlog.testing import capture_logs

from lookout.services import Service, run_services


async def test_a_service_stuck_in_its_clean_up_is_cancelled_again_and_the_process_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOOKOUT_STOP_GRACE_S", "0.3")
    stop = asyncio.Event()
    cleaned: list[str] = []

    async def retries_while_stopping() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            # like a commit to a broker that is gone, retried with backoff for ever
            await asyncio.Event().wait()

    async def polite() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.append("polite")

    services = [Service("stuck", retries_while_stopping), Service("polite", polite)]
    runner = asyncio.create_task(run_services(services, stop))
    await asyncio.sleep(0.1)
    with capture_logs() as logs:
        stop.set()
        await asyncio.wait_for(runner, timeout=10)
    assert cleaned == ["polite"]
    waited = [e for e in logs if e["event"] == "services still stopping, cancelled again"]
    assert [e["services"] for e in waited] == [["stuck"]], logs
