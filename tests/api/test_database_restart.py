"""The API after its database dropped every connection (a restart, a failover, an
operator's pg_terminate_backend): the next requests are answered, not a 500 from a pooled
connection that died meanwhile (seen from outside after restarting the database under a
running `lookout api`: the first report POSTed got "Internal Server Error")."""

from __future__ import annotations

import pytest

from store.api_keys import Role
from store.db import connect
from tests.api.support import ApiServer

pytestmark = pytest.mark.postgres


async def test_requests_after_the_database_dropped_the_apis_connections_are_answered(
    api: ApiServer,
) -> None:
    async with await api.client("BAKAMLA", Role.WATCH) as client:
        assert (await client.get("/v1/me")).status_code == 200  # the pool holds a connection
        async with await connect(api.db_url) as owner:
            cur = await owner.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE usename = 'lookout_api'"
            )
            row = await cur.fetchone()
        assert row is not None and row[0] >= 1
        answers = [(await client.get("/v1/me")).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
