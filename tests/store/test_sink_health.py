"""The sink's /healthz entry tells a watch officer's operator when it stopped consuming."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bus.kafka import KafkaBus
from bus.settings import BusSettings
from store.decode import SINK_TOPICS
from store.settings import StoreSettings
from store.sink import StoreSink
from tests.store.support import wait_for
from tests.support.tcp_proxy import TcpProxy


@pytest.mark.kafka
@pytest.mark.postgres
async def test_a_sink_whose_kafka_consumer_stopped_hearing_the_brokers_reports_down_not_ok(
    proxied_kafka_settings: BusSettings,
    kafka_proxy: TcpProxy,
    db_url: str,
    store_settings: StoreSettings,
    unique: str,
) -> None:
    topics = {topic: f"{topic.value}.health.{unique}" for topic in SINK_TOPICS}
    settings = proxied_kafka_settings.model_copy(update={"stall_after_s": 0.5})
    bus = KafkaBus(settings, source="/tests")
    await bus.start()
    sink = StoreSink(
        bus, store_settings.model_copy(update={"sink_group": f"h-{unique}"}), topics=topics
    )
    task = asyncio.create_task(sink.run())
    try:

        async def assigned() -> bool:
            sub = sink._subscription
            return sub is not None and bool(sub.assignment())

        await wait_for(assigned, 60, "the sink to join its group")
        assert (await sink.readiness()).status == "ok"

        # aiokafka issue 1154: fetching stops (here: the connection is lost); getmany
        # returns nothing from then on, while the consumer still looks started.
        kafka_proxy.cut()

        async def reported_down() -> bool:
            return (await sink.readiness()).status == "down"

        await wait_for(reported_down, 30, "the sink to report its stalled consumer")
        assert "stalled" in (await sink.readiness()).detail

        kafka_proxy.restore()

        async def reported_ok() -> bool:
            return (await sink.readiness()).status == "ok"

        await wait_for(reported_ok, 30, "the sink to report ok once the brokers answer")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await bus.stop()
