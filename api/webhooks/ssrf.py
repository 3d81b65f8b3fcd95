"""The SSRF guard: a webhook URL may only reach public addresses.

A subscriber chooses the URL, so without a guard the dispatcher would POST wherever it is
told: the metadata service at 169.254.169.254, the database on 10.0.0.5, the broker on
loopback. The guard decides, per connection:

1. the host is an IP literal in its one canonical form, or a name. Numeric forms that the
   C resolver also accepts (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``0``)
   are refused outright: they exist to slip past checks written against dotted quads;
2. a name is resolved **once** (the resolver is injectable, so tests never touch DNS);
3. every answer is checked; if **any** is refused the whole target is refused (a name with
   one public and one private answer is an attack, not a misconfiguration);
4. the connection goes to the address that was checked, never to a second resolution, so
   a name whose answer changes between the check and the connection (DNS rebinding) cannot
   reach what the check refused. TLS still verifies the certificate for the host name and
   sends it as SNI, and the Host header stays the URL's: the guard sits below HTTP, in the
   network backend that opens sockets (``GuardedBackend``).

Refused: anything ``ipaddress`` calls non-global, plus our own deny-list (``ipaddress``
misses some IPv6 ranges, and the v4 address embedded in IPv4-mapped, IPv4-compatible,
6to4, Teredo and NAT64 addresses is checked like a v4 address). Redirects are never
followed (the client is built with ``follow_redirects=False``; a 3xx is a failed attempt).

``LOOKOUT_WEBHOOK_ALLOW_CIDRS`` admits internal targets explicitly (empty by default); the
tests allow 127.0.0.0/8 that way.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]
"""``(host, port) -> addresses``; the default asks the system resolver (getaddrinfo)."""


class SsrfRefused(Exception):
    """The target may not be reached; ``reason`` says why, in words for a 4xx body."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _nets(*cidrs: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


# IANA special-purpose registries (RFC 6890 and successors), kept here because
# ipaddress's is_global has missed ranges in several Python releases (3fff::/20 of RFC 9637,
# 5f00::/16 SRv6, NAT64 local-use 64:ff9b:1::/48, the 6to4 relay anycast 192.88.99.0/24).
DENIED_V4 = _nets(
    "0.0.0.0/8",  # "this network"; 0.0.0.0 reaches the local host on Linux
    "10.0.0.0/8",
    "100.64.0.0/10",  # CGNAT shared address space (RFC 6598)
    "127.0.0.0/8",
    "169.254.0.0/16",  # link-local, cloud metadata services
    "172.16.0.0/12",
    "192.0.0.0/24",  # IETF protocol assignments
    "192.0.2.0/24",
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated, RFC 7526)
    "192.168.0.0/16",
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and 255.255.255.255
)
DENIED_V6 = _nets(
    "::/128",
    "::1/128",
    "::/96",  # IPv4-compatible (deprecated): refused whatever it embeds
    "100::/64",  # discard-only
    "2001::/23",  # IETF protocol assignments (Teredo 2001::/32 is checked below too)
    "2001:db8::/32",  # documentation
    "3fff::/20",  # documentation (RFC 9637)
    "5f00::/16",  # SRv6 SIDs
    "64:ff9b:1::/48",  # NAT64 local use (RFC 8215)
    "fc00::/7",  # unique local
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local (deprecated)
    "ff00::/8",  # multicast
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_TEREDO = ipaddress.ip_network("2001::/32")

# Numeric host forms the C library's inet_aton accepts: one to four parts, each decimal,
# octal (leading 0) or hexadecimal (0x).
_LEGACY_V4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$", re.IGNORECASE)


def parse_allow_cidrs(text: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """Networks from a comma-separated string (the environment form) or an iterable."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in parts if p.strip())


def _legacy_v4(host: str) -> ipaddress.IPv4Address | None:
    """What inet_aton would make of ``host``, if it is one of its numeric forms."""
    if not _LEGACY_V4.match(host):
        return None
    parts = host.rstrip(".").split(".")
    values = []
    for part in parts:
        low = part.lower()
        if low.startswith("0x"):
            values.append(int(low[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if not set(part) <= set("01234567"):
                return None
            values.append(int(part, 8))
        else:
            values.append(int(part))
    # The last part fills the remaining bytes (a.b.c.d, a.b.c16, a.b24, a32).
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = 0
    for v in head:
        number = number << 8 | v
    number = number << (8 * (4 - len(head))) | last
    return ipaddress.IPv4Address(number)


def host_literal(host: str) -> IPAddress | None:
    """The address ``host`` names when it is an IP literal in canonical form; None for a
    name. Raises ``SsrfRefused`` for numeric forms that are not canonical, and for IPv6
    zone ids (``fe80::1%eth0``)."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if "%" in bare:
        raise SsrfRefused(f"host {host!r} carries an IPv6 zone id")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    legacy = _legacy_v4(bare)
    if legacy is not None:
        raise SsrfRefused(
            f"host {host!r} is a numeric IPv4 address in a non-canonical form ({legacy}); "
            "write addresses as dotted quads"
        )
    if bare.replace(".", "").isdigit():
        raise SsrfRefused(f"host {host!r} is neither an IP address nor a name")
    return None


def embedded_v4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo server and client,
    NAT64 well-known prefix): each is checked like a v4 address."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address in _TEREDO and address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF))
    return found


class AddressPolicy:
    """Which addresses a webhook may reach: global ones, and those the allowlist names."""

    def __init__(self, allow: Iterable[IPNetwork] = ()) -> None:
        self.allow = tuple(allow)

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.allow)

    def refusal(self, address: IPAddress) -> str | None:
        """Why ``address`` is refused, or None when it may be reached."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped  # ::ffff:a.b.c.d is a.b.c.d on a dual stack
        if self._allowed(address):
            return None
        denied = DENIED_V4 if isinstance(address, ipaddress.IPv4Address) else DENIED_V6
        for net in denied:
            if address in net:
                return f"{address} is in {net}, which webhooks may not reach"
        for inner in embedded_v4(address):
            why = self.refusal(inner)
            if why is not None:
                return f"{address} embeds {inner}: {why}"
        if not address.is_global:
            return f"{address} is not a global address"
        return None

    def check(self, addresses: Sequence[IPAddress], host: str) -> None:
        if not addresses:
            raise SsrfRefused(f"{host!r} has no address")
        for address in addresses:
            why = self.refusal(address)
            if why is not None:
                raise SsrfRefused(f"{host!r} resolves to {address}: {why}")


async def system_resolver(host: str, port: int) -> Sequence[IPAddress]:
    """Addresses of ``host`` from the system resolver, in its order, without duplicates."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except socket.gaierror as exc:
        raise SsrfRefused(f"{host!r} does not resolve: {exc.strerror}") from exc
    seen: dict[IPAddress, None] = {}
    for *_, sockaddr in infos:
        seen[ipaddress.ip_address(str(sockaddr[0]).split("%")[0])] = None
    return list(seen)


class SsrfGuard:
    """Resolve once, check every answer, hand back the checked addresses."""

    def __init__(self, policy: AddressPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolver = resolver

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        literal = host_literal(host)
        if literal is not None:
            found: list[IPAddress] = [literal]
        else:
            found = list(await self.resolver(host.rstrip("."), port))
        self.policy.check(found, host)
        return found

    async def check_url(self, url: str) -> list[IPAddress]:
        """The checks a subscription URL must pass when it is created (and each delivery
        repeats below, at connection time)."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise SsrfRefused(f"not a valid URL: {exc}") from exc
        if parts.scheme not in ("http", "https"):
            raise SsrfRefused("the URL must be http:// or https://")
        if not parts.hostname:
            raise SsrfRefused("the URL has no host")
        if parts.username or parts.password:
            raise SsrfRefused("credentials in the URL are not accepted")
        return await self.addresses(
            parts.hostname, port or (443 if parts.scheme == "https" else 80)
        )


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard in ``connect_tcp``: the connection goes to
    an address that was just resolved and checked. ``inner`` opens the socket (tests wrap
    it to record every connection)."""

    def __init__(self, guard: SsrfGuard, inner: httpcore.AsyncNetworkBackend | None = None):
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.guard.addresses(host, port)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise SsrfRefused("webhooks never connect to Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport whose connection pool opens sockets through ``GuardedBackend``.

    httpx (0.28) has no public way to pass a network backend, so the pool it builds is
    replaced by an identical one with ours; ``tests/api/webhooks/test_ssrf.py`` fails if a
    later httpx stops routing connections through it."""

    def __init__(
        self,
        backend: GuardedBackend,
        *,
        limits: httpx.Limits,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        ssl_context = ssl_context or default_ssl_context()
        super().__init__(verify=ssl_context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """One verifying context for every client: loading the CA bundle costs tens of ms."""
    return httpx.create_ssl_context(trust_env=False)


def guarded_client(
    guard: SsrfGuard,
    *,
    timeout_s: float,
    max_connections: int,
    inner: httpcore.AsyncNetworkBackend | None = None,
) -> httpx.AsyncClient:
    """The shared, pooled client every delivery goes through: guarded sockets, no redirects,
    no proxies or .netrc from the environment."""
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    transport = GuardedTransport(GuardedBackend(guard, inner), limits=limits)
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(timeout_s),
        follow_redirects=False,
        trust_env=False,
    )
