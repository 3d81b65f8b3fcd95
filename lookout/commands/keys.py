"""``lookout keys``: API keys per agency (create, list, revoke). Talks to
LOOKOUT_DATABASE_URL, else to the embedded database of `lookout up` (running or not), as
the schema's owner: the API's own role cannot see keys."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from lookout.command_database import command_database_url
from store.api_keys import KeyInfo, NewKey, Role, create_key, list_keys, revoke_key
from store.db import Conn, connect
from store.errors import QueryError
from store.settings import StoreSettings

app = typer.Typer(help="API keys per agency.", no_args_is_help=True)
T = TypeVar("T")
AGENCY_CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
DataDir = Annotated[
    Path,
    typer.Option(
        envvar="LOOKOUT_DATA_DIR",
        help="Data directory of `lookout up` (used when LOOKOUT_DATABASE_URL is not set).",
    ),
]


def _fail(message: str) -> typer.Exit:
    Console(stderr=True).print(f"[red]error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


def _run(work: Callable[[Conn], Awaitable[T]], data_dir: Path) -> T:
    settings = StoreSettings()

    async def go(url: str) -> T:
        async with await connect(
            url, connect_timeout_s=settings.database_connect_timeout_s
        ) as conn:
            return await work(conn)

    try:
        with command_database_url(data_dir) as url:
            return asyncio.run(go(url))
    except QueryError as exc:
        raise _fail(str(exc)) from None
    except psycopg.errors.UndefinedTable:
        raise _fail("the database has no schema yet: run `lookout db migrate` first") from None
    except psycopg.Error as exc:
        raise _fail(f"database: {str(exc).strip().splitlines()[0]}") from None


@app.command("create")
def create_command(
    agency: Annotated[str, typer.Option(help="Agency code, e.g. BAKAMLA (created if new).")],
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    label: Annotated[str, typer.Option(help="A note to recognise the key by.")] = "",
    data_dir: DataDir = Path(".lookout"),
) -> None:
    """Create a key and print it once (only its hash is kept)."""
    if not AGENCY_CODE.match(agency):
        raise _fail(f"agency code {agency!r}: 1-64 letters, digits or _ . : -")
    new: NewKey = _run(lambda conn: create_key(conn, agency, role, label), data_dir)
    console = Console()
    console.print(f"key id {new.key_id}, agency {new.agency_id}, role {new.role.value}")
    console.print("the key (shown once; store it now):", style="bold")
    typer.echo(new.secret)


@app.command("list")
def list_command(
    agency: Annotated[str | None, typer.Option(help="Only this agency's keys.")] = None,
    data_dir: DataDir = Path(".lookout"),
) -> None:
    """Every key: id, agency, role, prefix, when created, last used, revoked."""
    keys: list[KeyInfo] = _run(lambda conn: list_keys(conn, agency), data_dir)
    table = Table("key id", "agency", "role", "prefix", "label", "created", "last used", "revoked")
    for k in keys:
        table.add_row(
            str(k.key_id),
            k.agency_id,
            k.role.value,
            k.key_prefix,
            k.label,
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "",
        )
    Console().print(table)


@app.command("revoke")
def revoke_command(
    key: Annotated[str, typer.Argument(help="Key id, or the prefix `lookout keys list` shows.")],
    data_dir: DataDir = Path(".lookout"),
) -> None:
    """Revoke a key: the API refuses it from the next request on."""
    info: KeyInfo = _run(lambda conn: revoke_key(conn, key), data_dir)
    Console().print(f"revoked {info.key_id} ({info.agency_id}, {info.role.value})")
