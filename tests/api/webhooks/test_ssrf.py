"""The SSRF guard refuses every way of naming an internal address, before any connection.

The resolver is injected (no DNS) and sockets open through a recording backend that
fails the test on any non-loopback address, so the assertions "refused" and "no
connection" are both checked, and nothing ever leaves this machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from api.webhooks.delivery import attempt
from api.webhooks.ssrf import (
    AddressPolicy,
    SsrfGuard,
    SsrfRefused,
    guarded_client,
    host_literal,
    parse_allow_cidrs,
)
from tests.api.webhooks.support import RecordingBackend, ScriptedResolver
from tests.support.webhook_receiver import Reply, WebhookReceiver

LOOPBACK = parse_allow_cidrs("127.0.0.0/8")


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = await WebhookReceiver().start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.mark.parametrize(
    ("host", "means"),
    [
        ("2130706433", "127.0.0.1"),  # decimal
        ("0177.0.0.1", "127.0.0.1"),  # octal
        ("0x7f.0.0.1", "127.0.0.1"),  # hexadecimal
        ("127.1", "127.0.0.1"),  # short form
        ("0", "0.0.0.0"),
        ("017700000001", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
    ],
)
def test_numeric_hosts_in_non_canonical_forms_are_refused(host: str, means: str) -> None:
    with pytest.raises(SsrfRefused, match=f"non-canonical form \\({means}\\)"):
        host_literal(host)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "0.0.0.0",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",  # CGNAT
        "169.254.169.254",  # cloud metadata
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.0.8",
        "198.18.0.1",
        "192.88.99.1",
        "::",
        "::1",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-compatible
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::1",  # NAT64 local use
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "fd00::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "3fff::1",  # RFC 9637 documentation, missed by older ipaddress
        "5f00::1",
        "100::1",
    ],
)
def test_internal_and_special_addresses_are_refused(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert AddressPolicy().refusal(ipaddress.ip_address(address)) is None


def test_the_allowlist_admits_loopback_and_its_mapped_form_only() -> None:
    policy = AddressPolicy(LOOPBACK)
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:127.0.0.1")) is None
    assert policy.refusal(ipaddress.ip_address("10.0.0.1")) is not None


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433:{port}/hook",
        "http://0177.0.0.1:{port}/hook",
        "http://0:{port}/hook",
        "http://[::ffff:127.0.0.1]:{port}/hook",
        "http://[::ffff:7f00:1]:{port}/hook",
        "http://127.0.0.1:{port}/hook",
        "http://internal.test:{port}/hook",  # resolves to a private address
        "http://mixed.test:{port}/hook",  # one public answer and one private one
    ],
)
async def test_every_bypass_form_is_refused_before_any_connection(
    url: str, receiver: WebhookReceiver
) -> None:
    resolver = ScriptedResolver(
        {"internal.test": [["10.0.0.7"]], "mixed.test": [["93.184.216.34", "127.0.0.1"]]}
    )
    sockets = RecordingBackend()
    guard = SsrfGuard(AddressPolicy(), resolver)  # no allowlist: loopback refused too
    target = url.format(port=receiver.port)
    with pytest.raises(SsrfRefused):
        await guard.check_url(target)
    async with guarded_client(guard, timeout_s=2, max_connections=4, inner=sockets) as client:
        with pytest.raises((SsrfRefused, httpx.InvalidURL)):
            await client.post(target, content=b"{}")
    assert sockets.connected == []
    assert receiver.received == []


async def test_a_name_whose_answer_changes_after_the_check_is_refused_at_connection(
    receiver: WebhookReceiver,
) -> None:
    """DNS rebinding: the check at subscription time sees loopback (allowed here), the
    delivery's own resolution sees an internal address and stops there."""
    resolver = ScriptedResolver({"rebind.test": [["127.0.0.1"], ["10.0.0.9"]]})
    sockets = RecordingBackend()
    guard = SsrfGuard(AddressPolicy(LOOPBACK), resolver)
    url = receiver.url("/hook", host="rebind.test")
    assert await guard.check_url(url) == [ipaddress.ip_address("127.0.0.1")]
    async with guarded_client(guard, timeout_s=2, max_connections=4, inner=sockets) as client:
        with pytest.raises(SsrfRefused, match=r"10\.0\.0\.9"):
            await client.post(url, content=b"{}")
    assert resolver.asked == ["rebind.test", "rebind.test"]  # once per check, no second look
    assert sockets.connected == []


async def test_the_connection_goes_to_the_checked_address_keeping_the_host_header(
    receiver: WebhookReceiver,
) -> None:
    resolver = ScriptedResolver({"partner.test": [["127.0.0.1"]]})
    sockets = RecordingBackend()
    guard = SsrfGuard(AddressPolicy(LOOPBACK), resolver)
    async with guarded_client(guard, timeout_s=2, max_connections=4, inner=sockets) as client:
        answer = await client.post(receiver.url("/hook", host="partner.test"), content=b"{}")
    assert answer.status_code == 200
    assert sockets.connected == [("127.0.0.1", receiver.port)]
    assert receiver.at("/hook")[0].headers["host"] == f"partner.test:{receiver.port}"


async def test_a_redirect_to_an_internal_address_is_not_followed(
    receiver: WebhookReceiver,
) -> None:
    receiver.script(
        "/hook", Reply(302, headers=(("location", "http://169.254.169.254/latest/meta-data"),))
    )
    sockets = RecordingBackend()
    guard = SsrfGuard(AddressPolicy(LOOPBACK), ScriptedResolver({}))
    async with guarded_client(guard, timeout_s=2, max_connections=4, inner=sockets) as client:
        result = await attempt(
            client,
            url=receiver.url("/hook"),
            webhook_id="evt-1",
            body="{}",
            content_type="application/json",
            secrets=["whsec_" + "A" * 44],
            attempted_at=datetime.now(UTC),
            excerpt_bytes=64,
            timeout_s=2,
        )
    assert result.result.outcome == "failed"
    assert result.result.status_code == 302
    assert "not followed" in (result.result.error or "")
    assert sockets.connected == [("127.0.0.1", receiver.port)]
    assert len(receiver.received) == 1
