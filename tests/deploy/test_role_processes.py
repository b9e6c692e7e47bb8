"""Every long-running role serves its probes on the admin port, apart from ``/hooks/…``,
as the manifests expect; the image's HEALTHCHECK probes the same listener."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.deploy.consistency import ROOT, k8s_documents, parse_dockerfile
from tests.ports import free_port

AUTOCLOCK = str(Path(sys.executable).parent / "autoclock")
STARTUP_S = 30.0
ROLES = ("webhooks", "worker", "scheduler", "run")


def _k8s_containers() -> dict[str, dict[str, Any]]:
    found = {}
    for _, doc in k8s_documents(ROOT / "deploy" / "k8s"):
        pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in pod.get("containers") or []:
            if "autoclock" in container.get("image", "") and container.get("args"):
                found[container["args"][0]] = container
    return found


def _probe_paths() -> set[str]:
    """Every HTTP path a manifest probes: k8s httpGet probes and compose healthchecks."""
    paths: set[str] = {"/metrics"}  # the Prometheus annotations and ServiceMonitor
    for container in _k8s_containers().values():
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = (container.get(probe) or {}).get("httpGet")
            if get:
                paths.add(get["path"])
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    for service in compose["services"].values():
        test = " ".join((service.get("healthcheck") or {}).get("test") or [])
        paths.update(p for p in ("/healthz", "/readyz", "/metrics") if p in test)
    return paths


@dataclass
class Role:
    name: str
    hooks: str
    admin: str
    proc: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def start_role(
    redis_url: str, namespace: str, tmp_path: Path, sandbox_factory: Callable[..., Any]
) -> Iterator[Callable[[str], Role]]:
    """Start ``autoclock <role>`` on free loopback ports (webhook and admin) with the k8s
    starter rules, pointed at a sandbox; wait until its admin listener answers."""
    started: list[Role] = []

    def start(role: str) -> Role:
        sandbox = sandbox_factory(rpm=0)
        hooks, admin = free_port(), free_port()
        env = {
            **os.environ,
            "REDIS_URL": redis_url,
            "AUTOCLOCK_NAMESPACE": namespace,
            "AUTOCLOCK_RULES_DIR": str(ROOT / "deploy" / "k8s" / "rules"),
            "AUTOCLOCK_DATA_DIR": str(tmp_path / "data"),
            "AUTOCLOCK_WEBHOOK_HOST": "127.0.0.1",
            "AUTOCLOCK_WEBHOOK_PORT": str(hooks),
            "AUTOCLOCK_ADMIN_PORT": str(admin),
            "AUTOCLOCK_LOG_FORMAT": "json",
            "WEBWORK_BASE_URL": sandbox.api_url,
            "WEBWORK_TOKEN": sandbox.owner_token,
            "WEBWORK_WORKSPACE_ID": "1",
        }
        log = tmp_path / f"{role}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [AUTOCLOCK, role], env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
            )
        running = Role(role, f"http://127.0.0.1:{hooks}", f"http://127.0.0.1:{admin}", proc, log)
        started.append(running)
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(running.admin + "/healthz", timeout=1)
                return running
            except httpx.TransportError:
                time.sleep(0.1)
        pytest.fail(f"autoclock {role} did not answer within {STARTUP_S} s: {log.read_text()}")

    yield start
    for running in started:
        running.proc.send_signal(signal.SIGTERM)
        try:
            running.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            running.proc.kill()
            running.proc.wait(timeout=5)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_serves_the_probed_paths_on_its_admin_port_only(
    role: str, start_role: Callable[[str], Role]
) -> None:
    """/healthz, /readyz and /metrics (as the manifests probe them) answer 200 on the admin
    port; the webhook port (webhooks, run) serves /hooks/… and none of them."""
    paths = _probe_paths()
    assert {"/healthz", "/readyz", "/metrics"} <= paths
    running = start_role(role)
    for path in sorted(paths):
        response = httpx.get(running.admin + path, timeout=5)
        assert response.status_code == 200, (path, response.text)
    metrics = httpx.get(running.admin + "/metrics", timeout=5).text
    assert "autoclock_build_info{" in metrics
    assert "process_resident_memory_bytes" in metrics
    assert httpx.post(running.admin + "/hooks/kisi-hq", timeout=5).status_code == 404
    if role in ("webhooks", "run"):
        for path in sorted(paths):
            assert httpx.get(running.hooks + path, timeout=5).status_code == 404, path
        hook = httpx.post(running.hooks + "/hooks/kisi-hq", content=b"{}", timeout=5)
        assert hook.status_code not in (404, 405), hook.text
    else:
        with pytest.raises(httpx.TransportError):
            httpx.get(running.hooks + "/healthz", timeout=2)


def test_k8s_and_compose_keep_hooks_and_admin_on_different_ports() -> None:
    """k8s: every role's probes and the Prometheus annotation use the admin port; the
    webhook Service exposes only the hooks port. Compose publishes only the hooks port."""
    containers = _k8s_containers()
    assert set(containers) == {"webhooks", "worker", "scheduler"}
    for role, container in containers.items():
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert env["AUTOCLOCK_ADMIN_PORT"] == str(ports["admin"])
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert container[probe]["httpGet"]["port"] == "admin", (role, probe)
        if role == "webhooks":
            assert env["AUTOCLOCK_WEBHOOK_PORT"] == str(ports["http"])
            assert ports["http"] != ports["admin"]
    annotations = [
        doc["spec"]["template"]["metadata"].get("annotations") or {}
        for _, doc in k8s_documents(ROOT / "deploy" / "k8s")
        if doc.get("kind") == "Deployment"
        and doc["metadata"]["name"].startswith("autoclock-")
        and doc["metadata"]["name"] != "autoclock-redis"
    ]
    assert {a.get("prometheus.io/port") for a in annotations} == {"8081"}
    services = {
        doc["metadata"]["name"]: doc
        for _, doc in k8s_documents(ROOT / "deploy" / "k8s")
        if doc.get("kind") == "Service"
    }
    assert [p["targetPort"] for p in services["autoclock-webhooks"]["spec"]["ports"]] == ["http"]
    assert [p["targetPort"] for p in services["autoclock-admin"]["spec"]["ports"]] == ["admin"]

    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    image_env = parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8")).env
    assert "AUTOCLOCK_ADMIN_HOST" not in image_env  # loopback unless a deployment says so
    admin_port = image_env["AUTOCLOCK_ADMIN_PORT"]
    assert admin_port != image_env["AUTOCLOCK_WEBHOOK_PORT"]
    for name, service in compose["services"].items():
        published = [str(p).rsplit(":", 1)[-1] for p in service.get("ports") or []]
        assert admin_port not in published, name


def _healthcheck_code() -> str:
    """The Python the Dockerfile's HEALTHCHECK runs (exec form: python -c CODE)."""
    spec = parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8")).healthcheck
    assert spec is not None
    argv = json.loads(spec[spec.index("CMD") + 3 :].strip())
    assert argv[:2] == ["python", "-c"]
    code: str = argv[2]
    assert "/proc/1/cmdline" in code
    return code


def _run_healthcheck(cmdline: list[str], admin_port: int, tmp_path: Path) -> int:
    """Run the HEALTHCHECK as if PID 1 were ``cmdline`` (a file stands in for /proc/1)."""
    fake = tmp_path / "cmdline"
    fake.write_bytes(b"\0".join(arg.encode() for arg in cmdline) + b"\0")
    code = _healthcheck_code().replace("/proc/1/cmdline", str(fake))
    env = {**os.environ, "AUTOCLOCK_ADMIN_PORT": str(admin_port)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, timeout=20, check=False
    )
    return done.returncode


def test_image_healthcheck_probes_every_long_running_role(
    start_role: Callable[[str], Role], tmp_path: Path
) -> None:
    """HEALTHCHECK: a live role passes, a role whose admin port is dead fails, and
    one-off commands (sandbox, rules check) pass."""
    running = start_role("webhooks")
    live = int(running.admin.rsplit(":", 1)[1])
    dead = free_port()
    for role in ("webhooks", "worker", "scheduler", "run"):
        assert _run_healthcheck(["/sbin/docker-init", "--", "autoclock", role], live, tmp_path) == 0
        assert _run_healthcheck(["autoclock", role], dead, tmp_path) != 0
    assert _run_healthcheck(["autoclock", "sandbox"], dead, tmp_path) == 0
    assert _run_healthcheck(["autoclock", "rules", "check"], dead, tmp_path) == 0


def test_compose_healthchecks_probe_the_admin_listener(
    start_role: Callable[[str], Role], tmp_path: Path
) -> None:
    """Every compose healthcheck (worker, webhooks, scheduler) passes against a live admin
    listener and fails against a dead one, reading the port from AUTOCLOCK_ADMIN_PORT."""
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    running = start_role("webhooks")
    live = running.admin.rsplit(":", 1)[1]
    dead = str(free_port())
    for name in ("worker", "webhooks", "scheduler"):
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], (name, test)
        for port, ok in ((live, True), (dead, False)):
            done = subprocess.run(
                [sys.executable, "-c", test[3]],
                env={**os.environ, "AUTOCLOCK_ADMIN_PORT": port},
                capture_output=True,
                timeout=20,
                check=False,
            )
            assert (done.returncode == 0) is ok, (name, port, done.stderr[-500:])
