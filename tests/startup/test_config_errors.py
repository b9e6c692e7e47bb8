"""Configuration that cannot work: exit 3 and ONE line naming the variable (or file) and why.

Every case runs the real command in a subprocess, as an operator would.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AUTOCLOCK = [sys.executable, "-m", "worker.cli"]
RULES = REPO / "rules"


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WEBWORK_", "AUTOCLOCK_", "REDIS_URL"))
    }
    env.update(
        AUTOCLOCK_RULES_DIR=str(RULES),
        AUTOCLOCK_LOG_FORMAT="json",
        WEBWORK_BASE_URL="http://127.0.0.1:9/api/v2",  # never the real API from a test
    )
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AUTOCLOCK, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line_exit_3(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 3, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


SETTINGS_CASES = [
    ({"REDIS_URL": "garbage"}, "REDIS_URL"),
    ({"REDIS_URL": "redis://:hunter2pw@host:notaport/0"}, "REDIS_URL"),
    ({"REDIS_URL": "http://localhost:6379/0"}, "REDIS_URL"),
    ({"WEBWORK_CONFLICT_STATUSES": "notjson"}, "WEBWORK_CONFLICT_STATUSES"),
    ({"WEBWORK_ALREADY_TRACKING_PATTERNS": "[unclosed"}, "WEBWORK_ALREADY_TRACKING_PATTERNS"),
    ({"WEBWORK_BASE_URL": "garbage"}, "WEBWORK_BASE_URL"),
    ({"WEBWORK_BASE_URL": "file:///etc/passwd"}, "WEBWORK_BASE_URL"),
    ({"WEBWORK_BASE_URL": "ftp://api.webwork-tracker.com/api/v2"}, "WEBWORK_BASE_URL"),
    ({"WEBWORK_TOKEN": "replace-me"}, "WEBWORK_TOKEN"),
    ({"AUTOCLOCK_CLOCK_SKEW_S": "-5"}, "AUTOCLOCK_CLOCK_SKEW_S"),
    ({"AUTOCLOCK_WEBHOOK_PORT": "99999"}, "AUTOCLOCK_WEBHOOK_PORT"),
]


@pytest.mark.parametrize("command", [["history"], ["webhooks"]])
@pytest.mark.parametrize(("env", "variable"), SETTINGS_CASES)
def test_a_bad_setting_is_one_line_and_exit_3(tmp_path, command, env, variable):
    line = _one_line_exit_3(_run(command, _env(**env), tmp_path), variable)
    assert "hunter2pw" not in line


@pytest.mark.parametrize("role", ["worker", "webhooks", "scheduler"])
def test_the_roles_need_redis_url(tmp_path, role):
    """Only run and demo start an embedded Redis; a role without REDIS_URL names it."""
    result = _run([role], _env(WEBWORK_TOKEN="a-real-looking-token-123"), tmp_path)
    _one_line_exit_3(result, "REDIS_URL")
    assert not (tmp_path / ".autoclock").exists()


@pytest.mark.parametrize("command", [["run", "--port", "0"], ["history"]])
def test_an_unusable_data_dir_is_a_configuration_problem(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    env = _env(AUTOCLOCK_DATA_DIR=str(blocker), WEBWORK_TOKEN="a-real-looking-token-123")
    _one_line_exit_3(_run(command, env, tmp_path), "AUTOCLOCK_DATA_DIR")


@pytest.mark.parametrize("role", ["webhooks", "run"])
@pytest.mark.parametrize(
    ("value", "why"),
    [("replace-me", "placeholder"), ("changeme", "placeholder"), ("short-secret", "16 bytes")],
)
def test_placeholder_or_short_webhook_secrets_are_refused(tmp_path, redis_url, role, value, why):
    env = _env(
        REDIS_URL=redis_url,
        WEBWORK_TOKEN="a-real-looking-token-123",
        AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ=f"a-long-enough-secret-1,{value}",
    )
    line = _one_line_exit_3(
        _run([role, "--port", "0"], env, tmp_path), "AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ", why
    )
    assert value not in line


def test_webhook_secrets_in_dotenv_are_read_and_checked(tmp_path, redis_url):
    """.env holds secrets like every other setting: a placeholder there is refused too."""
    (tmp_path / ".env").write_text("AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ=replace-me\n")
    env = _env(REDIS_URL=redis_url)
    _one_line_exit_3(
        _run(["webhooks", "--port", "0"], env, tmp_path), "AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ"
    )


@pytest.mark.parametrize("role", ["webhooks", "run"])
def test_a_port_in_use_is_named_with_exit_3(tmp_path, redis_url, role):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = _env(
            REDIS_URL=redis_url,
            WEBWORK_TOKEN="a-real-looking-token-123",
            AUTOCLOCK_WEBHOOK_PORT=str(port),
        )
        _one_line_exit_3(_run([role], env, tmp_path), "AUTOCLOCK_WEBHOOK_PORT", "in use")
