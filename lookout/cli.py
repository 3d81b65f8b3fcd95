"""The ``lookout`` command. Every service is a subcommand; ``lookout up`` runs them all."""

from __future__ import annotations

import asyncio
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from bus.base import BusUnavailableError
from ingest.errors import SourceError
from lookout import __version__
from lookout.commands.config import app as config_app
from lookout.commands.db import app as db_app
from lookout.commands.deadletter import app as deadletter_app
from lookout.commands.dispatch import dispatch_command
from lookout.commands.fusion import fusion_command
from lookout.commands.ingest import app as ingest_app
from lookout.commands.keys import app as keys_app
from lookout.commands.sink import sink_command
from lookout.errors import CommandError
from lookout.logging import configure_logging

app = typer.Typer(
    name="lookout",
    help="Lookout: a maritime situational-awareness fusion center.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

app.add_typer(ingest_app, name="ingest", help="Decode AIS feeds (TCP, UDP, files) into the bus.")
app.add_typer(db_app, name="db", help="Database schema: migrations and partitions.")
app.add_typer(
    deadletter_app, name="deadletter", help="Records consumers could not use; replay them."
)
app.add_typer(keys_app, name="keys", help="API keys per agency: create, list, revoke.")
app.command("sink")(sink_command)
app.command("dispatch")(dispatch_command)
app.command("fusion")(fusion_command)
app.add_typer(config_app, name="config", help="Zones and watchlist onto the config topics.")


@app.callback()
def main(
    log_level: Annotated[str, typer.Option(envvar="LOOKOUT_LOG_LEVEL")] = "INFO",
    log_json: Annotated[
        bool | None, typer.Option("--log-json/--log-console", help="Default: JSON if not a tty.")
    ] = None,
) -> None:
    configure_logging(log_level, log_json)


@app.command()
def up(
    data_dir: Annotated[
        Path, typer.Option(envvar="LOOKOUT_DATA_DIR", help="Embedded PostgreSQL data.")
    ] = Path(".lookout"),
    host: Annotated[str, typer.Option(envvar="LOOKOUT_API_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="LOOKOUT_API_PORT")] = 8000,
    demo: Annotated[bool, typer.Option("--demo/--no-demo", envvar="LOOKOUT_DEMO")] = True,
) -> None:
    """Run everything in one process: embedded PostgreSQL, in-memory bus, demo feed, API."""
    from api.settings import ApiSettings
    from lookout.data_dir_lock import DataDirLock
    from lookout.ports import check_free
    from lookout.settings import UpSettings
    from lookout.up import listeners, run_embedded

    settings = UpSettings(data_dir=data_dir, demo=demo)
    api_settings = ApiSettings(api_host=host, api_port=port)
    lock = DataDirLock(settings.data_dir)
    lock.acquire()  # before anything starts: a second `lookout up` here stops now
    try:
        check_free(listeners(settings, api_settings))
        asyncio.run(run_embedded(settings, api_settings))
    finally:
        lock.release()


@app.command()
def api(
    host: Annotated[str, typer.Option(envvar="LOOKOUT_API_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="LOOKOUT_API_PORT")] = 8000,
) -> None:
    """Serve the HTTP API alone (distributed mode; reads LOOKOUT_DATABASE_URL)."""
    from lookout.serve_api import serve_api

    asyncio.run(serve_api(host, port))


class SettingsFormat(StrEnum):
    table = "table"
    env = "env"
    markdown = "markdown"


@app.command()
def settings(
    format_: Annotated[
        SettingsFormat | None,
        typer.Option(
            "--format",
            help="table (default on a terminal), env (default when piped: a commented "
            ".env file), or markdown (the README's table).",
        ),
    ] = None,
) -> None:
    """List every LOOKOUT_* environment variable with its default and meaning."""
    import shutil

    from rich.console import Console
    from rich.markup import escape
    from rich.padding import Padding
    from rich.table import Table

    from lookout.settings_catalog import catalog, env_file, markdown_table

    chosen = format_ or (SettingsFormat.table if sys.stdout.isatty() else SettingsFormat.env)
    if chosen is SettingsFormat.env:
        typer.echo(env_file())
        return
    if chosen is SettingsFormat.markdown:
        typer.echo(markdown_table())
        return
    docs = catalog()
    longest = max(len(doc.env) for doc in docs)
    # Names are never cut. Piped, there is no terminal width to respect: the table is as
    # wide as it needs. A terminal too narrow for four columns gets one block per variable.
    width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160
    console = Console(width=width)
    if width < longest + 60:
        for doc in docs:
            console.print(
                f"[bold]{doc.env}[/]  default [cyan]{escape(doc.default)}[/]  ({doc.owner})",
                overflow="fold",
            )
            console.print(Padding(escape(doc.description), (0, 0, 1, 4)))
        return
    table = Table(show_lines=False, expand=False)
    table.add_column("variable", no_wrap=True, min_width=longest)
    table.add_column("default", overflow="fold")
    table.add_column("meaning", ratio=3)
    table.add_column("read by", overflow="fold")
    for doc in docs:
        table.add_row(doc.env, doc.default, doc.description, doc.owner)
    console.print(table)


@app.command()
def version() -> None:
    """Print Lookout's version."""
    typer.echo(__version__)


def run() -> None:
    """The ``lookout`` entry point: a bad setting is the user's mistake, so it gets one
    clear line per problem and exit code 2, not a traceback."""
    from pydantic import ValidationError

    try:
        app()
    except (CommandError, SourceError, BusUnavailableError) as exc:
        typer.echo(f"lookout: {exc}", err=True)
        raise SystemExit(1) from None
    except ValidationError as exc:
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"])
            where = f"LOOKOUT_{field.upper()}" if field else exc.title
            typer.echo(f"lookout: invalid setting {where}: {error['msg']}", err=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    run()
