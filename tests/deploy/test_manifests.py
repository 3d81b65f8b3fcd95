"""Deployment files: every Kubernetes manifest is valid for the cluster versions we target,
and every command they run is a real `lookout` subcommand."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import kubernetes_validate
import pytest
import yaml
from typer.main import get_command

from api.health import HealthRegistry
from api.ops import create_ops_app
from lookout.cli import app

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"


def documents(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def kustomizations() -> list[Path]:
    return sorted(K8S.rglob("kustomization.yaml"))


def base_manifests() -> list[Path]:
    base = K8S / "base"
    listed = yaml.safe_load((base / "kustomization.yaml").read_text())["resources"]
    return [base / name for name in listed]


@pytest.mark.parametrize("manifest", base_manifests(), ids=lambda p: p.name)
@pytest.mark.parametrize("version", ["1.30", "1.33"])
def test_every_manifest_is_valid_kubernetes(manifest: Path, version: str) -> None:
    for doc in documents(manifest):
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize("kustomization", kustomizations(), ids=lambda p: str(p.parent.name))
def test_kustomizations_point_at_files_that_exist(kustomization: Path) -> None:
    spec = yaml.safe_load(kustomization.read_text())
    for resource in spec.get("resources", []):
        assert (kustomization.parent / resource).exists(), resource


def lookout_commands() -> set[str]:
    group = get_command(app)
    return set(group.commands)  # type: ignore[attr-defined]


def test_containers_run_real_lookout_commands() -> None:
    known = lookout_commands()
    commands: list[list[str]] = []
    for manifest in base_manifests():
        for doc in documents(manifest):
            pod = doc.get("spec", {}).get("template", {}).get("spec", {})
            commands += [c["args"] for c in pod.get("containers", []) if "args" in c]
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    commands += [s["command"] for s in compose["services"].values() if "command" in s]
    assert commands
    for args in commands:
        assert args[0] in known, f"{args} is not a lookout command ({sorted(known)})"


async def answered_paths(paths: list[str]) -> set[str]:
    """The paths an ops endpoint answers with 200 (every component fine)."""
    app = create_ops_app(HealthRegistry("test"), title="test")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ops") as client:
        return {path for path in paths if (await client.get(path)).status_code == 200}


def probed_containers() -> list[tuple[str, dict]]:
    found = []
    for manifest in base_manifests():
        for doc in documents(manifest):
            if doc.get("kind") != "Deployment":
                continue
            pod = doc["spec"]["template"]["spec"]
            found += [(f"{manifest.name}:{c['name']}", c) for c in pod["containers"]]
    return found


def test_every_service_probes_liveness_and_readiness_at_their_own_paths() -> None:
    """Liveness is not readiness: /healthz (restart when it fails) and /readyz (out of
    service while it fails, e.g. during a database outage)."""
    served = asyncio.run(answered_paths(["/healthz", "/readyz"]))
    containers = probed_containers()
    assert containers
    for name, container in containers:
        ports = {p["name"] for p in container.get("ports", [])}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            assert probe in container, f"{name} has no {probe}"
            get = container[probe]["httpGet"]
            assert get["path"] == path, f"{name}: {probe} asks {get['path']}, not {path}"
            assert get["port"] in ports, f"{name}: {probe} port {get['port']} is not declared"
            assert path in served
