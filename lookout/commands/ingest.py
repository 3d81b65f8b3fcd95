"""``lookout ingest``: AIS feeds (TCP, UDP, capture files) into ais.positions, ais.static,
ais.safety and ais.rejects. The bus is chosen by ``LOOKOUT_BUS`` (memory or kafka)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from api.health import HealthRegistry
from bus import BusSettings
from bus.factory import make_bus
from ingest.decoder import AisDecoder, AisEvent, DecodeStats
from ingest.forward import open_line_sink, parse_target
from ingest.pipeline import run_ingest
from ingest.progress import IngestProgress
from ingest.settings import IngestSettings
from ingest.sources.base import FeedSource
from ingest.sources.file import FileSource
from ingest.sources.tcp import TcpSource
from ingest.sources.udp import UdpSource
from lookout import __version__
from lookout.errors import CommandError
from lookout.services import Service
from lookout.standalone import run_standalone
from schemas.topics import Topic

app = typer.Typer(help="Decode AIS feeds into the bus.", no_args_is_help=True)

INGEST_TOPICS = [Topic.AIS_POSITIONS, Topic.AIS_STATIC, Topic.AIS_SAFETY, Topic.AIS_REJECTS]

SourceName = Annotated[
    str | None, typer.Option("--source", help="Name on every event (default: the feed's URL).")
]


async def _ingest(source: FeedSource) -> DecodeStats:
    bus = make_bus(BusSettings(), source="/lookout/ingest")
    async with bus:
        await bus.ensure_topics(INGEST_TOPICS)
        return await run_ingest(source, bus, IngestSettings())


async def _ingest_live(source: FeedSource) -> None:
    """A live feed as a long-running service: /healthz, /readyz and /metrics on the ops port."""
    settings = IngestSettings()
    progress = IngestProgress(
        source.name,
        quiet_after_s=settings.idle_timeout_s,
        publish_stall_s=settings.publish_stall_s,
        source_facts=getattr(source, "facts", None),
    )
    health = HealthRegistry(__version__)
    health.register("ingest", progress.health)
    health.register_liveness("ingest", progress.liveness)
    bus = make_bus(BusSettings(), source="/lookout/ingest")
    async with bus:
        await bus.ensure_topics(INGEST_TOPICS)

        async def run() -> None:
            await run_ingest(source, bus, settings, progress)

        await run_standalone([Service("ingest", run)], health)


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise typer.BadParameter(f"expected HOST:PORT, got {address!r}")
    return host, int(port)


def render_summary(stats: DecodeStats, console: Console) -> None:
    """Read, decoded by type, rejected by reason: the end-of-run account of every line."""
    table = Table(title="AIS ingest summary", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("lines read", str(stats.lines_read))
    table.add_row("  blank or comment", str(stats.lines_ignored))
    table.add_row("  in typed events", str(stats.lines_decoded))
    table.add_row("  in rejects", str(stats.lines_rejected))
    for msg_type, n in sorted(stats.decoded_by_type.items()):
        table.add_row(f"decoded type {msg_type}", str(n))
    for reason, n in sorted(stats.rejected_by_reason.items()):
        table.add_row(f"rejected: {reason}", str(n))
    console.print(table)


@app.command("file")
def file_(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Capture file.")],
    speed: Annotated[
        float, typer.Option(min=0, help="N = N times the recorded pace; 0 = as fast as possible.")
    ] = 0.0,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="Default: on a terminal.")
    ] = None,
    source: SourceName = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="udp://HOST:PORT|tcp://HOST:PORT",
            help="Send the lines to a running `lookout up` (or any NMEA listener) instead of "
            "publishing them: udp://127.0.0.1:10110 or tcp://127.0.0.1:10110. TCP never "
            "drops; prefer it for large captures.",
        ),
    ] = None,
) -> None:
    """Replay a capture (plain NMEA, NMEA 4.0 tag blocks, or a timestamp column) into the
    bus (LOOKOUT_BUS), or with --to into a running `lookout up`."""
    console = Console()
    show = sys.stdout.isatty() if progress is None else progress
    feed = FileSource(
        path, speed=speed, name=source, max_line_bytes=IngestSettings().max_line_bytes
    )
    if to is not None:
        parse_target(to)  # a malformed --to is refused before anything is read

    def work() -> Coroutine[Any, Any, DecodeStats]:
        return _forward(feed, to) if to is not None else _ingest(feed)

    if not show:
        stats = asyncio.run(work())
    else:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as bar:
            task = bar.add_task(path.name, total=feed.size_bytes)
            advance: Callable[[int], None] = lambda done: bar.update(task, completed=done)  # noqa: E731
            feed.on_progress = advance
            stats = asyncio.run(work())
    render_summary(stats, console)
    if not stats.decoded_by_type:
        rejected = ", ".join(f"{n} {r}" for r, n in sorted(stats.rejected_by_reason.items()))
        raise CommandError(
            f"no AIS in {path}: {stats.lines_read} lines read, none decoded"
            + (f" (rejected: {rejected})" if rejected else "")
            + "; is it an NMEA capture?"
        )
    if to is not None:
        console.print(f"sent {stats.lines_read - stats.lines_ignored} lines to {to}")
    elif BusSettings().bus == "memory":
        console.print(
            "[bold]dry run[/]: LOOKOUT_BUS is memory, so the events were decoded into a "
            "private in-memory bus that ended with this command; nothing was delivered. "
            "To deliver them, send the capture to a running `lookout up` with "
            "--to udp://127.0.0.1:10110 (or tcp://), or publish to Kafka with "
            "LOOKOUT_BUS=kafka and LOOKOUT_KAFKA_BOOTSTRAP."
        )


async def _forward(feed: FileSource, target: str) -> DecodeStats:
    """Send every line of ``feed`` to ``target``, decoding them here too for the summary
    (the receiver decodes and publishes them)."""
    settings = IngestSettings()
    decoder = AisDecoder(
        feed.name,
        settings.fragment_timeout_s,
        max_clock_ahead_s=settings.max_clock_ahead_s,
        max_line_bytes=settings.max_line_bytes,
    )
    sink = await open_line_sink(target)
    scratch: list[AisEvent] = []
    try:
        async for batch in feed.batches():
            decoder.decode_lines(batch.lines, batch.received_at, scratch)
            scratch.clear()
            await sink.send(batch.lines)
    finally:
        await sink.close()
    decoder.flush(datetime.now(UTC), scratch)
    return decoder.stats


@app.command()
def tcp(
    address: Annotated[str, typer.Argument(help="HOST:PORT of the feed, e.g. 153.44.253.27:5631")],
    source: SourceName = None,
) -> None:
    """Connect to a TCP feed and keep reconnecting (capped exponential backoff) forever."""
    host, port = _split_address(address)
    s = IngestSettings()
    feed = TcpSource(
        host,
        port,
        reconnect_initial_s=s.reconnect_initial_s,
        reconnect_max_s=s.reconnect_max_s,
        connect_timeout_s=s.connect_timeout_s,
        idle_timeout_s=s.idle_timeout_s,
        max_line_bytes=s.max_line_bytes,
        name=source,
    )
    asyncio.run(_ingest_live(feed))


@app.command()
def udp(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",
    port: Annotated[int, typer.Option(help="UDP port (10110 is the NMEA-over-IP custom).")] = 10110,
    source: SourceName = None,
) -> None:
    """Listen for NMEA datagrams."""
    asyncio.run(_ingest_live(UdpSource(host, port, name=source)))
