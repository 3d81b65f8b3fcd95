"""A live ingest run as its own service answers /healthz, /readyz and /metrics on its ops port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.tansu import free_port

SENTENCE = b"!AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0*5C\r\n"


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as response:
        body: dict = json.loads(response.read())
        return body


def wait_until(check, timeout_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_udp_ingest_service_reports_what_it_received(tmp_path: Path) -> None:
    ops_port, udp_port = free_port(), free_udp_port()
    env = {**os.environ, "LOOKOUT_BUS": "memory", "LOOKOUT_OPS_PORT": str(ops_port)}
    log = (tmp_path / "ingest.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lookout.cli",
            "ingest",
            "udp",
            "--host",
            "127.0.0.1",
            "--port",
            str(udp_port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        health_url = f"http://127.0.0.1:{ops_port}/readyz"
        first = wait_until(lambda: get_json(health_url), 30, "the ops endpoint")
        assert first["status"] == "ok"
        alive = get_json(f"http://127.0.0.1:{ops_port}/healthz")
        assert alive["status"] == "ok"
        [loops] = [c for c in alive["components"] if c["name"] == "ingest"]
        assert loops["detail"] == "loops turning" and loops["facts"]["waiting_for_feed"] == 1

        def lines_read() -> int:
            [ingest] = [c for c in get_json(health_url)["components"] if c["name"] == "ingest"]
            return int(ingest["facts"]["lines_read"])

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:

            def sent_and_counted() -> bool:
                sender.sendto(SENTENCE, ("127.0.0.1", udp_port))
                return lines_read() >= 1

            wait_until(sent_and_counted, 30, "the datagram to be decoded")
        with urllib.request.urlopen(f"http://127.0.0.1:{ops_port}/metrics", timeout=2) as r:
            assert b"lookout_" in r.read()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0, (tmp_path / "ingest.log").read_text()[-2000:]
