"""The Kafka bus under a lost connection, shown through a TCP proxy in front of Tansu that
the test cuts and restores (never by stopping aiokafka's private tasks)."""

from __future__ import annotations

import time

import pytest

from bus import BusSettings, Outgoing
from bus.kafka import KafkaBus
from tests.bus.test_contract import Ping, drain
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.kafka


async def test_a_consumer_that_hears_nothing_from_the_brokers_is_reported_down_then_recovers(
    proxied_kafka_settings: BusSettings, kafka_proxy: TcpProxy, unique: str
) -> None:
    """aiokafka issue 1154: a consumer whose fetching stopped keeps looking "running",
    getmany quietly returning nothing. Whatever stops the fetches (a dead fetcher task, a
    lost broker), the brokers' silence is what health reports."""
    topic = f"test.silence.{unique}"
    settings = proxied_kafka_settings.model_copy(update={"stall_after_s": 0.5})
    async with KafkaBus(settings, source="/tests") as bus:
        await bus.ensure_topics([topic])
        await bus.publish_many([Outgoing(topic, f"k{i}", Ping(n=i)) for i in range(5)])
        async with bus.subscribe([topic], group=f"g.{unique}") as sub:
            await drain(sub, 5)
            assert (await sub.health()).alive

            kafka_proxy.cut()
            deadline = time.monotonic() + 20
            while (health := await sub.health()).alive:
                assert time.monotonic() < deadline, "the silence was never reported"
                assert await sub.getmany(timeout_s=0.1) == []
            assert "no fetch response from the brokers" in health.reason

            kafka_proxy.restore()
            await bus.publish_many([Outgoing(topic, "k0", Ping(n=99))])
            [record] = await drain(sub, 1)
            assert record.decode(Ping).n == 99
            assert (await sub.health()).alive
