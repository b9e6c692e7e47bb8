"""The outcome search that the Person's day and Outcomes pages use: Redis keeps only entries
whose JSON mentions a value, so the fragment must match however pydantic writes the value
(escapes, non-ASCII, case)."""

from __future__ import annotations

from datetime import UTC, datetime

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from worker.console.day import _fragment
from worker.models import Outcome, Result, TriggerKind
from worker.pipeline.outcomes import OutcomeLog
from worker.store import Keys

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=24
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(subject=_TEXT, other=_TEXT, upper=st.booleans())
def test_an_outcome_is_found_by_its_subject_whatever_the_text(
    redis_client: redis.Redis, namespace: str, subject: str, other: str, upper: bool
) -> None:
    log = OutcomeLog(redis_client, Keys(namespace))
    redis_client.delete(log.stream)

    def record(value: str, n: int) -> None:
        log.record(
            Outcome(
                result=Result.NO_RULE,
                reason="r",
                trigger_id=f"t{n}-{value}",
                delivery_id=f"d{n}-{value}-{datetime.now(UTC).timestamp()}",
                source="webhook:x",
                kind=TriggerKind.BADGE_IN,
                subject=value,
                occurred_at=datetime(2026, 12, 2, tzinfo=UTC),
            )
        )

    record(subject, 1)
    record(other, 2)
    needle = _fragment("subject", subject.upper() if upper and subject.isascii() else subject)
    found = [Outcome.model_validate_json(raw).subject for raw in log.search(any_of=[needle])]
    assert subject in found
    for value in found:  # a pre-filter: anything else found only contains the fragment
        assert (
            needle.lower()
            in Outcome(
                result=Result.NO_RULE,
                reason="r",
                trigger_id="x",
                delivery_id="x",
                source="s",
                kind=TriggerKind.BADGE_IN,
                subject=value,
                occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
            .model_dump_json()
            .lower()
        )
