"""The embedded default: every service in one process over the in-memory bus, with an
embedded PostgreSQL whose data survives restarts, and the API on loopback.

Each later service adds itself to ``build_services``; nothing else needs to change.
"""

from __future__ import annotations

import asyncio
import functools
from contextlib import ExitStack
from datetime import UTC, datetime

import structlog

from api.app import create_app
from api.db import ApiDatabase
from api.health import HealthRegistry
from api.settings import ApiSettings, api_database_url
from api.webhooks.dispatcher import Dispatcher
from api.webhooks.settings import WebhookSettings
from bus.memory import MemoryBus
from fusion.cells.service import CellService
from fusion.checkpoint import MemoryCheckpointStore
from fusion.service import FusionService
from fusion.settings import FusionSettings
from ingest.demo import demo_scenario, run_demo_feed
from ingest.pipeline import run_ingest
from ingest.progress import IngestProgress
from ingest.settings import IngestSettings
from ingest.sources.base import FeedSource
from ingest.sources.tcp_listener import TcpListenSource
from ingest.sources.udp import UdpSource
from lookout import __version__
from lookout.checks import database_check
from lookout.demo_config import publish_demo_config, publish_demo_sightings
from lookout.http import http_service
from lookout.ports import Listener
from lookout.sea_router import sea_router
from lookout.services import Service, run_services
from lookout.settings import UpSettings
from schemas.health import ComponentHealth
from schemas.topics import Topic
from store.embedded import EmbeddedPostgres
from store.migrate import migrate_database
from store.settings import StoreSettings
from store.sink import StoreSink

log = structlog.get_logger(__name__)


def build_services(
    bus: MemoryBus, database_url: str, health: HealthRegistry, settings: UpSettings
) -> list[Service]:
    """Every service that exists so far, wired to one bus and one database."""
    services: list[Service] = []
    ingest_settings = IngestSettings()
    if settings.demo:

        async def demo() -> None:
            scenario = await asyncio.to_thread(demo_scenario, datetime.now(UTC))
            await publish_demo_config(bus, scenario)
            await publish_demo_sightings(bus, scenario, database_url)
            await run_demo_feed(bus, ingest_settings, scenario)

        services.append(Service("ingest-demo", demo))
    feeds: list[tuple[str, FeedSource]] = []
    if settings.nmea_udp_port:
        feeds.append(("ingest-udp", UdpSource(settings.nmea_host, settings.nmea_udp_port)))
    if settings.nmea_tcp_port:
        tcp = TcpListenSource(
            settings.nmea_host,
            settings.nmea_tcp_port,
            max_line_bytes=ingest_settings.max_line_bytes,
        )
        feeds.append(("ingest-tcp", tcp))
    for name, feed in feeds:
        # A listener is quiet until something sends: that is not a fault.
        progress = IngestProgress(
            feed.name,
            name=name,
            quiet_after_s=float("inf"),
            publish_stall_s=ingest_settings.publish_stall_s,
            source_facts=getattr(feed, "facts", None),
        )
        health.register(name, progress.health)
        health.register_liveness(name, progress.liveness)
        services.append(
            Service(name, functools.partial(_listen, feed, bus, ingest_settings, progress))
        )
    # The memory bus forgets its offsets when the process ends; so do these checkpoints.
    fusion_settings = FusionSettings()
    checkpoints = MemoryCheckpointStore()
    fusion = FusionService(bus, fusion_settings, checkpoints)
    health.register("fusion", fusion.health)
    services.append(Service("fusion", fusion.run))
    cells = CellService(bus, fusion_settings, checkpoints)
    health.register("fusion-cells", cells.health)
    services.append(Service("fusion-cells", cells.run))
    sink = StoreSink(bus, StoreSettings(database_url=database_url))
    health.register("store-sink", sink.readiness)
    health.register_liveness("store-sink", sink.liveness)
    services.append(Service("store-sink", sink.run))
    dispatcher = Dispatcher(bus, WebhookSettings(), database_url)
    health.register("webhook-dispatcher", dispatcher.health)
    health.register_liveness("webhook-dispatcher", dispatcher.liveness)
    services.append(Service("webhook-dispatcher", dispatcher.run))
    return services


async def _listen(
    feed: FeedSource, bus: MemoryBus, settings: IngestSettings, progress: IngestProgress
) -> None:
    await run_ingest(feed, bus, settings, progress)


def listeners(settings: UpSettings, api: ApiSettings) -> list[Listener]:
    """Every address ``lookout up`` will listen on, for the check before it starts."""
    return [
        Listener("the API (--port, LOOKOUT_API_PORT)", "tcp", api.api_host, api.api_port),
        Listener(
            "NMEA datagrams (LOOKOUT_NMEA_UDP_PORT)",
            "udp",
            settings.nmea_host,
            settings.nmea_udp_port,
        ),
        Listener(
            "NMEA connections (LOOKOUT_NMEA_TCP_PORT)",
            "tcp",
            settings.nmea_host,
            settings.nmea_tcp_port,
        ),
    ]


async def run_embedded(settings: UpSettings, api: ApiSettings) -> None:
    with ExitStack() as stack:
        database_url = settings.database_url
        if database_url is None:
            postgres = EmbeddedPostgres(settings.data_dir / "postgres")
            database_url = postgres.start()
            stack.callback(postgres.stop)
        await migrate_database(StoreSettings(database_url=database_url))

        bus = MemoryBus(source="/lookout/up")
        await bus.start()
        await bus.ensure_topics(list(Topic))

        health = HealthRegistry(__version__)

        async def bus_health() -> ComponentHealth:
            return ComponentHealth(name="bus", status="ok", detail="in-memory")

        health.register("bus", bus_health)
        health.register("database", database_check(database_url))

        services = [
            *build_services(bus, database_url, health, settings),
            http_service(
                "api",
                create_app(
                    health,
                    database=ApiDatabase(api_database_url(database_url, api), api),
                    bus=bus,
                    settings=api,
                    route_finder=sea_router,
                ),
                api.api_host,
                api.api_port,
            ),
        ]
        log.info(
            "lookout up",
            api=f"http://{api.api_host}:{api.api_port}",
            nmea_udp=f"{settings.nmea_host}:{settings.nmea_udp_port}"
            if settings.nmea_udp_port
            else "off",
            nmea_tcp=f"{settings.nmea_host}:{settings.nmea_tcp_port}"
            if settings.nmea_tcp_port
            else "off",
            data_dir=str(settings.data_dir),
            services=[s.name for s in services],
        )
        try:
            await run_services(services)
        finally:
            await bus.stop()
