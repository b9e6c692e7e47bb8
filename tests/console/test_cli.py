"""``autoclock console`` refuses to serve off loopback without credentials (exit 3, one line
naming the variables, nothing started); other roles then leave the console off their admin
listener and keep their health checks."""

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
        (["console"], {"AUTOCLOCK_ADMIN_HOST": "::"}),
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


def test_other_roles_leave_the_console_off_an_admin_listener_off_loopback(redis_url: str) -> None:
    import redis
    from pydantic import SecretStr
    from starlette.routing import Mount

    from worker.cli.console import console_mount
    from worker.settings import Settings

    client = redis.Redis.from_url(redis_url)
    try:
        off = Settings(admin_host="0.0.0.0", rules_dir=RULES)
        assert console_mount(off, client) == []
        with_token = off.model_copy(update={"console_token": SecretStr("t" * 20)})
        (mount,) = console_mount(with_token, client)
        assert isinstance(mount, Mount)
        assert mount.path == "/console"
        (local,) = console_mount(Settings(admin_host="127.0.0.1", rules_dir=RULES), client)
        assert isinstance(local, Mount)
    finally:
        client.close()
