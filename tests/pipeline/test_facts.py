"""Leave and holidays decide through the real pipeline: WebWork's leave API, the holidays data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.pipeline.helpers import wait_for_outcomes
from worker.models import Result, Trigger, TriggerKind

RULES = Path(__file__).resolve().parents[2] / "rules"
BERLIN = ZoneInfo("Europe/Berlin")


def _shift_start(trigger_id: str, day: int) -> Trigger:
    return Trigger(
        id=trigger_id,
        source="calendar:team-shifts",
        kind=TriggerKind.SHIFT_START,
        subject="dana.ruiz@example.com",
        occurred_at=datetime(2026, 12, day, 8, 55, tzinfo=BERLIN),
        received_at=datetime(2026, 12, day, 8, 55, 30, tzinfo=BERLIN),
    )


def test_approved_leave_and_public_holiday_skip_the_clock_in(sandbox, pipeline_factory):
    """Dana's approved leave (WebWork) and Christmas (DE) each end as no_rule with the reason;
    no start call is made."""
    pipeline = pipeline_factory(sandbox.api_url, sandbox.owner_token, rules_dir=RULES)
    # Each shift start is delivered on its own day, as the scheduler would: a trigger from a
    # later day would be clamped to its receipt (the clock-skew allowance).
    for count, (trigger_id, day) in enumerate((("leave-day", 24), ("christmas", 25)), start=1):
        pipeline.context.clock = lambda day=day: datetime(2026, 12, day, 8, 56, tzinfo=BERLIN)
        pipeline.queue.enqueue(_shift_start(trigger_id, day))
        wait_for_outcomes(pipeline.context.outcomes, count)

    outcomes = {o.trigger_id: o for o in wait_for_outcomes(pipeline.context.outcomes, 2)}

    assert outcomes["leave-day"].result is Result.NO_RULE
    assert "leave" in outcomes["leave-day"].reason
    assert outcomes["christmas"].result is Result.NO_RULE
    assert "Christmas" in outcomes["christmas"].reason
    paths = [call.path for call in sandbox.control.calls()]
    assert not any(path.endswith("/time-tracking/start") for path in paths)
    assert any(path.endswith("/leaves") for path in paths)
