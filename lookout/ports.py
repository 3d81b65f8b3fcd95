"""Is a port free? Checked before anything starts, so a port in use is one clear line,
not a failure found after PostgreSQL and every service came up."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from lookout.errors import CommandError


@dataclass(frozen=True)
class Listener:
    what: str
    """What would listen there, and the setting that moves it, e.g. 'the API (--port)'."""
    protocol: str
    """'tcp' or 'udp'."""
    host: str
    port: int


def check_free(listeners: list[Listener]) -> None:
    """Bind each address as its server would (SO_REUSEADDR for TCP, as asyncio and uvicorn
    do, so connections lingering in TIME_WAIT do not count); raise ``CommandError`` for
    the first that cannot be bound."""
    for listener in listeners:
        if listener.port == 0:
            continue
        kind = socket.SOCK_STREAM if listener.protocol == "tcp" else socket.SOCK_DGRAM
        family = socket.AF_INET6 if ":" in listener.host else socket.AF_INET
        with socket.socket(family, kind) as probe:
            if kind == socket.SOCK_STREAM:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((listener.host, listener.port))
            except OSError as exc:
                raise CommandError(
                    f"{listener.protocol.upper()} port {listener.port} on {listener.host} "
                    f"for {listener.what} is not free ({exc.strerror or exc}); stop what "
                    "uses it or choose another port"
                ) from None
