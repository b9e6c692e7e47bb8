"""The tests and benchmarks use only a Redis that is named (AUTOCLOCK_TEST_REDIS_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
def test_print_url(redis_url):
    print("REDIS_URL_IS=" + redis_url)
"""


def _session_url(tmp_path: Path, **env_extra: str) -> str:
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if k not in ("AUTOCLOCK_TEST_REDIS_URL",)}
    env.update(env_extra)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-s",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(REPO),
            str(probe),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if "REDIS_URL_IS=" in line]
    assert lines, result.stdout
    return lines[0].split("REDIS_URL_IS=", 1)[1].strip()


def test_without_a_named_redis_the_session_starts_its_own(tmp_path):
    """REDIS_URL (a deployment's, say) and a server on 127.0.0.1:6379 are never picked up."""
    url = _session_url(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")
    assert url.startswith("unix://"), url
    assert "6379" not in url


def test_the_named_redis_is_used(tmp_path, redis_url):
    url = _session_url(tmp_path, AUTOCLOCK_TEST_REDIS_URL=redis_url)
    assert url == redis_url
