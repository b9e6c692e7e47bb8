"""At start, ``worker`` and ``run`` make one authenticated call to WebWork.

A refused token or a wrong base URL exits 3 with one line; WebWork not answering starts the
process not ready (``/readyz`` says why) until WebWork answers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port
from worker.sandbox import start_sandbox

REPO = Path(__file__).resolve().parents[2]
AUTOCLOCK = [sys.executable, "-m", "worker.cli"]


def _env(redis_url: str, namespace: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WEBWORK_", "AUTOCLOCK_", "REDIS_URL"))
    }
    env.update(
        REDIS_URL=redis_url,
        AUTOCLOCK_NAMESPACE=namespace,
        AUTOCLOCK_RULES_DIR=str(REPO / "rules"),
        AUTOCLOCK_LOG_FORMAT="json",
        WEBWORK_WORKSPACE_ID="1",
    )
    env.update(extra)
    return env


@pytest.mark.parametrize("command", ["worker", "run"])
def test_a_refused_token_exits_3_naming_the_token_and_url(
    sandbox, redis_url, namespace, tmp_path, command
):
    env = _env(
        redis_url, namespace, WEBWORK_BASE_URL=sandbox.api_url, WEBWORK_TOKEN="wrong-token-1234567"
    )
    result = subprocess.run(
        [*AUTOCLOCK, command, "--port", "0"] if command == "run" else [*AUTOCLOCK, command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr[-2000:]
    assert f"WebWork refused WEBWORK_TOKEN at {sandbox.api_url}" in result.stderr
    assert "wrong-token-1234567" not in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["worker", "run"])
def test_a_base_url_without_api_v2_exits_3_naming_the_setting(
    sandbox, redis_url, namespace, tmp_path, command
):
    env = _env(
        redis_url, namespace, WEBWORK_BASE_URL=sandbox.url, WEBWORK_TOKEN=sandbox.owner_token
    )
    result = subprocess.run(
        [*AUTOCLOCK, command, "--port", "0"] if command == "run" else [*AUTOCLOCK, command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "check WEBWORK_BASE_URL" in lines[-1]
    assert "/api/v2" in lines[-1]


def test_unreachable_webwork_starts_not_ready_until_it_answers(redis_url, namespace, tmp_path):
    webwork_port = free_port()
    port = free_port()
    admin_port = free_port()
    env = _env(
        redis_url,
        namespace,
        WEBWORK_BASE_URL=f"http://127.0.0.1:{webwork_port}/api/v2",
        WEBWORK_TOKEN="sandbox-owner-token",
        AUTOCLOCK_ADMIN_PORT=str(admin_port),
    )
    process = subprocess.Popen(
        [*AUTOCLOCK, "run", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sandbox = None
    try:
        base = f"http://127.0.0.1:{admin_port}"
        deadline = time.monotonic() + 30
        ready = None
        while time.monotonic() < deadline and ready is None:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None
        assert ready.status_code == 503
        assert any("WebWork" in r for r in ready.json()["reasons"]), ready.json()
        sandbox = start_sandbox(port=webwork_port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = httpx.get(f"{base}/readyz", timeout=2)
            if ready.status_code == 200:
                break
            time.sleep(0.5)
        assert ready.status_code == 200, ready.text
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=60)
        if sandbox is not None:
            sandbox.stop()
    assert process.returncode == 0, err[-2000:]
    assert '"event": "webwork_unreachable"' in err
    assert '"event": "webwork_reachable"' in err
