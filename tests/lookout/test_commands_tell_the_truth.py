"""Commands that tell the truth (issue 13), each tried as a new user would, through the
real ``lookout`` command in its own process: a mistake or a machine in the wrong state is
one clear line and a non-zero exit, never a traceback; a dry run says it was one."""

from __future__ import annotations

import asyncio
import gzip
import os
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pyais.encode import encode_dict

from bus.memory import MemoryBus
from ingest.pipeline import run_ingest
from ingest.settings import IngestSettings
from ingest.sources.tcp_listener import TcpListenSource
from ingest.sources.udp import UdpSource
from lookout.settings_catalog import catalog
from schemas.ais import PositionReport
from tests.ingest.support import GPSD_SAMPLE
from tests.support.tansu import free_port

ROOT = Path(__file__).resolve().parents[2]
LOOKOUT = [sys.executable, "-m", "lookout.cli", "--log-level", "WARNING"]


def lookout(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LOOKOUT, *args],
        env={**os.environ, "LOOKOUT_BUS": "memory", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def one_clear_line(result: subprocess.CompletedProcess[str]) -> str:
    """The command failed with exactly one line on stderr, starting 'lookout: '."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lookout: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def positions(first: int, count: int) -> str:
    return "".join(
        encode_dict(
            {"type": 1, "mmsi": first + i, "lat": -8.7, "lon": 115.2, "speed": 7.0},
            talker_id="AI",
            sentence_type="VDM",
        )[0]
        + "\n"
        for i in range(count)
    )


# --- ingest file ---------------------------------------------------------------------


def test_a_corrupt_gzip_capture_is_one_clear_line(tmp_path: Path) -> None:
    not_gzip = tmp_path / "capture.nmea.gz"
    not_gzip.write_bytes(b"this was never gzipped\n")
    line = one_clear_line(lookout("ingest", "file", str(not_gzip), "--no-progress"))
    assert "not a valid gzip file" in line

    cut = tmp_path / "cut.nmea.gz"
    whole = gzip.compress(GPSD_SAMPLE.read_bytes())
    cut.write_bytes(whole[: len(whole) // 2])
    assert "cut short" in one_clear_line(lookout("ingest", "file", str(cut), "--no-progress"))


@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 8], ids=["empty", "binary"])
def test_a_file_without_ais_says_so(tmp_path: Path, content: bytes) -> None:
    capture = tmp_path / "capture.bin"
    capture.write_bytes(content)
    line = one_clear_line(lookout("ingest", "file", str(capture), "--no-progress"))
    assert f"no AIS in {capture}" in line and "none decoded" in line


def test_ingest_file_on_the_memory_bus_says_it_was_a_dry_run(tmp_path: Path) -> None:
    capture = tmp_path / "capture.nmea"
    capture.write_text(positions(503_100_000, 3))
    result = lookout("ingest", "file", str(capture), "--no-progress")
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert "dry run" in said and "nothing was delivered" in said
    assert "--to udp://127.0.0.1:10110" in said


@pytest.mark.parametrize("scheme", ["udp", "tcp"])
async def test_ingest_file_to_feeds_a_running_listener(tmp_path: Path, scheme: str) -> None:
    """The same listeners `lookout up` runs, fed by `lookout ingest file --to`."""
    capture = tmp_path / "capture.nmea"
    capture.write_text(positions(503_200_000, 20))
    source = UdpSource("127.0.0.1", 0) if scheme == "udp" else TcpListenSource("127.0.0.1", 0)
    _, port = await source.open()
    bus = MemoryBus()
    async with bus:
        run = asyncio.create_task(run_ingest(source, bus, IngestSettings(flush_interval_s=0.01)))
        proc = await asyncio.create_subprocess_exec(
            *LOOKOUT,
            "ingest",
            "file",
            str(capture),
            "--no-progress",
            "--to",
            f"{scheme}://127.0.0.1:{port}",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        assert f"sent 20 lines to {scheme}://127.0.0.1:{port}" in out.decode()
        received: list[PositionReport] = []
        async with bus.subscribe(["ais.positions"], group="reader") as sub:

            async def read() -> None:
                records = await sub.getmany(max_records=100, timeout_s=0.05)
                received.extend(r.decode(PositionReport) for r in records)

            deadline = asyncio.get_running_loop().time() + 30
            while len(received) < 20:
                assert asyncio.get_running_loop().time() < deadline, f"{len(received)} arrived"
                await read()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
    assert sorted(p.mmsi for p in received) == list(range(503_200_000, 503_200_020))


def test_a_malformed_to_address_is_one_clear_line(tmp_path: Path) -> None:
    capture = tmp_path / "capture.nmea"
    capture.write_text(positions(503_300_000, 1))
    line = one_clear_line(lookout("ingest", "file", str(capture), "--to", "10110"))
    assert "udp://HOST:PORT or tcp://HOST:PORT" in line


# --- db --------------------------------------------------------------------------------


def test_db_migrate_without_a_database_is_one_clear_line() -> None:
    nowhere = f"postgresql://postgres@127.0.0.1:{free_port()}/lookout"
    line = one_clear_line(lookout("db", "migrate", env={"LOOKOUT_DATABASE_URL": nowhere}))
    assert "cannot connect to PostgreSQL" in line and "LOOKOUT_DATABASE_URL" in line


@pytest.mark.parametrize(
    "command", [("config", "load", "zones.geojson"), ("ingest", "file", "capture.nmea")]
)
def test_an_unreachable_kafka_is_one_clear_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    (tmp_path / "zones.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    (tmp_path / "capture.nmea").write_text("!AIVDM,1,1,,A,13RlIW?04F1beOVEFLB9bRvH0L0L,0*6C\n")
    port = free_port()  # nothing listens there
    env = {"LOOKOUT_BUS": "kafka", "LOOKOUT_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}"}
    args = [*command[:-1], str(tmp_path / command[-1])]
    if command[0] == "ingest":
        args.append("--no-progress")
    result = lookout(*args, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "│" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"lookout: cannot reach Kafka at 127.0.0.1:{port} (LOOKOUT_KAFKA_BOOTSTRAP): "
        "KafkaConnectionError"
    ), result.stderr


@pytest.mark.postgres
def test_db_shell_runs_psql_on_the_configured_database(postgres_url: str) -> None:
    result = lookout(
        "db", "shell", "-c", "select 40 + 2 as answer", env={"LOOKOUT_DATABASE_URL": postgres_url}
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\s*42\s*$", result.stdout, flags=re.MULTILINE), result.stdout


def test_db_shell_without_psql_is_one_clear_line(tmp_path: Path) -> None:
    line = one_clear_line(lookout("db", "shell", env={"PATH": str(tmp_path)}))
    assert "psql is not installed" in line


def test_db_shell_with_no_embedded_database_yet_is_one_clear_line(tmp_path: Path) -> None:
    env = {"LOOKOUT_DATABASE_URL": ""}
    line = one_clear_line(lookout("db", "shell", "--data-dir", str(tmp_path), env=env))
    assert "no embedded database" in line


# --- up ----------------------------------------------------------------------------------


def test_lookout_up_on_a_port_in_use_says_so_before_starting_postgres(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"LOOKOUT_NMEA_UDP_PORT": "0", "LOOKOUT_NMEA_TCP_PORT": "0"}
        env_up = {k: v for k, v in os.environ.items() if k != "LOOKOUT_DATABASE_URL"}
        result = subprocess.run(
            [*LOOKOUT, "up", "--data-dir", str(tmp_path / "data"), "--port", str(port)],
            env={**env_up, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    line = one_clear_line(result)
    assert f"TCP port {port}" in line and "API" in line
    assert not (tmp_path / "data" / "postgres").exists()  # found before PostgreSQL started


def test_lookout_up_checks_its_nmea_ports_too(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        udp_port = taken.getsockname()[1]
        env_up = {k: v for k, v in os.environ.items() if k != "LOOKOUT_DATABASE_URL"}
        env = {"LOOKOUT_NMEA_UDP_PORT": str(udp_port), "LOOKOUT_NMEA_TCP_PORT": "0"}
        result = subprocess.run(
            [*LOOKOUT, "up", "--data-dir", str(tmp_path), "--port", str(free_port())],
            env={**env_up, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert f"UDP port {udp_port}" in one_clear_line(result)


# --- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [None, "env", "markdown", "table"])
def test_settings_lists_every_variable_once_whole_when_piped(fmt: str | None) -> None:
    result = lookout("settings", *(["--format", fmt] if fmt else []))
    assert result.returncode == 0, result.stderr
    for doc in catalog():
        found = re.findall(rf"(?<![A-Z_]){doc.env}(?![A-Z_])", result.stdout)
        # each variable once as an entry (the env format also names a few in meanings)
        assert found, f"{doc.env} missing or cut in --format {fmt}"
    names = [d.env for d in catalog()]
    assert len(names) == len(set(names))
    if fmt in (None, "env"):  # piped: a .env file, one assignment per variable
        assigned = re.findall(r"^#? ?(LOOKOUT_[A-Z0-9_]+)=", result.stdout, flags=re.MULTILINE)
        assert sorted(assigned) == sorted(names)
    if fmt == "markdown":
        rows = re.findall(r"^\| `(LOOKOUT_[A-Z0-9_]+)` \|", result.stdout, flags=re.MULTILINE)
        assert sorted(rows) == sorted(names)


def test_a_variable_two_services_read_is_one_entry_naming_both() -> None:
    [database] = [d for d in catalog() if d.env == "LOOKOUT_DATABASE_URL"]
    assert "StoreSettings" in database.owner and "UpSettings" in database.owner


# --- packaging and docs ------------------------------------------------------------------


def make_dry_run(target: str) -> str:
    return subprocess.run(
        ["make", "-n", "-B", target, "VENV=/nonexistent/venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_make_up_installs_only_what_running_needs_and_make_test_the_test_extra() -> None:
    up = make_dry_run("up")
    assert "pip install --quiet -e ." in up and "[test]" not in up
    assert '-e ".[test]"' in make_dry_run("test")


def test_the_licence_is_an_spdx_string_for_a_setuptools_that_reads_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in project["build-system"]["requires"][0]  # PEP 639 support


def test_benchmark_commands_in_the_docs_run_from_the_repository_root() -> None:
    docs = [
        *(ROOT / "bench").glob("*/*.py"),
        ROOT / "bench" / "RESULTS.md",
        ROOT / "README.md",
    ]
    commands = [
        m.group(0)
        for doc in docs
        for m in re.finditer(r"\S*python\S* bench/\S+\.py", doc.read_text())
    ]
    assert commands
    for command in commands:
        interpreter, script = command.split(" ")
        assert interpreter == ".venv/bin/python", command
        assert not interpreter.startswith("/"), command
        assert (ROOT / script).is_file(), command
