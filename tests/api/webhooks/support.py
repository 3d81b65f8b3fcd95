"""Shared pieces of the webhook tests: a scripted resolver and a recording socket opener."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore

from api.webhooks.ssrf import IPAddress, SsrfRefused


class ScriptedResolver:
    """Answers from a script, per name: each call pops the next answer (the last repeats),
    and every question is recorded. No DNS is ever asked."""

    def __init__(self, answers: dict[str, Sequence[Sequence[str]]]) -> None:
        self.answers = {name: [list(a) for a in seq] for name, seq in answers.items()}
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        self.asked.append(host)
        script = self.answers.get(host)
        if not script:
            raise SsrfRefused(f"{host!r} does not resolve")
        answer = script.pop(0) if len(script) > 1 else script[0]
        return [ipaddress.ip_address(a) for a in answer]


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Opens real sockets, but only to loopback: anything else fails the test loudly
    (these machines must never send a packet elsewhere), and every attempt is recorded."""

    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        if not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"a connection to {host} was attempted")
        return await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AssertionError("unix socket")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
