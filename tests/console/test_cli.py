"""``autoclock console`` and ``autoclock run`` refuse a console off loopback without
credentials: exit 3, one line naming the variables, nothing started."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.console.conftest import RULES


@pytest.mark.parametrize(
    ("argv", "env"),
    [
        (["console", "--host", "0.0.0.0"], {}),
        (["console"], {"AUTOCLOCK_CONSOLE_HOST": "::"}),
        (["run"], {"AUTOCLOCK_CONSOLE_HOST": "0.0.0.0", "WEBWORK_TOKEN": "t"}),
        (["console"], {"AUTOCLOCK_CONSOLE_USER": "ops"}),  # a user without a password
    ],
)
def test_refused_off_loopback_without_credentials(
    argv: list[str], env: dict[str, str], redis_url: str, namespace: str
) -> None:
    full = {
        **os.environ,
        "REDIS_URL": redis_url,
        "AUTOCLOCK_NAMESPACE": namespace,
        "AUTOCLOCK_RULES_DIR": str(RULES),
        **env,
    }
    for name in ("AUTOCLOCK_CONSOLE_TOKEN", "AUTOCLOCK_CONSOLE_PASSWORD"):
        full.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "worker.cli", *argv],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("autoclock: ")
    assert "AUTOCLOCK_CONSOLE_" in lines[0]
