"""`lookout up`: the embedded default answers /healthz, stops cleanly, keeps its data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import psycopg
import pytest

from tests.support.pg import postgres_data_dir
from tests.support.tansu import free_port

pytestmark = pytest.mark.postgres


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"lookout up exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                body: dict = json.loads(response.read())
                return body
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout_s}s")


def start_up(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOOKOUT_LOG_LEVEL": "INFO"}
    env.pop("LOOKOUT_DATABASE_URL", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lookout.cli",
            "up",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(60)


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if p.info["name"] == "postgres" and str(data_dir) in cmd:
            found.append(p)
    return found


def test_lookout_up_serves_healthz_stops_cleanly_and_keeps_its_data(tmp_path: Path) -> None:
    with postgres_data_dir() as data_dir:
        up_stop_restart(data_dir, tmp_path)


def up_stop_restart(data_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "up.log"
    proc = start_up(data_dir, port, log)
    try:
        health = wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)
        assert health["status"] == "ok", health
        components = {c["name"]: c for c in health["components"]}
        assert components["database"]["detail"].startswith("PostgreSQL")
        pg_url = f"postgresql://postgres@/postgres?host={data_dir / 'postgres'}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("create table if not exists survives_restart (note text)")
            conn.execute("insert into survives_restart values ('still here')")
    finally:
        code = stop(proc)
    assert code == 0, log.read_text()[-3000:]
    assert postgres_processes(data_dir) == [], "embedded PostgreSQL left running"

    proc = start_up(data_dir, port, log)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/healthz", proc)["status"] == "ok"
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("select note from survives_restart").fetchone()
        assert row == ("still here",)
    finally:
        assert stop(proc) == 0
    assert postgres_processes(data_dir) == []


def test_help_lists_the_service_subcommands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lookout.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    assert "up" in out
