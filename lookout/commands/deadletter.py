"""``lookout deadletter``: the records consumers could not use, and their replay."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

import typer
from aiokafka.errors import KafkaError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from bus import BusSettings
from bus.base import BusError
from bus.deadletter import ReplayReport, replay_dead_letters
from bus.factory import make_bus
from lookout.errors import CommandError
from schemas.topics import Topic

app = typer.Typer(help="The dead-letter topic: what consumers could not use.", no_args_is_help=True)


async def _replay(
    settings: BusSettings, group: str, topic: str, progress: Progress
) -> ReplayReport:
    task = progress.add_task("replaying", total=None)

    def shown(report: ReplayReport) -> None:
        progress.update(task, description=f"replayed {sum(report.replayed.values()):,}")

    async with make_bus(settings, source="/lookout/deadletter") as bus:
        return await replay_dead_letters(bus, group=group, topic=topic, on_progress=shown)


@app.command("replay")
def replay_command(
    group: Annotated[
        str,
        typer.Option(help="Consumer group that remembers what was replayed already."),
    ] = "lookout-deadletter-replay",
    topic: Annotated[str, typer.Option(help="The dead-letter topic.")] = Topic.DEADLETTER.value,
) -> None:
    """Publish every dead letter not yet replayed back to its original topic (dlq_topic),
    with its original key, bytes and headers. Run it once the cause is mended: a record
    that fails again is dead-lettered again, with the newest reason."""
    settings = BusSettings()
    if settings.bus != "kafka":
        raise CommandError(
            "the dead-letter topic lives on Kafka: set LOOKOUT_BUS=kafka and "
            "LOOKOUT_KAFKA_BOOTSTRAP (the in-memory bus of `lookout up` ends with its process)"
        )
    console = Console(stderr=True)
    # aiokafka logs each failed connection attempt itself; a failure is reported below.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            console=console,
            disable=not console.is_terminal,
        ) as bar:
            report = asyncio.run(_replay(settings, group, topic, bar))
    except (BusError, KafkaError, OSError) as exc:
        raise CommandError(
            f"cannot replay from Kafka at {settings.kafka_bootstrap}: {type(exc).__name__}"
        ) from None
    table = Table("original topic", "records replayed", title=f"replayed from {topic}")
    for original, count in sorted(report.replayed.items()):
        table.add_row(original, f"{count:,}")
    Console().print(table if report.replayed else "nothing to replay")
    if report.not_dead_letters:
        console.print(f"{report.not_dead_letters} records without a dlq_topic header were left")
