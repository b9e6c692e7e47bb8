"""The clock-skew allowance: a trigger from the future is clamped to its receipt and marked,
for every source, so it can never make later real events ``superseded``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.pipeline.helpers import synthetic_email, wait_for_outcomes
from worker.models import CLAMPED_FROM, Result, Trigger, TriggerKind, clamp_future, utcnow
from worker.pipeline.outcomes import OutcomeLog
from worker.sandbox.seed import Seed

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)


@given(
    occurred=moments,
    received=moments,
    now=moments,
    allowance_s=st.integers(min_value=0, max_value=3600),
)
def test_no_trigger_leaves_the_allowance_and_a_clamp_is_marked(
    occurred, received, now, allowance_s
):
    trigger = Trigger(
        id="t",
        source="webhook:x",
        kind=TriggerKind.BADGE_OUT,
        subject="a@example.com",
        occurred_at=occurred,
        received_at=received,
    )
    allowance = timedelta(seconds=allowance_s)
    out = clamp_future(trigger, now=now, allowance=allowance)
    reference = min(received, now)
    assert out.occurred_at <= reference + allowance
    if occurred <= reference + allowance:
        assert out == trigger
    else:
        assert out.occurred_at == reference
        assert out.attributes[CLAMPED_FROM] == occurred.isoformat()
        assert (out.id, out.kind, out.subject) == (trigger.id, trigger.kind, trigger.subject)


SOURCES = ["webhook:kisi-hq", "manual", "calendar:team-shifts", "schedule:end-of-day"]


@pytest.mark.parametrize("source", SOURCES)
def test_a_badge_out_3h_ahead_then_a_real_badge_in_applies(
    sandbox_factory, pipeline_factory, settings, redis_client, source
):
    """In, then an out dated 3 h ahead (a door controller's clock), then a real in: the
    last one starts the tracker again; nothing is superseded."""
    sandbox = sandbox_factory(seed=Seed.synthetic(1), rpm=0)
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, people=1)
    log = OutcomeLog(redis_client, pipeline.context.keys)
    email = synthetic_email(0)

    def send(kind: TriggerKind, occurred: datetime) -> None:
        pipeline.queue.enqueue(
            Trigger(
                id=f"{source}:{uuid.uuid4().hex}",
                source=source,
                kind=kind,
                subject=email,
                occurred_at=occurred,
            )
        )

    send(TriggerKind.BADGE_IN, utcnow())
    assert wait_for_outcomes(log, 1)[-1].result is Result.STARTED
    future = utcnow() + timedelta(hours=3)
    send(TriggerKind.BADGE_OUT, future)
    out = wait_for_outcomes(log, 2)[-1]
    assert out.result is Result.STOPPED
    assert out.occurred_at <= utcnow() + timedelta(seconds=settings.clock_skew_s)
    assert "clamped" in out.reason
    send(TriggerKind.BADGE_IN, utcnow())
    outcomes = wait_for_outcomes(log, 3)
    assert [o.result for o in outcomes] == [Result.STARTED, Result.STOPPED, Result.STARTED]
    assert [t.user_id for t in sandbox.control.state().trackers] == [1000]
