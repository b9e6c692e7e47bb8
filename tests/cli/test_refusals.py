"""Refusals of the CLI, as a user meets them (subprocesses). The demo itself:
test_demo_then_run.py."""

from __future__ import annotations

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
