"""The trigger path end to end: real Redis broker, worker threads, the real client, a sandbox."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.pipeline.helpers import synthetic_email, wait_for_outcomes
from worker.models import Result, Trigger, TriggerKind
from worker.sandbox.seed import Seed

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)


def _badge(person: int, step: int, kind: TriggerKind) -> Trigger:
    return Trigger(
        id=f"t-{person}-{step}",
        source="webhook:test",
        kind=kind,
        subject=synthetic_email(person),
        occurred_at=T0 + timedelta(minutes=step),
    )


def test_200_triggers_for_50_people_end_in_one_outcome_each(sandbox_factory, pipeline_factory):
    """Every trigger ends in exactly one outcome and the sandbox ends in the expected states."""
    sandbox = sandbox_factory(seed=Seed.synthetic(50), rpm=0)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, people=50)
    expected_tracking = set()
    triggers = []
    for person in range(50):
        kinds = [TriggerKind.BADGE_IN, TriggerKind.BADGE_OUT, TriggerKind.BADGE_IN]
        kinds.append(TriggerKind.BADGE_OUT if person % 2 else TriggerKind.BADGE_IN)
        if kinds[-1] is TriggerKind.BADGE_IN:
            expected_tracking.add(1000 + person)
        triggers += [_badge(person, step, kind) for step, kind in enumerate(kinds)]
    for trigger in triggers:
        pipeline.queue.enqueue(trigger)

    outcomes = wait_for_outcomes(pipeline.context.outcomes, 200)

    per_trigger = Counter(o.trigger_id for o in outcomes)
    assert len(outcomes) == 200
    assert per_trigger == Counter({t.id: 1 for t in triggers})
    assert {o.result for o in outcomes} <= {
        Result.STARTED,
        Result.STOPPED,
        Result.SUPERSEDED,
        Result.ALREADY_TRACKING,
        Result.NOT_TRACKING,
    }
    state = sandbox.control.state()
    assert {tracker.user_id for tracker in state.trackers} == expected_tracking


def test_duplicate_unknown_and_unmatched_triggers_are_outcomes(sandbox_factory, pipeline_factory):
    """A repeated trigger is a duplicate, an unknown badge and an unmatched kind are recorded."""
    sandbox = sandbox_factory(seed=Seed.synthetic(2), rpm=0)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, people=2)
    start = _badge(0, 0, TriggerKind.BADGE_IN)
    pipeline.queue.enqueue(start)
    pipeline.queue.enqueue(start)
    pipeline.queue.enqueue(
        Trigger(
            id="stranger",
            source="webhook:test",
            kind=TriggerKind.BADGE_IN,
            subject="NOBODY-1",
            occurred_at=T0,
        )
    )
    pipeline.queue.enqueue(
        Trigger(
            id="shift",
            source="calendar:x",
            kind=TriggerKind.SHIFT_START,
            subject=synthetic_email(1),
            occurred_at=T0,
        )
    )

    outcomes = wait_for_outcomes(pipeline.context.outcomes, 4)

    results = Counter(o.result for o in outcomes)
    assert results == Counter(
        {Result.STARTED: 1, Result.DUPLICATE: 1, Result.UNKNOWN_PERSON: 1, Result.NO_RULE: 1}
    )
    starts = [c for c in sandbox.control.calls() if c.path.endswith("/time-tracking/start")]
    assert len(starts) == 1
