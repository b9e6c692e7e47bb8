"""An empty people.yaml or rules.yaml (nothing, or only comments) is a problem, not a site
with nobody in it: ``rules check`` fails and the roles refuse to start (exit 3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from worker.rules.load import check_ruleset

PEOPLE = "people:\n  - email: a@example.com\n"
RULES = "rules:\n  - name: r\n    on: {kind: badge_in}\n    do: {action: start}\n"


@pytest.mark.parametrize("empty", ["", "\n\n", "# nobody yet\n", "---\n"])
@pytest.mark.parametrize("name", ["people.yaml", "rules.yaml"])
def test_an_empty_file_is_a_problem(tmp_path: Path, name: str, empty: str) -> None:
    (tmp_path / "people.yaml").write_text(PEOPLE)
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / name).write_text(empty)
    ruleset, problems = check_ruleset(tmp_path)
    assert ruleset is None
    assert problems == [f"{tmp_path / name}:1: {name} is empty: it lists no {name[:-5]}"]


@pytest.mark.parametrize("name", ["people.yaml", "rules.yaml"])
def test_rules_check_and_the_worker_refuse_it(tmp_path: Path, name: str) -> None:
    (tmp_path / "people.yaml").write_text(PEOPLE)
    (tmp_path / "rules.yaml").write_text(RULES)
    (tmp_path / name).write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOCLOCK_", "WEBWORK_"))}
    env["AUTOCLOCK_RULES_DIR"] = str(tmp_path)
    check = subprocess.run(
        [sys.executable, "-m", "worker.cli", "rules", "check"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode != 0
    assert f"{name} is empty" in check.stdout + check.stderr
    worker = subprocess.run(
        [sys.executable, "-m", "worker.cli", "worker"],
        env={**env, "REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert worker.returncode == 3
    assert f"{name}:1: {name} is empty" in worker.stderr
