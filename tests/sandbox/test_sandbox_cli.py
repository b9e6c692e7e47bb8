"""``autoclock sandbox``: its help, and a real process answering curl-like calls."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from click.testing import CliRunner

from worker.cli import main
from worker.sandbox.server import bind


def test_help_lists_every_option():
    """``autoclock sandbox --help`` works and documents the fault and rejection options."""
    result = CliRunner().invoke(main, ["sandbox", "--help"])
    assert result.exit_code == 0
    for option in (
        "--port",
        "--seed",
        "--rpm",
        "--reject-status",
        "--already-tracking-message",
        "--not-tracking-message",
        "--latency-ms",
        "--error-rate",
        "--hang-rate",
        "--hang-s",
    ):
        assert option in result.output


def test_bad_seed_exits_3(tmp_path):
    """A broken seed file is refused with exit code 3 and the file named."""
    seed = tmp_path / "seed.yaml"
    seed.write_text("workspaces: nope\n")
    result = CliRunner().invoke(main, ["sandbox", "--seed", str(seed)])
    assert result.exit_code == 3
    assert "seed.yaml" in result.output


def test_running_sandbox_answers_curl(tmp_path):
    """A started sandbox serves start/stop, rejects a second start and an idle stop, caps at 60."""
    sock = bind()
    port = sock.getsockname()[1]
    sock.close()
    exe = Path(sys.executable).with_name("autoclock")
    out = (tmp_path / "out.txt").open("w+")
    proc = subprocess.Popen(
        [
            str(exe),
            "sandbox",
            "--port",
            str(port),
            "--reject-status",
            "409",
            "--already-tracking-message",
            "Already tracking, stop first",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "AUTOCLOCK_LOG_FORMAT": "json"},
    )
    base = f"http://127.0.0.1:{port}/api/v2"
    headers = {"Authorization": "Bearer sandbox-owner-token"}
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/_sandbox/state", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, "sandbox exited early"
                assert time.monotonic() < deadline, "sandbox did not come up"
                time.sleep(0.1)
        with httpx.Client(base_url=base + "/", headers=headers, timeout=5) as http:
            body = {"workspace_id": 1, "user_id": 42, "contract_id": 20}
            first = http.post("time-tracking/start", json=body)
            assert first.status_code == 200
            assert first.json()["data"]["start_time"]
            second = http.post("time-tracking/start", json=body)
            assert second.status_code == 409
            assert second.json() | {"meta": None} == {
                "success": False,
                "message": "Already tracking, stop first",
                "error": None,
                "meta": None,
            }
            stop = http.post("time-tracking/stop", json={"workspace_id": 1, "user_id": 42})
            assert stop.status_code == 200
            assert stop.json()["data"]["stopped_at"]
            idle = http.post("time-tracking/stop", json={"workspace_id": 1, "user_id": 42})
            assert idle.status_code == 409
            assert idle.json()["success"] is False
            statuses = [http.get("workspaces").status_code for _ in range(57)]  # requests 5..61
            assert statuses[:-1] == [200] * 56
            assert statuses[-1] == 429
            assert int(http.get("workspaces").headers["Retry-After"]) >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        out.seek(0)
        printed = out.read()
        out.close()
    assert f"http://127.0.0.1:{port}/api/v2" in printed
    assert "sandbox-owner-token" in printed
