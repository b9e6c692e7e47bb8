"""``autoclock trigger``: any source, ``--at`` read as ``rules explain --at`` reads it, and a
``no_rule`` outcome that gives every rule's reason."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.pipeline.helpers import wait_for_outcomes
from tests.pipeline.processes import AUTOCLOCK, worker_env
from tests.scheduler.helpers import queued_triggers
from worker.models import Result
from worker.pipeline.outcomes import OutcomeLog
from worker.sandbox.seed import Seed
from worker.settings import Settings
from worker.store import Keys

RULES = {
    "policy": {"max_delay": "2h"},
    "rules": [
        {"name": "door-in", "on": {"source": "webhook:*", "kind": "badge_in"},
         "do": {"action": "start"}},
        {"name": "door-out", "on": {"source": "webhook:*", "kind": "badge_out"},
         "do": {"action": "stop"}},
        {"name": "end-of-day", "on": {"source": "schedule:*", "kind": "tick"},
         "do": {"action": "stop"}},
    ],
}  # fmt: skip


def _rules(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "people.yaml").write_text(
        yaml.safe_dump(
            {
                "defaults": {"timezone": "America/Chicago"},
                "people": [{"email": "user0@example.com", "user_id": 1000}],
            }
        )
    )
    (directory / "sources.yaml").write_text(
        yaml.safe_dump({"webhooks": [{"name": "front-door", "vendor": "kisi"}]})
    )
    (directory / "rules.yaml").write_text(yaml.safe_dump(RULES))
    return directory


def _env(settings: Settings, rules: Path, api_url: str = "http://127.0.0.1:9/api/v2") -> dict:
    return worker_env(
        api_url=api_url,
        token="unused-token-1234",
        redis_url=settings.redis_url,
        namespace=settings.namespace,
        rules_dir=rules,
        data_dir=rules.parent / "data",
    )


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [AUTOCLOCK, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(
    "at",
    [
        "2026-03-29T18:05+02:00",
        "2026-03-29T18:05",
        "2026-03-29 18:05:30",
        "2026-03-29T16:05Z",
        "2026-11-01T01:30",  # Chicago's repeated hour: the first one, as explain reads it
        "2026-03-29",
    ],
)
def test_trigger_at_reads_every_form_rules_explain_reads_to_the_same_instant(
    settings: Settings, redis_client, tmp_path: Path, at: str
) -> None:
    rules = _rules(tmp_path / "rules")
    env = _env(settings, rules)
    explained = _run(
        env, "rules", "explain", "--rules-dir", str(rules), "--kind", "badge_in",
        "--subject", "user0@example.com", "--source", "webhook:front-door", "--at", at, "--json",
    )  # fmt: skip
    assert explained.returncode == 0, explained.stderr
    expected = datetime.fromisoformat(json.loads(explained.stdout)["trigger"]["occurred_at"])
    sent = _run(
        env, "trigger", "--kind", "badge_in", "--subject", "user0@example.com",
        "--source", "webhook:front-door", "--at", at,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    (queued,) = [
        t
        for t in queued_triggers(redis_client, settings.namespace)
        if t["id"] == sent.stdout.strip()
    ]
    assert datetime.fromisoformat(queued["occurred_at"]) == expected
    assert queued["source"] == "webhook:front-door"


def test_trigger_refuses_an_unknown_source_and_a_bad_time(
    settings: Settings, tmp_path: Path
) -> None:
    env = _env(settings, _rules(tmp_path / "rules"))
    typo = _run(
        env,
        "trigger",
        "--kind",
        "badge_in",
        "--subject",
        "user0@example.com",
        "--source",
        "webhook:front-dor",
    )
    assert typo.returncode == 2
    assert "unknown source 'webhook:front-dor'" in typo.stderr
    assert "did you mean 'webhook:front-door'" in typo.stderr
    bad = _run(
        env, "trigger", "--kind", "badge_in", "--subject", "user0@example.com", "--at", "yesterday"
    )
    assert bad.returncode == 2
    assert "not an ISO 8601 time" in bad.stderr


def test_a_manual_trigger_no_rule_outcome_gives_every_rules_reason_and_a_source_matches(
    settings: Settings, redis_client, sandbox_factory, tmp_path: Path
) -> None:
    """source manual: a note before, then no_rule naming each rule; --source webhook: starts."""
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=0)
    rules = _rules(tmp_path / "rules")
    env = _env(settings, rules, sandbox.api_url)
    env["WEBWORK_TOKEN"] = sandbox.owner_token
    worker = subprocess.Popen(
        [AUTOCLOCK, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        manual = _run(env, "trigger", "--kind", "badge_in", "--subject", "user0@example.com")
        assert manual.returncode == 0, manual.stderr
        assert "note: no rule listens to badge_in from manual; it will end no_rule" in manual.stderr

        log = OutcomeLog(redis_client, Keys(settings.namespace))
        (outcome,) = wait_for_outcomes(log, 1)
        assert outcome.result is Result.NO_RULE
        assert outcome.trigger_id == manual.stdout.strip()
        for reason in (
            "door-in skipped: source manual does not match webhook:*",
            "door-out skipped: source manual does not match webhook:*",
            "end-of-day skipped: source manual does not match schedule:*",
        ):
            assert reason in outcome.reason
        door = _run(
            env,
            "trigger",
            "--kind",
            "badge_in",
            "--subject",
            "user0@example.com",
            "--source",
            "webhook:front-door",
        )
        assert door.returncode == 0, door.stderr
        assert door.stderr == ""
        second = wait_for_outcomes(log, 2)[-1]
        assert second.result is Result.STARTED
        assert second.source == "webhook:front-door"
    finally:
        worker.terminate()
        worker.wait(30)
