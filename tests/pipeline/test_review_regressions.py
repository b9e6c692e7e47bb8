"""Regressions found in review: each a way a real clock-in could be lost or wrong."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from tests.pipeline.helpers import synthetic_email, wait_for_outcomes
from worker.models import Result, Trigger, TriggerKind
from worker.sandbox.seed import Seed
from worker.settings import Settings


def _badge_in(trigger_id: str, person: int = 0) -> Trigger:
    return Trigger(
        id=trigger_id,
        source="webhook:test",
        kind=TriggerKind.BADGE_IN,
        subject=synthetic_email(person),
        occurred_at=datetime.now(UTC) - timedelta(seconds=5),
    )


def test_a_start_interrupted_by_an_outage_applies_at_the_real_60_rpm(
    sandbox_factory, pipeline_factory
):
    """After 5xx during an outage, the start lands once the API is back — at WebWork's real
    budget of 60 calls a minute, without looping on current-data until it expires."""
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=60)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, people=1, webwork_rpm=60)
    sandbox.control.set_faults(outage_s=2)
    pipeline.queue.enqueue(_badge_in("through-the-outage"))

    outcomes = wait_for_outcomes(pipeline.context.outcomes, 1, timeout_s=40)

    assert [o.result for o in outcomes] == [Result.STARTED]
    paths = Counter(c.path.rsplit("/", 1)[-1] for c in sandbox.control.calls())
    assert paths["current-data"] <= 3
    assert sandbox.control.tracking(1000)


def test_a_known_state_answer_does_not_extend_its_own_life(sandbox_factory, pipeline_factory):
    """A start answered from the known state ("already tracking") leaves that state's time
    alone, so a tracker stopped elsewhere is noticed when the state ages out."""
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=0)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, people=1)
    pipeline.queue.enqueue(_badge_in("first"))
    wait_for_outcomes(pipeline.context.outcomes, 1)
    before = pipeline.context.state.get(synthetic_email(0))
    assert before is not None
    pipeline.queue.enqueue(_badge_in("second"))

    outcomes = wait_for_outcomes(pipeline.context.outcomes, 2)

    assert [o.result for o in outcomes] == [Result.STARTED, Result.ALREADY_TRACKING]
    after = pipeline.context.state.get(synthetic_email(0))
    assert after is not None
    assert after.at == before.at


def test_a_token_with_a_trailing_newline_is_stripped(settings: Settings):
    """A token mounted from a file ends with a newline; it is stripped, not sent or logged."""
    configured = Settings.model_validate(
        {**settings.model_dump(), "webwork_token": SecretStr("pat-123456\n")}
    )
    assert configured.webwork_token is not None
    assert configured.webwork_token.get_secret_value() == "pat-123456"
