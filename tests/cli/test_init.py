"""``autoclock init [DIR]``: a starter site that passes ``rules check`` and holds no usable
secret; never overwriting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dotenv import dotenv_values

AUTOCLOCK = [sys.executable, "-m", "worker.cli"]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEBWORK_", "AUTOCLOCK_"))}
    return subprocess.run(
        [*AUTOCLOCK, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def test_init_writes_rules_that_check_and_an_env_without_usable_values(tmp_path):
    done = _run(["init", "site"], tmp_path)
    assert done.returncode == 0, done.stderr
    site = tmp_path / "site"
    assert {p.name for p in (site / "rules").iterdir()} >= {
        "people.yaml",
        "rules.yaml",
        "sources.yaml",
    }
    check = _run(["rules", "check"], site)  # AUTOCLOCK_RULES_DIR=rules from the new .env
    assert check.returncode == 0, check.stdout + check.stderr
    values = dotenv_values(site / ".env")
    assert values["AUTOCLOCK_RULES_DIR"] == "rules"
    secrets = {k: v for k, v in values.items() if "SECRET" in k or k == "WEBWORK_TOKEN"}
    assert "WEBWORK_TOKEN" in secrets
    assert "AUTOCLOCK_WEBHOOK_SECRET_KISI_HQ" in secrets
    assert set(secrets.values()) == {""}
    assert (site / ".env").stat().st_mode & 0o077 == 0


def test_init_never_overwrites(tmp_path):
    (tmp_path / ".env").write_text("WEBWORK_TOKEN=mine\n")
    done = _run(["init"], tmp_path)
    assert done.returncode == 1
    assert ".env" in done.stderr
    assert (tmp_path / ".env").read_text() == "WEBWORK_TOKEN=mine\n"
    assert not (tmp_path / "rules").exists()
