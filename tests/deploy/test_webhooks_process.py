"""The webhook role answers every probe the manifests name, and the image's HEALTHCHECK works."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.deploy.consistency import ROOT, k8s_documents, parse_dockerfile

AUTOCLOCK = str(Path(sys.executable).parent / "autoclock")
STARTUP_S = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _probe_paths() -> set[str]:
    """Every HTTP path a manifest probes: k8s httpGet probes and compose healthchecks."""
    paths: set[str] = {"/metrics"}  # the Prometheus annotation on the webhooks pods
    for _, doc in k8s_documents(ROOT / "deploy" / "k8s"):
        pod = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        for container in pod.get("containers") or []:
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                get = (container.get(probe) or {}).get("httpGet")
                if get:
                    paths.add(get["path"])
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text(encoding="utf-8"))
    for service in compose["services"].values():
        test = " ".join((service.get("healthcheck") or {}).get("test") or [])
        paths.update(p for p in ("/healthz", "/readyz", "/metrics") if p in test)
    return paths


@pytest.fixture
def webhooks_server(redis_url: str, namespace: str, tmp_path: Path) -> Iterator[int]:
    """``autoclock webhooks`` on a free loopback port with the k8s starter rules."""
    port = _free_port()
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "AUTOCLOCK_NAMESPACE": namespace,
        "AUTOCLOCK_RULES_DIR": str(ROOT / "deploy" / "k8s" / "rules"),
        "AUTOCLOCK_DATA_DIR": str(tmp_path / "data"),
        "AUTOCLOCK_WEBHOOK_HOST": "127.0.0.1",
        "AUTOCLOCK_WEBHOOK_PORT": str(port),
        "AUTOCLOCK_LOG_FORMAT": "json",
    }
    log = (tmp_path / "webhooks.log").open("wb")
    proc = subprocess.Popen(
        [AUTOCLOCK, "webhooks"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "webhooks.log").read_text()
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("autoclock webhooks did not answer within 20 s")
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _healthcheck_code() -> str:
    """The Python the Dockerfile's HEALTHCHECK runs (exec form: python -c CODE)."""
    spec = parse_dockerfile((ROOT / "Dockerfile").read_text(encoding="utf-8")).healthcheck
    assert spec is not None
    argv = json.loads(spec[spec.index("CMD") + 3 :].strip())
    assert argv[:2] == ["python", "-c"]
    code: str = argv[2]
    assert "/proc/1/cmdline" in code
    return code


def _run_healthcheck(cmdline: list[str], port: int, tmp_path: Path) -> int:
    """Run the HEALTHCHECK as if PID 1 were ``cmdline`` (a file stands in for /proc/1)."""
    fake = tmp_path / "cmdline"
    fake.write_bytes(b"\0".join(arg.encode() for arg in cmdline) + b"\0")
    code = _healthcheck_code().replace("/proc/1/cmdline", str(fake))
    env = {**os.environ, "AUTOCLOCK_WEBHOOK_PORT": str(port)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, timeout=20, check=False
    )
    return done.returncode


def test_webhooks_command_serves_every_probed_path(webhooks_server: int) -> None:
    """/healthz, /readyz and /metrics, as the manifests probe them, answer 200."""
    paths = _probe_paths()
    assert {"/healthz", "/readyz", "/metrics"} <= paths
    for path in sorted(paths):
        response = httpx.get(f"http://127.0.0.1:{webhooks_server}{path}", timeout=5)
        assert response.status_code == 200, (path, response.text)
    metrics = httpx.get(f"http://127.0.0.1:{webhooks_server}/metrics", timeout=5).text
    assert "autoclock_queue_depth" in metrics


def test_image_healthcheck_probes_webhook_roles_and_passes_the_others(
    webhooks_server: int, tmp_path: Path
) -> None:
    """HEALTHCHECK: healthy webhook role passes, dead one fails, worker/scheduler pass."""
    live = _run_healthcheck(
        ["/sbin/docker-init", "--", "autoclock", "webhooks"], webhooks_server, tmp_path
    )
    assert live == 0
    assert _run_healthcheck(["autoclock", "run"], webhooks_server, tmp_path) == 0
    dead_port = _free_port()
    assert _run_healthcheck(["autoclock", "webhooks"], dead_port, tmp_path) != 0
    assert _run_healthcheck(["autoclock", "run"], dead_port, tmp_path) != 0
    for role in ("worker", "scheduler"):
        assert _run_healthcheck(shlex.split(f"autoclock {role}"), dead_port, tmp_path) == 0
