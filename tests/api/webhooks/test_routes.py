"""The webhook routes over HTTP on a real server, as the API role under RLS: subscribe
(secret once), the SSRF refusal, roles, agencies kept apart, rotation with both
signatures, ping with its log, redelivery, delete."""

from __future__ import annotations

import uuid

import pytest
from standardwebhooks import Webhook as Verifier

from store.api_keys import Role
from tests.api.support import ApiServer
from tests.support.webhook_receiver import Reply, WebhookReceiver

pytestmark = pytest.mark.postgres

BALI = {
    "type": "Polygon",
    "coordinates": [[[114.4, -9.0], [116.0, -9.0], [116.0, -8.0], [114.4, -8.0], [114.4, -9.0]]],
}


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOKOUT_WEBHOOK_ALLOW_CIDRS", "127.0.0.0/8")
    monkeypatch.setenv("LOOKOUT_WEBHOOK_TIMEOUT_S", "2")


async def test_subscribe_ping_rotate_redeliver_and_delete(
    api: ApiServer, allow_loopback: None
) -> None:
    receiver = await WebhookReceiver().start()
    try:
        async with await api.client("BAKAMLA", Role.INTEGRATOR) as client:
            answer = await client.post(
                "/v1/webhooks",
                json={
                    "url": receiver.url("/hook"),
                    "format": "cap",
                    "filters": {"rules": ["ais_gap"], "min_severity": "high", "area": BALI},
                },
            )
            assert answer.status_code == 201, answer.text
            created = answer.json()
            secret, hook = created["secret"], created["id"]
            assert secret.startswith("whsec_")
            assert created["filters"]["min_severity"] == "high"

            listed = (await client.get("/v1/webhooks")).json()
            assert [w["id"] for w in listed] == [hook]
            assert "secret" not in listed[0]  # shown once, never again

            receiver.script("/hook", secrets=[secret])
            pinged = (await client.post(f"/v1/webhooks/{hook}/ping")).json()
            assert pinged["status"] == "delivered"
            assert [a["outcome"] for a in pinged["log"]] == ["delivered"]
            assert pinged["log"][0]["response_excerpt"] == "ok"
            (first,) = await receiver.wait_for("/hook", 1)
            assert first.verified and first.webhook_id == pinged["webhook_id"]

            rotated = (await client.post(f"/v1/webhooks/{hook}/rotate-secret")).json()
            receiver.script("/hook", Reply(500), secrets=[])  # verify by hand below
            failed = (await client.post(f"/v1/webhooks/{hook}/ping")).json()
            assert failed["status"] == "dead"  # a ping is never retried
            assert failed["log"][0]["status_code"] == 500
            second = (await receiver.wait_for("/hook", 2))[1]
            assert len(second.headers["webhook-signature"].split(" ")) == 2
            for key in (secret, rotated["secret"]):  # old and new both verify
                Verifier(key).verify(second.body, second.headers, json_parse=False)

            deliveries = (await client.get(f"/v1/webhooks/{hook}/deliveries")).json()
            assert {d["id"] for d in deliveries} == {pinged["id"], failed["id"]}
            again = await client.post(f"/v1/webhooks/{hook}/deliveries/{failed['id']}/redeliver")
            assert again.status_code == 202
            assert again.json()["status"] == "pending"
            assert again.json()["redeliveries"] == 1

            assert (await client.delete(f"/v1/webhooks/{hook}")).status_code == 204
            assert (await client.get(f"/v1/webhooks/{hook}")).status_code == 404
    finally:
        await receiver.stop()


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://2130706433/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://127.0.0.1/hook",
        "ftp://ops.example/hook",
    ],
)
async def test_an_internal_url_is_refused_with_a_reason(api: ApiServer, url: str) -> None:
    async with await api.client("BAKAMLA", Role.INTEGRATOR) as client:
        answer = await client.post("/v1/webhooks", json={"url": url})
    assert answer.status_code == 422
    assert "url refused" in answer.json()["detail"]


async def test_roles_and_agencies_are_kept_apart(api: ApiServer, allow_loopback: None) -> None:
    async with await api.client("BAKAMLA", Role.WATCH) as watch:
        assert (await watch.get("/v1/webhooks")).status_code == 403
    async with await api.client("BAKAMLA", Role.INTEGRATOR) as bakamla:
        created = await bakamla.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/x"})
        hook = created.json()["id"]
    async with await api.client("AMSA", Role.INTEGRATOR) as amsa:
        assert (await amsa.get("/v1/webhooks")).json() == []
        assert (await amsa.get(f"/v1/webhooks/{hook}")).status_code == 404
        assert (await amsa.delete(f"/v1/webhooks/{hook}")).status_code == 404
        assert (await amsa.post(f"/v1/webhooks/{hook}/rotate-secret")).status_code == 404
        unknown = uuid.uuid4()
        assert (await amsa.get(f"/v1/webhooks/{unknown}/deliveries")).status_code == 404


async def test_an_invalid_area_is_refused(api: ApiServer, allow_loopback: None) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[114.0, -9.0], [116.0, -8.0], [116.0, -9.0], [114.0, -8.0], [114.0, -9.0]]
        ],
    }
    async with await api.client("BAKAMLA", Role.INTEGRATOR) as client:
        answer = await client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "filters": {"area": bowtie}}
        )
    assert answer.status_code == 422
    # refused by the polygon schema itself (zones share it), saying where the edges cross
    assert "Self-intersection at 115, -8.5" in answer.text
