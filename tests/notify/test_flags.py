"""Review flags notify the person and their manager once per flag: a clock-in rejected by
WebWork (a paused contract) reaches both the same morning, with no notify: on its rule, even
when the outcome is handled twice; a flag merges into a message the recipient gets anyway."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.notify.helpers import wait_until
from tests.pipeline.helpers import wait_for_outcomes
from worker.models import Result, Trigger, TriggerKind, utcnow
from worker.notify.actor import NOTIFY_QUEUE
from worker.notify.runtime import build_notifier
from worker.pipeline.broker import queue_stats
from worker.rules.load import load_ruleset
from worker.sandbox.seed import Seed

SAM = "sam.lee@example.com"
BOSS = "user0@example.com"


def _rules(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    people = {
        "defaults": {"timezone": "Europe/Berlin", "notify": ["hook"]},
        "people": [
            {"email": SAM, "name": "Sam Lee", "user_id": 43, "contract_id": 25, "manager": BOSS},
            {"email": BOSS, "name": "Bo Boss", "user_id": 1000},
        ],
    }
    (directory / "people.yaml").write_text(yaml.safe_dump(people))
    rules = {
        "rules": [
            {"name": "badge-in-starts", "on": {"kind": "badge_in"}, "do": {"action": "start"}}
        ]
    }
    (directory / "rules.yaml").write_text(yaml.safe_dump(rules))
    return directory


def test_a_rejected_clock_in_notifies_person_and_manager_once(
    sandbox_factory, pipeline_factory, json_receiver, monkeypatch, tmp_path
):
    monkeypatch.setenv("AUTOCLOCK_NOTIFY_CHANNEL_HOOK", json_receiver.url())
    rules = _rules(tmp_path / "rules")
    sandbox = sandbox_factory(seed=Seed.synthetic(1).with_edge_cases(), rpm=0)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, rules_dir=rules)
    notifier = build_notifier(
        pipeline.context.settings, pipeline.context.db, load_ruleset(rules, default_timezone="UTC")
    )
    notifier.start(2)
    try:
        trigger = Trigger(
            id="sam-in", source="webhook:doors", kind=TriggerKind.BADGE_IN, subject=SAM,
            occurred_at=utcnow(),
        )  # fmt: skip
        pipeline.queue.enqueue(trigger)
        [rejected] = wait_for_outcomes(pipeline.context.outcomes, 1)
        assert rejected.result is Result.REJECTED

        assert wait_until(lambda: len(json_receiver.posts) >= 2)
        assert notifier.consumer.handle(rejected) == 0  # handled again: nothing new
        assert wait_until(
            lambda: queue_stats(pipeline.context.db, pipeline.context.keys, NOTIFY_QUEUE).ready == 0
        )
        by = {p["recipient"]: p for p in json_receiver.posts}
        assert len(json_receiver.posts) == 2
        assert set(by) == {SAM, BOSS}
        for post in by.values():
            assert "Sam Lee's day needs review" in post["message"]
            assert "Needs review: the start rejected" in post["message"]
    finally:
        notifier.stop()
