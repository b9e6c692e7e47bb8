"""Test helpers for the trigger path: a synthetic rules directory and waiting for outcomes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import yaml

from worker.models import Outcome
from worker.pipeline.outcomes import OutcomeLog

BADGE_RULES = {
    "policy": {"max_delay": "2h"},
    "rules": [
        {"name": "badge-in-starts", "on": {"kind": "badge_in"}, "do": {"action": "start"}},
        {"name": "badge-out-stops", "on": {"kind": "badge_out"}, "do": {"action": "stop"}},
        {"name": "end-of-day-stop", "on": {"kind": "tick"}, "do": {"action": "stop"}},
    ],
}


def synthetic_email(i: int) -> str:
    return f"user{i}@example.com"


def write_rules(
    directory: Path,
    people: int,
    *,
    start_user_id: int = 1000,
    rules: dict[str, object] | None = None,
    with_user_ids: bool = True,
) -> Path:
    """A rules directory with ``people`` synthetic people (matching ``Seed.synthetic``)."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    for i in range(people):
        entry: dict[str, object] = {"email": synthetic_email(i), "badges": [f"B{i:05d}"]}
        if with_user_ids:
            entry["user_id"] = start_user_id + i
        entries.append(entry)
    (directory / "people.yaml").write_text(
        yaml.safe_dump({"defaults": {"timezone": "Europe/Berlin"}, "people": entries})
    )
    (directory / "rules.yaml").write_text(yaml.safe_dump(rules or BADGE_RULES))
    return directory


def wait_for_outcomes(
    log: OutcomeLog,
    count: int,
    *,
    timeout_s: float = 90.0,
    until: Callable[[list[Outcome]], bool] | None = None,
) -> list[Outcome]:
    """Poll the outcome stream until ``count`` outcomes exist (bounded by ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    outcomes: list[Outcome] = []
    while time.monotonic() < deadline:
        outcomes = log.all()
        if len(outcomes) >= count and (until is None or until(outcomes)):
            return outcomes
        time.sleep(0.1)
    return outcomes
