"""`lookout keys`: a key is printed once and works; list shows it; revoke ends it; a
user's mistake is one clear line and a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from tests.api.support import ApiServer

pytestmark = pytest.mark.postgres


def keys(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lookout.cli", "keys", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "LOOKOUT_DATABASE_URL": db_url, "COLUMNS": "200"},
        timeout=60,
    )


async def test_create_list_revoke(api: ApiServer) -> None:
    created = keys(api.db_url, "create", "--agency", "AMSA", "--role", "analyst", "--label", "ops")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip().splitlines()[-1]
    assert secret.startswith("lk_")
    async with httpx.AsyncClient(base_url=api.base_url, headers={"X-API-Key": secret}) as c:
        assert (await c.get("/v1/me")).json() == {"agency": "AMSA", "role": "analyst"}
        listed = keys(api.db_url, "list")
        assert secret[:10] in listed.stdout and "AMSA" in listed.stdout
        assert secret not in listed.stdout  # the secret itself is never shown again
        revoked = keys(api.db_url, "revoke", secret[:10])
        assert revoked.returncode == 0, revoked.stderr
        assert (await c.get("/v1/me")).status_code == 401


def test_mistakes_are_one_line_and_a_nonzero_exit(db_url: str) -> None:
    bad_role = keys(db_url, "create", "--agency", "AMSA", "--role", "captain")
    bad_agency = keys(db_url, "create", "--agency", "no spaces", "--role", "watch")
    unknown = keys(db_url, "revoke", "lk_nothing")
    for result in (bad_role, bad_agency, unknown):
        assert result.returncode != 0
        assert "Traceback" not in result.stderr + result.stdout
    assert "agency code" in bad_agency.stderr
    assert "no key" in unknown.stderr
