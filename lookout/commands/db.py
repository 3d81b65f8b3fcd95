"""``lookout db``: the database schema (numbered SQL migrations in store/migrations)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console

from store.migrate import migrate_database
from store.settings import StoreSettings

app = typer.Typer(help="Database schema and partitions.", no_args_is_help=True)


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending migrations (idempotent), create partitions ahead, apply retention.
    Reads LOOKOUT_DATABASE_URL."""
    report = asyncio.run(migrate_database(StoreSettings()))
    console = Console()
    console.print(f"time series: [bold]{report.backend.value}[/]")
    if report.applied:
        for label in report.applied:
            console.print(f"applied {label}")
    else:
        console.print("schema up to date")
    console.print(
        f"partitions created: {report.partitions_created}; "
        f"dropped past retention: {len(report.partitions_dropped)}"
    )
