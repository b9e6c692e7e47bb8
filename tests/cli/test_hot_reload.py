"""Hot reload under a running ``autoclock run``: an edit changes the next decision; a broken
edit changes nothing, is logged at error level and shows in /readyz; outcomes carry the
version of the rules that decided them."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import httpx
import yaml

from tests.pipeline.helpers import wait_for_outcomes
from tests.pipeline.processes import AUTOCLOCK, worker_env
from tests.ports import free_port
from worker.models import Result
from worker.pipeline.outcomes import OutcomeLog
from worker.rules.load import load_ruleset
from worker.sandbox.seed import Seed
from worker.settings import Settings
from worker.store import Keys

EOD = {"name": "end-of-day", "on": {"kind": "tick"}, "do": {"action": "stop"}}
BADGE_IN = {"name": "badge-in-starts", "on": {"kind": "badge_in"}, "do": {"action": "start"}}
BADGE_OUT = {"name": "badge-out-stops", "on": {"kind": "badge_out"}, "do": {"action": "stop"}}


def _write(rules: Path, *specs: dict[str, object], extra: str = "") -> str:
    text = yaml.safe_dump({"policy": {"max_delay": "2h"}, "rules": list(specs)}) + extra
    tmp = rules / "rules.yaml.tmp"
    tmp.write_text(text)
    tmp.replace(rules / "rules.yaml")  # as editors save: a new file in one rename
    return text


def _wait(predicate, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def test_editing_rules_under_autoclock_run_changes_the_next_decision_and_a_broken_edit_nothing(
    settings: Settings, redis_client, sandbox_factory, tmp_path: Path
) -> None:
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=0)
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "people.yaml").write_text(
        yaml.safe_dump(
            {
                "defaults": {"timezone": "Europe/Berlin"},
                "people": [{"email": "user0@example.com", "user_id": 1000}],
            }
        )
    )
    _write(rules, EOD)
    v1 = load_ruleset(rules).version
    port, admin_port = free_port(), free_port()
    env = worker_env(
        api_url=sandbox.api_url,
        token=sandbox.owner_token,
        redis_url=settings.redis_url,
        namespace=settings.namespace,
        rules_dir=rules,
        data_dir=tmp_path / "data",
        AUTOCLOCK_LOG_LEVEL="info",
        AUTOCLOCK_ADMIN_PORT=str(admin_port),
    )
    log_path = tmp_path / "run.log"
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            [AUTOCLOCK, "run", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    outcomes = OutcomeLog(redis_client, Keys(settings.namespace))
    base = f"http://127.0.0.1:{admin_port}"  # the admin listener: /healthz, /readyz, /metrics

    def trigger(kind: str) -> None:
        done = subprocess.run(
            [AUTOCLOCK, "trigger", "--kind", kind, "--subject", "user0@example.com"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr

    def ready() -> dict[str, object] | None:
        try:
            return httpx.get(f"{base}/readyz", timeout=2).json()
        except httpx.HTTPError:
            return None

    try:
        assert _wait(ready), log_path.read_text()[-3000:]
        trigger("badge_in")
        (first,) = wait_for_outcomes(outcomes, 1)
        assert first.result is Result.NO_RULE
        assert first.rules_version == v1

        # 1. a valid edit: badge-in now starts
        _write(rules, BADGE_IN, BADGE_OUT, EOD)
        v2 = load_ruleset(rules).version
        assert _wait(lambda: "rules reloaded" in log_path.read_text()), log_path.read_text()[-3000:]
        trigger("badge_in")
        second = wait_for_outcomes(outcomes, 2)[-1]
        assert second.result is Result.STARTED
        assert second.rules_version == v2
        assert [t.user_id for t in sandbox.control.state().trackers] == [1000]

        # 2. a broken edit (badge-out removed, a typo added): nothing changes
        _write(rules, BADGE_IN, EOD | {"colour": "red"})
        problem = _wait(lambda: [w for w in (ready() or {}).get("warnings", []) if "colour" in w])
        assert problem, ready()
        assert "rules.yaml:" in problem[0]
        assert "unknown key 'colour'" in problem[0]
        readiness = ready()
        assert readiness is not None
        assert readiness["status"] == "ready"
        assert any(f"still using version {v2}" in w for w in readiness["warnings"])
        errors = [
            json.loads(line)
            for line in log_path.read_text().splitlines()
            if line.startswith("{") and "colour" in line
        ]
        assert errors
        assert all(e["level"] == "error" for e in errors)
        trigger("badge_out")
        third = wait_for_outcomes(outcomes, 3)[-1]
        assert third.result is Result.STOPPED  # by the rule the broken edit removed
        assert third.rules_version == v2
        assert sandbox.control.state().trackers == []

        # 3. fixed again, and told by SIGHUP: the warning goes away
        _write(rules, BADGE_IN, EOD)
        process.send_signal(signal.SIGHUP)
        assert _wait(lambda: not (ready() or {"warnings": ["?"]}).get("warnings")), ready()
        trigger("badge_out")
        fourth = wait_for_outcomes(outcomes, 4)[-1]
        assert fourth.result is Result.NO_RULE
        assert fourth.rules_version == load_ruleset(rules).version
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(60)
    assert process.returncode == 0, log_path.read_text()[-3000:]
