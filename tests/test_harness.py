"""The test harness itself: real broker and real database start, answer, and leave nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psutil
import psycopg
import pytest
from aiokafka.admin import AIOKafkaAdminClient

from store.embedded import EmbeddedPostgres
from tests.support.browser import REQUIRE_BROWSER, check_browser
from tests.support.pg import postgres_data_dir
from tests.support.tansu import TansuBroker


def gone(pid: int) -> bool:
    """Exited (a zombie awaiting its reaper has exited too)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_tansu_starts_answers_and_stops_leaving_no_process(tmp_path: Path) -> None:
    broker = TansuBroker(tmp_path / "tansu.log")
    broker.start()
    proc = broker._proc
    assert proc is not None
    admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
    await admin.start()
    try:
        assert isinstance(await admin.list_topics(), list)
    finally:
        await admin.close()
    broker.stop()
    assert proc.poll() is not None
    assert gone(proc.pid)


@pytest.mark.postgres
def test_embedded_postgres_starts_answers_and_stops_leaving_no_process() -> None:
    with postgres_data_dir() as data_dir:
        server = EmbeddedPostgres(data_dir)
        url = server.start()
        _check_and_stop(server, url)


def _check_and_stop(server: EmbeddedPostgres, url: str) -> None:
    with psycopg.connect(url) as conn:
        pid = conn.execute("select pg_backend_pid()").fetchone()
        postmaster = conn.execute("select pg_postmaster_start_time()").fetchone()
    assert pid and postmaster
    main_pid = server._server.get_pid()
    server.stop()
    assert gone(main_pid)


def test_session_fixtures_are_real(postgres_url: str, kafka_bootstrap: str) -> None:
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("show server_version").fetchone()
    assert row is not None and int(row[0].split(".")[0]) >= 15

    async def topics() -> list[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            return list(await admin.list_topics())
        finally:
            await admin.close()

    assert isinstance(asyncio.run(topics()), list)


def test_a_missing_browser_skips_the_page_tests_unless_the_run_requires_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOOKOUT_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.delenv(REQUIRE_BROWSER, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no-chromium is not installed"):
        check_browser()
    monkeypatch.setenv(REQUIRE_BROWSER, "1")  # what .ci/run sets
    with pytest.raises(BaseException) as outcome:  # a skip here must fail this test
        check_browser()
    assert outcome.type is pytest.fail.Exception
    assert "LOOKOUT_REQUIRE_BROWSER=1 requires the browser" in str(outcome.value)


def test_ci_requires_the_browser() -> None:
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert f"export {REQUIRE_BROWSER}=1" in ci
