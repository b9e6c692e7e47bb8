"""The README's demo command, then ``autoclock history``, as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AUTOCLOCK = [sys.executable, "-m", "worker.cli"]


def _env(redis_url: str, namespace: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBWORK_", "AUTOCLOCK_"))}
    env.update(
        REDIS_URL=redis_url, AUTOCLOCK_NAMESPACE=namespace, AUTOCLOCK_RULES_DIR=str(REPO / "rules")
    )
    env.update(extra)
    return env


def test_demo_prints_every_outcome_and_history_lists_them(redis_url, namespace):
    """The demo exits 0 with started, already_tracking, duplicate, stopped, unknown_person;
    ``history --json`` afterwards lists those outcomes."""
    demo = subprocess.run(
        [*AUTOCLOCK, "demo"],
        env=_env(redis_url, namespace),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    for result in ("started", "already_tracking", "duplicate", "stopped", "unknown_person"):
        assert f"-> {result}" in demo.stdout

    history = subprocess.run(
        [*AUTOCLOCK, "history", "--json", "-n", "100"],
        env=_env(redis_url, namespace),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    outcomes = [json.loads(line) for line in history.stdout.splitlines() if line.strip()]
    assert {o["result"] for o in outcomes} >= {
        "started",
        "already_tracking",
        "duplicate",
        "stopped",
        "unknown_person",
        "not_tracking",
    }
    assert all(o["trigger_id"].startswith("demo-") for o in outcomes)


def test_worker_refuses_broken_rules_with_file_and_line(redis_url, namespace, tmp_path):
    """A broken rules directory stops ``autoclock worker`` with exit 3 and file:line: reason."""
    (tmp_path / "people.yaml").write_text("people:\n  - email: a@example.com\n    badge: X\n")
    (tmp_path / "rules.yaml").write_text("rules: []\n")
    result = subprocess.run(
        [*AUTOCLOCK, "worker"],
        env=_env(redis_url, namespace, AUTOCLOCK_RULES_DIR=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert "people.yaml:3" in result.stderr


@pytest.mark.parametrize("variable", ["WEBWORK_RPM", "AUTOCLOCK_WORKER_THREADS"])
def test_invalid_settings_exit_3_naming_the_variable(redis_url, namespace, variable):
    """An invalid setting is one clear message naming the variable, and exit code 3."""
    result = subprocess.run(
        [*AUTOCLOCK, "history"],
        env=_env(redis_url, namespace, **{variable: "many"}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["worker", "run"])
def test_worker_without_a_token_exits_3_saying_so(redis_url, namespace, command):
    """Without WEBWORK_TOKEN the worker (and run) refuse to start with a clear reason."""
    result = subprocess.run(
        [*AUTOCLOCK, command],
        env=_env(redis_url, namespace),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 3
    assert "WEBWORK_TOKEN is not set" in result.stderr
    assert "Traceback" not in result.stderr
