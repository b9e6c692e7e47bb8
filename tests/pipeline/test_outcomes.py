"""The outcome log on a real Redis: once per delivery, newest-first filters, capped."""

from __future__ import annotations

from datetime import UTC, datetime

from worker.models import Outcome, Result, Trigger, TriggerKind
from worker.pipeline.outcomes import OutcomeLog
from worker.store import Keys


def _outcome(n: int, result: Result, person: str = "a@example.com") -> Outcome:
    trigger = Trigger(
        id=f"t{n}",
        source="manual",
        kind=TriggerKind.BADGE_IN,
        subject=person,
        occurred_at=datetime(2026, 1, 5, 9, n % 60, tzinfo=UTC),
    )
    return Outcome.for_trigger(trigger, f"delivery-{n}", result, "because", person=person)


def test_one_outcome_per_delivery_even_when_recorded_twice(redis_client, namespace):
    """A redelivered message that reaches the end again does not record a second outcome."""
    log = OutcomeLog(redis_client, Keys(namespace))
    assert log.record(_outcome(1, Result.STARTED)) is True
    assert log.record(_outcome(1, Result.STARTED)) is False
    assert [o.trigger_id for o in log.all()] == ["t1"]
    assert redis_client.hget(Keys(namespace)("metrics", "outcomes"), "started") == b"1"


def test_latest_filters_by_person_result_and_trigger(redis_client, namespace):
    """``history`` filters: newest N, by person, by result, by trigger id; oldest first."""
    log = OutcomeLog(redis_client, Keys(namespace))
    for n in range(1200):
        person = "b@example.com" if n % 3 == 0 else "a@example.com"
        log.record(_outcome(n, Result.STOPPED if n % 2 else Result.STARTED, person))

    latest = log.latest(5)
    assert [o.trigger_id for o in latest] == [f"t{n}" for n in range(1195, 1200)]
    only_b = log.latest(1000, person="B@example.com")
    assert len(only_b) == 400
    assert {o.person for o in only_b} == {"b@example.com"}
    stopped_b = log.latest(3, person="b@example.com", result=Result.STOPPED)
    assert [o.trigger_id for o in stopped_b] == ["t1185", "t1191", "t1197"]
    assert [o.trigger_id for o in log.latest(10, trigger_id="t42")] == ["t42"]


def test_the_stream_is_capped(redis_client, namespace):
    """The audit history keeps about ``maxlen`` entries, not an unbounded stream."""
    log = OutcomeLog(redis_client, Keys(namespace), maxlen=100)
    for n in range(1000):
        log.record(_outcome(n, Result.STARTED))
    assert 100 <= redis_client.xlen(log.stream) < 300
