"""Schemathesis against /openapi.json: generated requests to every operation, as an admin
(every role's routes), against the real database and bus; no answer may be a 5xx."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from store.api_keys import Role
from tests.api.support import ApiServer

pytestmark = pytest.mark.postgres

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def test_no_generated_request_gets_a_server_error(
    live_api: ApiServer, tmp_path: Path
) -> None:
    if not SCHEMATHESIS.exists():
        pytest.skip("schemathesis is not installed (it is in the test extra)")
    key = await live_api.key("BAKAMLA", Role.ADMIN)
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "run",
        f"{live_api.base_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "8",
        "--seed",
        "15",
        # One worker: hypothesis parses lambdas with ast in threads, which trips a CPython
        # 3.11 bug (SystemError: AST constructor recursion depth mismatch).
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        # An event stream never ends: it is tested by tests/api/test_live.py.
        "--exclude-path",
        "/v1/alerts/stream",
        "-H",
        f"X-API-Key: {key}",
        cwd=tmp_path,  # its cache stays out of the work tree
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 240)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
