"""``autoclock run`` with no REDIS_URL: the embedded redis-server (>= 7 from PATH when there is
one) is named at start and stopped with run — SIGTERM, SIGINT, even SIGKILL leave no
redis-server behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port
from worker.redisserver import find_redis_server

REPO = Path(__file__).resolve().parents[2]


def _servers_for(directory: Path) -> list[int]:
    """Processes working in ``directory/redis`` (redis-server changes to its --dir; its
    process title no longer shows its arguments)."""
    target = str((directory / "redis").resolve())
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.readlink(proc / "cwd") == target:
                found.append(int(proc.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_run_leaves_no_redis_server_behind(sandbox, tmp_path, stop):
    data = tmp_path / "data"
    admin_port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WEBWORK_", "AUTOCLOCK_", "REDIS_URL"))
    }
    env.update(
        AUTOCLOCK_DATA_DIR=str(data),
        AUTOCLOCK_RULES_DIR=str(REPO / "rules"),
        AUTOCLOCK_ADMIN_PORT=str(admin_port),
        AUTOCLOCK_LOG_FORMAT="json",
        WEBWORK_BASE_URL=sandbox.api_url,
        WEBWORK_TOKEN=sandbox.owner_token,
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "worker.cli", "run", "--port", str(free_port())],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{admin_port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        else:
            raise AssertionError(log.read_text()[-3000:])
        assert len(_servers_for(data)) == 1
        line = next(x for x in log.read_text().splitlines() if "autoclock running" in x)
        started = json.loads(line)
        expected = find_redis_server()
        assert f"redis-server {expected.version}" in started["redis"]
        assert started["webwork"] == sandbox.api_url
    finally:
        run.send_signal(stop)
        code = run.wait(timeout=60)
    if stop is not signal.SIGKILL:
        assert code == 0, log.read_text()[-3000:]
    deadline = time.monotonic() + 10
    while _servers_for(data) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _servers_for(data) == []
