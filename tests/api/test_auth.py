"""Keys and roles through HTTP: no key 401, unknown or revoked key 401, wrong role 403,
and the API's database role is bound by row-level security."""

from __future__ import annotations

import httpx
import pytest

from store.api_keys import Role, revoke_key
from store.db import connect
from tests.api.support import ApiServer

pytestmark = pytest.mark.postgres


async def test_a_request_without_a_key_is_401_with_a_reason(api: ApiServer) -> None:
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        response = await client.get("/v1/me")
    assert response.status_code == 401
    assert "API key" in response.json()["detail"]


async def test_an_unknown_key_is_401(api: ApiServer) -> None:
    async with httpx.AsyncClient(base_url=api.base_url, headers={"X-API-Key": "lk_nope"}) as c:
        response = await c.get("/v1/me")
    assert response.status_code == 401


async def test_a_key_works_as_header_and_as_bearer_until_revoked(api: ApiServer) -> None:
    key = await api.key("BAKAMLA", Role.WATCH)
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        by_header = await client.get("/v1/me", headers={"X-API-Key": key})
        by_bearer = await client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert by_header.json() == {"agency": "BAKAMLA", "role": "watch"}
        assert by_bearer.json() == by_header.json()
        async with await connect(api.db_url) as conn:
            await revoke_key(conn, key[:10])
        revoked = await client.get("/v1/me", headers={"X-API-Key": key})
    assert revoked.status_code == 401


async def test_a_role_the_route_does_not_admit_is_403(api: ApiServer) -> None:
    async with await api.client("BAKAMLA", Role.WATCH) as watch:
        refused = await watch.get("/v1/audit")
    async with await api.client("BAKAMLA", Role.ADMIN) as admin:
        allowed = await admin.get("/v1/audit")
    assert refused.status_code == 403
    assert "admin" in refused.json()["detail"]
    assert allowed.status_code == 200


async def test_the_page_logs_in_with_its_key_and_gets_an_httponly_cookie(api: ApiServer) -> None:
    key = await api.key("BASARNAS", Role.WATCH)
    async with httpx.AsyncClient(base_url=api.base_url) as client:
        bad = await client.post("/v1/session", json={"key": "lk_wrong"})
        good = await client.post("/v1/session", json={"key": key})
        me = await client.get("/v1/me")  # the cookie alone
    assert bad.status_code == 401
    assert good.status_code == 200
    assert "httponly" in good.headers["set-cookie"].lower()
    assert me.json() == {"agency": "BASARNAS", "role": "watch"}


async def test_the_api_connects_as_a_role_rls_binds(api: ApiServer) -> None:
    """Not superuser, owner of nothing, no BYPASSRLS: the policies bind every query."""
    from api.db import ApiDatabase
    from api.settings import api_database_url

    database = ApiDatabase(api_database_url(api.db_url, api.settings), api.settings)
    await database.open()
    try:
        async with database.session("BAKAMLA") as conn:
            cur = await conn.execute(
                "SELECT current_user, r.rolsuper, r.rolbypassrls, "
                "(SELECT count(*) FROM pg_class c WHERE c.relowner = r.oid) "
                "FROM pg_roles r WHERE r.rolname = current_user"
            )
            row = await cur.fetchone()
    finally:
        await database.close()
    assert row == ("lookout_api", False, False, 0)
