"""Which database a one-off command (`lookout db shell`, `lookout keys`) talks to:
LOOKOUT_DATABASE_URL when it is set, else the embedded PostgreSQL of `lookout up` in the
data directory, the running one's socket or, when no `lookout up` runs, that database
started for the command (and the data directory locked meanwhile, so no `lookout up`
starts on it halfway)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lookout.data_dir_lock import DataDirLock
from lookout.errors import CommandError
from store.embedded import EmbeddedPostgres


@contextmanager
def command_database_url(data_dir: Path) -> Iterator[str]:
    configured = os.environ.get("LOOKOUT_DATABASE_URL")
    if configured:
        yield configured
        return
    lock = DataDirLock(data_dir)
    postgres = EmbeddedPostgres(data_dir / "postgres")
    if lock.is_held_elsewhere():  # `lookout up` runs it: connect to its socket
        yield f"postgresql://postgres@/postgres?host={postgres.data_dir}"
        return
    if not (postgres.data_dir / "PG_VERSION").exists():
        raise CommandError(
            f"no embedded database in {data_dir} yet: run `lookout up` once, or set "
            "LOOKOUT_DATABASE_URL"
        )
    lock.acquire()
    try:
        url = postgres.start()
        try:
            yield url
        finally:
            postgres.stop()
    finally:
        lock.release()
