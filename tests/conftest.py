"""Session fixtures: a real Kafka-protocol broker and a real PostgreSQL.

Both start once per session, on loopback / a Unix socket, and stop at the end, unless
``LOOKOUT_KAFKA_BOOTSTRAP`` / ``LOOKOUT_DATABASE_URL`` point at running ones.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bus import BusSettings
from bus.kafka import KafkaBus
from bus.memory import MemoryBus
from store.embedded import EmbeddedPostgres
from tests.support.pg import postgres_data_dir
from tests.support.tansu import TansuBroker, free_port
from tests.support.tcp_proxy import TcpProxy

CORPORA = Path(__file__).resolve().parent / "corpora"


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    external = os.environ.get("LOOKOUT_KAFKA_BOOTSTRAP")
    if external:
        yield external
        return
    broker = TansuBroker(tmp_path_factory.mktemp("tansu") / "tansu.log")
    broker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_settings(kafka_bootstrap: str) -> BusSettings:
    external = bool(os.environ.get("LOOKOUT_KAFKA_BOOTSTRAP"))
    return BusSettings(
        bus="kafka",
        kafka_bootstrap=kafka_bootstrap,
        # Tansu has no InitProducerId: idempotence stays on only against a real Kafka.
        kafka_idempotence=external and os.environ.get("LOOKOUT_KAFKA_IDEMPOTENCE", "1") == "1",
        kafka_session_timeout_ms=6000,
        kafka_heartbeat_interval_ms=500,
        kafka_linger_ms=2,
        kafka_metadata_refresh_ms=500,
        # One broker: production's 3 replicas / 2 in sync cannot be met (an external
        # cluster sets its own through the environment).
        replication_factor=int(os.environ.get("LOOKOUT_REPLICATION_FACTOR", "1")),
        min_insync_replicas=int(os.environ.get("LOOKOUT_MIN_INSYNC_REPLICAS", "1")),
    )


@pytest.fixture(scope="session")
def proxied_kafka(
    tmp_path_factory: pytest.TempPathFactory, kafka_settings: BusSettings
) -> Iterator[tuple[BusSettings, TcpProxy]]:
    """A second Tansu that clients reach only through a ``TcpProxy`` (its advertised
    listener is the proxy), for outage tests: ``cut()`` and ``restore()`` the proxy."""
    if os.environ.get("LOOKOUT_KAFKA_BOOTSTRAP"):
        pytest.skip("outage tests need their own broker behind a proxy")
    broker_port = free_port()
    proxy = TcpProxy("127.0.0.1", broker_port)
    broker = TansuBroker(
        tmp_path_factory.mktemp("tansu-proxied") / "tansu.log",
        port=broker_port,
        advertised_port=proxy.port,
    )
    broker.start()
    proxy.start()
    try:
        yield kafka_settings.model_copy(update={"kafka_bootstrap": proxy.address}), proxy
    finally:
        proxy.stop()
        broker.stop()


@pytest.fixture
def kafka_proxy(proxied_kafka: tuple[BusSettings, TcpProxy]) -> Iterator[TcpProxy]:
    """The proxy of ``proxied_kafka``, restored after the test whatever it cut."""
    _, proxy = proxied_kafka
    proxy.restore()
    try:
        yield proxy
    finally:
        proxy.restore()


@pytest.fixture
def proxied_kafka_settings(
    proxied_kafka: tuple[BusSettings, TcpProxy], kafka_proxy: TcpProxy
) -> BusSettings:
    """Bus settings that reach the proxied Tansu (pair with ``kafka_proxy``)."""
    return proxied_kafka[0]


@pytest.fixture
async def kafka_bus(kafka_settings: BusSettings) -> AsyncIterator[KafkaBus]:
    bus = KafkaBus(kafka_settings, source="/tests")
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


@pytest.fixture
async def memory_bus() -> AsyncIterator[MemoryBus]:
    bus = MemoryBus(source="/tests")
    await bus.start()
    yield bus
    await bus.stop()


@pytest.fixture
def unique() -> str:
    """A fresh suffix for topic and group names, so tests on a shared broker never meet."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    external = os.environ.get("LOOKOUT_DATABASE_URL")
    if external:
        yield external
        return
    with postgres_data_dir() as data_dir:
        server = EmbeddedPostgres(data_dir)
        url = server.start()
        try:
            yield url
        finally:
            server.stop()
