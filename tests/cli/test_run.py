"""``autoclock run``: worker, webhook server and scheduler in one process, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.ports import free_port

REPO = Path(__file__).resolve().parents[2]


def test_run_serves_health_readiness_and_metrics_then_stops_on_sigterm(
    redis_url, namespace, sandbox
):
    """One process answers /healthz, /readyz and /metrics on its admin port (not on the
    webhook port, which serves /hooks/… only) and exits 0 on SIGTERM."""
    port = free_port()
    admin_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBWORK_", "AUTOCLOCK_"))}
    env.update(
        REDIS_URL=redis_url,
        AUTOCLOCK_NAMESPACE=namespace,
        AUTOCLOCK_RULES_DIR=str(REPO / "rules"),
        WEBWORK_TOKEN=sandbox.owner_token,
        WEBWORK_BASE_URL=sandbox.api_url,
        WEBWORK_WORKSPACE_ID="1",
        AUTOCLOCK_LOG_FORMAT="json",
        AUTOCLOCK_ADMIN_PORT=str(admin_port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "run", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{admin_port}"
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and health is None:
            try:
                health = httpx.get(f"{base}/healthz", timeout=1)
            except httpx.TransportError:
                time.sleep(0.2)
        assert health is not None
        assert health.status_code == 200
        assert httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        metrics = httpx.get(f"{base}/metrics", timeout=5)
        assert metrics.status_code == 200
        assert 'autoclock_queue_messages{queue="actions",state="delayed"}' in metrics.text
        assert 'autoclock_outcomes_total{result="failed"} 0.0' in metrics.text
        assert 'autoclock_role{role="scheduler"} 1.0' in metrics.text
        hooks = f"http://127.0.0.1:{port}"
        for path in ("/healthz", "/readyz", "/metrics"):
            assert httpx.get(hooks + path, timeout=5).status_code == 404, path
        assert httpx.post(f"{base}/hooks/kisi-hq", timeout=5).status_code in (404, 405)
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err[-2000:]
    assert sandbox.owner_token not in err
