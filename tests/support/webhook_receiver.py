"""A real HTTP receiver on loopback for webhook tests, scripted per path.

It speaks HTTP/1.1 with keep-alive (h11, the parser under httpx), verifies every request's
Standard Webhooks signature with ``standardwebhooks.Webhook.verify`` when the path has a
secret, records what arrived, and answers what the test scripted: a status and headers,
after a delay, or never (``hold``: the request stays open until the receiver stops, so the
sender's timeout fires).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass, field

import h11
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"ok"
    delay_s: float = 0.0
    hold: bool = False


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float

    @property
    def webhook_id(self) -> str:
        return self.headers.get("webhook-id", "")


@dataclass
class _Path:
    replies: deque[Reply] = field(default_factory=deque)
    default: Reply = field(default_factory=Reply)
    secrets: list[str] = field(default_factory=list)


class WebhookReceiver:
    def __init__(self) -> None:
        self._paths: dict[str, _Path] = {}
        self.received: list[Received] = []
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Condition()
        self._release = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.connections = 0

    async def start(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        self._release.set()
        for writer in list(self._writers):
            writer.transport.abort()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def script(
        self,
        path: str,
        *replies: Reply,
        default: Reply | None = None,
        secrets: list[str] | None = None,
    ) -> None:
        state = self._paths.setdefault(path, _Path())
        state.replies.extend(replies)
        if default is not None:
            state.default = default
        if secrets is not None:
            state.secrets = list(secrets)

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def wait_for(self, path: str, count: int, timeout_s: float = 20.0) -> list[Received]:
        """Wait until ``path`` has received ``count`` requests."""

        def enough() -> bool:
            return len(self.at(path)) >= count

        async with asyncio.timeout(timeout_s), self._arrived:
            await self._arrived.wait_for(enough)
        return self.at(path)

    def _verify(self, state: _Path, body: bytes, headers: dict[str, str]) -> bool:
        for secret in state.secrets:
            try:
                Webhook(secret).verify(body, headers, json_parse=False)
                return True
            except WebhookVerificationError:
                continue
        return False

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request: h11.Request | None = None
                body = b""
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        data = await reader.read(65536)
                        conn.receive_data(data)
                        if not data and conn.their_state is not h11.DONE:
                            return
                        continue
                    if isinstance(event, h11.Request):
                        request = event
                    elif isinstance(event, h11.Data):
                        body += bytes(event.data)
                    elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                        break
                if request is None:
                    return
                await self._answer(conn, writer, request, body)
                if conn.our_state is not h11.DONE:  # held, never answered, or must close
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.RemoteProtocolError, asyncio.CancelledError):
            return
        finally:
            self._writers.discard(writer)
            writer.transport.abort()

    async def _answer(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        request: h11.Request,
        body: bytes,
    ) -> None:
        path = request.target.decode()
        headers = {k.decode().lower(): v.decode() for k, v in request.headers}
        state = self._paths.setdefault(path, _Path())
        reply = state.replies.popleft() if state.replies else state.default
        received = Received(path, headers, body, self._verify(state, body, headers), time.time())
        async with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        if reply.hold:
            await self._release.wait()
            return
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        out = [
            *reply.headers,
            ("content-length", str(len(reply.body))),
        ]
        writer.write(conn.send(h11.Response(status_code=reply.status, headers=out)) or b"")
        writer.write(conn.send(h11.Data(data=reply.body)) or b"")
        writer.write(conn.send(h11.EndOfMessage()) or b"")
        await writer.drain()
