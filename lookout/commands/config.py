"""``lookout config load FILE``: zones (GeoJSON) and watchlist entries (CSV or JSON) onto
the compacted config topics, which fusion reads live."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bus import BusSettings
from bus.base import Outgoing
from bus.factory import make_bus
from fusion.config_files import Loaded, load_file
from schemas.topics import Topic

app = typer.Typer(help="Zones and watchlist: validate and publish.", no_args_is_help=True)


async def publish(loaded: Loaded) -> None:
    bus = make_bus(BusSettings(), source="/lookout/config")
    async with bus:
        await bus.ensure_topics([Topic.CONFIG_GEOFENCES, Topic.CONFIG_WATCHLIST])
        await bus.publish_many(
            [Outgoing(Topic.CONFIG_GEOFENCES, z.geofence_id, z) for z in loaded.zones]
            + [Outgoing(Topic.CONFIG_WATCHLIST, e.entry_id, e) for e in loaded.entries]
        )


@app.command("load")
def load(
    files: Annotated[list[Path], typer.Argument(help="GeoJSON zones, CSV or JSON watchlist.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
) -> None:
    """Validate FILES and publish their zones and entries (nothing if any is invalid)."""
    now = datetime.now(UTC)
    total = Loaded()
    for path in files:
        if path.is_dir():
            total.problems.append(f"{path}: a directory, not a file")
            continue
        if not path.is_file():
            total.problems.append(f"{path}: no such file")
            continue
        try:
            loaded = load_file(path, now)
        except (OSError, UnicodeDecodeError) as exc:
            total.problems.append(f"{path}: {exc}")
            continue
        total.zones += loaded.zones
        total.entries += loaded.entries
        total.problems += [f"{path.name}: {p}" for p in loaded.problems]
    if total.problems:
        for problem in total.problems:
            typer.echo(problem, err=True)
        typer.echo(f"{len(total.problems)} problem(s); nothing published", err=True)
        raise typer.Exit(1)
    if not dry_run:
        asyncio.run(publish(total))
    verb = "valid" if dry_run else "published"
    typer.echo(f"{len(total.zones)} zone(s), {len(total.entries)} watchlist entr(ies) {verb}")
