"""``lookout db``: the database schema (numbered SQL migrations in store/migrations)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

import psycopg
import typer
from rich.console import Console

from lookout.command_database import command_database_url
from lookout.errors import CommandError
from store.errors import MigrationError
from store.migrate import migrate_database
from store.settings import StoreSettings

app = typer.Typer(help="Database schema and partitions.", no_args_is_help=True)


@app.command("migrate")
def migrate_command() -> None:
    """Apply pending migrations (idempotent), create partitions ahead, apply retention.
    Reads LOOKOUT_DATABASE_URL."""
    settings = StoreSettings()
    try:
        report = asyncio.run(migrate_database(settings))
    except psycopg.OperationalError as exc:
        raise CommandError(
            f"cannot connect to PostgreSQL at {safe_url(settings.database_url)}: "
            f"{first_line(exc)}; set LOOKOUT_DATABASE_URL to your database (`lookout up` "
            "runs and migrates its own embedded one)"
        ) from None
    except MigrationError as exc:
        raise CommandError(f"migration failed: {exc}") from None
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


@app.command("shell")
def shell_command(
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="Run this SQL and exit (psql -c).")
    ] = None,
    data_dir: Annotated[
        Path, typer.Option(envvar="LOOKOUT_DATA_DIR", help="Data directory of `lookout up`.")
    ] = Path(".lookout"),
) -> None:
    """Open psql on Lookout's database: LOOKOUT_DATABASE_URL when it is set, else the
    embedded PostgreSQL of `lookout up` (database "postgres" on a Unix socket in
    DATA_DIR/postgres; started for the session if `lookout up` is not running)."""
    psql = shutil.which("psql")
    if psql is None:
        raise CommandError(
            "psql is not installed (Debian/Ubuntu: apt-get install postgresql-client); any "
            "PostgreSQL client can connect to the URL `lookout db shell` would use"
        )
    args = [psql, "-X"] + (["-c", command] if command is not None else [])
    with command_database_url(data_dir) as url:
        code = subprocess.call([*args, url])
    raise SystemExit(code)


def safe_url(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
