"""A trigger whose subject is odd text ends ``unknown_person``, never ``failed``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.pipeline.helpers import wait_for_outcomes
from worker.models import Result, Trigger, TriggerKind
from worker.sandbox.seed import Seed

SUBJECTS = ["²", "¹²³", "\u0667\u0660\u0660\u0661", "1000²", "9" * 320, "Ⅻ"]


def test_odd_subjects_end_unknown_person(sandbox_factory, pipeline_factory):
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=0)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, people=1)
    at = datetime.now(UTC) - timedelta(minutes=1)
    for n, subject in enumerate(SUBJECTS):
        pipeline.queue.enqueue(
            Trigger(
                id=f"odd-{n}",
                source="manual:cli",
                kind=TriggerKind.BADGE_IN,
                subject=subject,
                occurred_at=at,
            )
        )
    outcomes = wait_for_outcomes(pipeline.context.outcomes, len(SUBJECTS))
    assert {o.trigger_id: o.result for o in outcomes} == {
        f"odd-{n}": Result.UNKNOWN_PERSON for n in range(len(SUBJECTS))
    }
