"""A 60 s WebWork outage at the real 60 rpm: transient errors retry until the deadline."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.pipeline.helpers import BADGE_RULES, synthetic_email, wait_for_outcomes, write_rules
from worker.models import Result, Trigger, TriggerKind, utcnow
from worker.pipeline.dlq import DeadLetters
from worker.sandbox.seed import Seed

PEOPLE = 8
OUTAGE_S = 60


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_60_s_outage_at_60_rpm_applies_every_action_and_dead_letters_none(
    sandbox_factory, pipeline_factory, tmp_path: Path
):
    """8 starts with 15-minute deadlines, WebWork answering 503 for the first 60 s: every
    start applies once WebWork is back, none is dead-lettered, and no current-data call is
    spent (a 503 proves nothing was applied). The current-data calls are reported."""
    sandbox = sandbox_factory(seed=Seed.synthetic(PEOPLE), rpm=60)
    rules = {**BADGE_RULES, "policy": {"max_delay": "15m"}}
    pipeline = pipeline_factory(
        sandbox.api_url,
        sandbox.owner_token,
        rules_dir=write_rules(tmp_path / "rules", PEOPLE, rules=rules),
        webwork_rpm=60,
    )
    sandbox.control.set_faults(outage_s=OUTAGE_S)
    now = utcnow()
    for p in range(PEOPLE):
        pipeline.queue.enqueue(
            Trigger(
                id=f"outage-{p}",
                source="webhook:test",
                kind=TriggerKind.BADGE_IN,
                subject=synthetic_email(p),
                occurred_at=now,
            )
        )

    outcomes = wait_for_outcomes(pipeline.context.outcomes, PEOPLE, timeout_s=540)

    calls = sandbox.control.calls()
    paths = Counter((c.path.rsplit("/", 1)[-1], c.status) for c in calls)
    took = max(o.recorded_at for o in outcomes) - now
    print(
        f"{PEOPLE} starts through a {OUTAGE_S} s outage in {took.total_seconds():.0f} s; "
        f"calls {sorted(paths.items())}; current-data calls: "
        f"{sum(n for (path, _), n in paths.items() if path == 'current-data')}; attempts "
        f"{sorted(Counter(o.attempts for o in outcomes).items())}"
    )
    assert Counter(o.result for o in outcomes) == Counter({Result.STARTED: PEOPLE})
    assert DeadLetters(pipeline.context.db, pipeline.context.keys).list() == []
    assert paths[("start", 200)] == PEOPLE
    assert not [c for c in calls if c.path.endswith("current-data")]
    assert [c.status for c in calls if c.status not in (200, 503)] == []  # never a 429
    assert {t.user_id for t in sandbox.control.state().trackers} == {
        1000 + p for p in range(PEOPLE)
    }
    # attempts tell the truth: each outcome counts the failed calls and the one that applied
    failed = Counter(c.user_id for c in calls if c.status == 503)
    assert {o.subject: o.attempts for o in outcomes} == {
        synthetic_email(p): failed[1000 + p] + 1 for p in range(PEOPLE)
    }


def test_a_leave_lookup_failing_for_longer_than_max_attempts_retries_until_the_deadline(
    sandbox_factory, pipeline_factory, tmp_path: Path
):
    """A rule that needs the leave API meets an outage longer than AUTOCLOCK_MAX_ATTEMPTS
    backoffs: the evaluation keeps retrying (the rule's deadline is 15 min away) and the start
    applies once WebWork is back, instead of ending `failed`."""
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=0)
    rules = {
        "policy": {"max_delay": "15m"},
        "rules": [
            {
                "name": "in-unless-on-leave",
                "on": {"kind": "badge_in"},
                "when": {"not_on_leave": True},
                "do": {"action": "start"},
            }
        ],
    }
    pipeline = pipeline_factory(
        sandbox.api_url,
        sandbox.owner_token,
        rules_dir=write_rules(tmp_path / "rules", 1, rules=rules),
        max_attempts=2,
        max_backoff_s=1.0,
    )
    sandbox.control.set_faults(outage_s=6)
    pipeline.queue.enqueue(
        Trigger(
            id="leave-outage",
            source="webhook:test",
            kind=TriggerKind.BADGE_IN,
            subject=synthetic_email(0),
            occurred_at=utcnow(),
        )
    )

    (outcome,) = wait_for_outcomes(pipeline.context.outcomes, 1, timeout_s=60)

    assert outcome.result is Result.STARTED, outcome.reason
    leaves = [c.status for c in sandbox.control.calls() if c.path.endswith("/leaves")]
    assert leaves.count(503) > 2  # more tries than AUTOCLOCK_MAX_ATTEMPTS
    assert leaves[-1] == 200
