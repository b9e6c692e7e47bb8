"""The three atomic steps of an action (``pipeline/atomic.py``) on a real Redis: what they
leave for a redelivery, and what they must never do (reopen a trigger that is done, keep a
lock, forget a decision an older release kept)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from tests.pipeline.helpers import synthetic_email, wait_for_outcomes, write_rules
from worker.models import Outcome, Result, Trigger, TriggerKind, utcnow
from worker.pipeline.atomic import Atomic
from worker.pipeline.broker import MESSAGE_MAX_AGE_MS
from worker.pipeline.ledger import Ledger, PersonLock
from worker.pipeline.limiter import RateLimiter
from worker.pipeline.outcomes import OutcomeLog
from worker.pipeline.state import TrackerState
from worker.sandbox.seed import Seed
from worker.store import Keys

PERSON = "dana@example.com"


def _atomic(client: redis.Redis, keys: Keys, *, dedupe_ttl_s: int = 60) -> Atomic:
    return Atomic(
        client,
        keys,
        ledger=Ledger(client, keys, ttl_s=dedupe_ttl_s),
        state=TrackerState(client, keys, ttl_s=900),
        outcomes=OutcomeLog(client, keys),
        limiter=RateLimiter(client, keys, rpm=1_000),
        locks=PersonLock(client, keys, ttl_ms=70_000),
    )


def _outcome(delivery: str, trigger_id: str, person: str | None = None) -> Outcome:
    return Outcome(
        result=Result.FAILED,
        reason="evaluation failed: boom",
        trigger_id=trigger_id,
        delivery_id=delivery,
        source="webhook:test",
        kind=TriggerKind.BADGE_IN,
        subject=PERSON,
        occurred_at=datetime.now(UTC),
        person=person,
    )


def test_the_final_step_releases_the_lock_even_when_the_outcome_names_no_person(
    redis_client: redis.Redis, namespace: str
):
    keys = Keys(namespace)
    steps = _atomic(redis_client, keys)
    snap = steps.begin(delivery="d-1", trigger_id="t-1", person=PERSON, action_key="a-1")
    assert snap.locked
    # an evaluation that failed records an outcome without a person
    assert steps.end(_outcome("d-1", "t-1"), token=snap.token, lock_person=PERSON, claim="t-1")
    assert redis_client.exists(keys("lock", PERSON)) == 0


def test_a_done_trigger_is_never_reopened_and_outlives_a_short_dedupe_ttl(
    redis_client: redis.Redis, namespace: str
):
    keys = Keys(namespace)
    steps = _atomic(redis_client, keys, dedupe_ttl_s=60)
    snap = steps.begin(delivery="d-1", trigger_id="t-1", person=PERSON, action_key="a-1")
    assert steps.end(
        _outcome("d-1", "t-1", PERSON), token=snap.token, lock_person=PERSON, claim="t-1"
    )
    # a late hand-over of the same delivery tries to keep its decision: the claim stays done
    steps.keep_decision("t-1", "d-1", '{"verb": "start"}')
    claim = redis_client.get(keys("trigger", "t-1"))
    assert claim is not None
    assert claim.endswith(b"\x1edone")
    # done lives as long as a message of the delivery may come back, not the 60 s dedupe TTL
    assert redis_client.ttl(keys("trigger", "t-1")) > MESSAGE_MAX_AGE_MS // 1000 - 60
    # and the delivery's outcome is not recorded twice
    assert not steps.end(
        _outcome("d-1", "t-1", PERSON), token=None, lock_person=PERSON, claim="t-1"
    )
    assert redis_client.xlen(keys("outcomes")) == 1
    # a redelivery of the evaluation finds it done: nothing to decide, no lock taken
    again = steps.begin(delivery="d-1", trigger_id="t-1", person=PERSON, action_key="a-1")
    assert again.done
    assert not again.locked


def test_a_decision_an_older_release_kept_is_resent_not_decided_again(
    redis_client: redis.Redis, namespace: str
):
    """Before the claim kept decisions they lived in ``decision:<delivery>``; a redelivery that
    reaches a new worker must find it (deciding again after a call is a second effect)."""
    keys = Keys(namespace)
    steps = _atomic(redis_client, keys)
    redis_client.set(keys("trigger", "t-2"), "d-2")  # the older release's claim
    redis_client.set(keys("decision", "d-2"), '{"verb": "stop"}')
    snap = steps.begin(delivery="d-2", trigger_id="t-2", person=PERSON, action_key="a-2")
    assert snap.decision == '{"verb": "stop"}'
    assert not snap.locked  # it is resent as its own message, which takes the lock


def test_an_outcome_guard_an_older_release_wrote_still_counts(
    redis_client: redis.Redis, namespace: str
):
    keys = Keys(namespace)
    steps = _atomic(redis_client, keys)
    redis_client.set(keys("trigger", "t-3"), "d-3")
    redis_client.set(keys("outcome-guard", "d-3"), "1")  # recorded by the older release
    assert not steps.end(
        _outcome("d-3", "t-3", PERSON), token=None, lock_person=PERSON, claim="t-3"
    )
    assert redis_client.xlen(keys("outcomes")) == 0


def test_an_evaluation_that_ends_failed_leaves_the_person_free(
    sandbox_factory, pipeline_factory, tmp_path: Path
):
    """The leave API is down and the rule's deadline has passed: the evaluation ends
    `failed`, and the person's next trigger is applied at once (the lock the fast path took
    for the evaluation is released with the outcome)."""
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=0)
    rules = {
        "policy": {"max_delay": "1m"},
        "rules": [
            {
                "name": "in-unless-on-leave",
                "on": {"kind": "badge_in"},
                "when": {"not_on_leave": True},
                "do": {"action": "start"},
            },
            {"name": "out", "on": {"kind": "badge_out"}, "do": {"action": "stop"}},
        ],
    }
    pipeline = pipeline_factory(
        sandbox.api_url,
        sandbox.owner_token,
        rules_dir=write_rules(tmp_path / "rules", 1, rules=rules),
        max_attempts=1,
    )
    sandbox.control.set_faults(outage_s=30)
    email = synthetic_email(0)
    pipeline.queue.enqueue(
        Trigger(
            id="late-in",
            source="webhook:test",
            kind=TriggerKind.BADGE_IN,
            subject=email,
            occurred_at=utcnow() - timedelta(minutes=5),  # past the rule's 1 min deadline
        )
    )
    (failed,) = wait_for_outcomes(pipeline.context.outcomes, 1, timeout_s=30)
    assert failed.result is Result.FAILED, failed.reason
    keys = pipeline.context.keys
    assert pipeline.context.db.exists(keys("lock", email)) == 0
